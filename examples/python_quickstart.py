"""The Python SDK in one minute, against the API `make run` starts.

    make run                                                     # in one terminal; prints the admin key
    export MEMSTREAM_API_KEY=$(cat .data/secrets/default-admin.key)
    .venv/bin/python examples/python_quickstart.py               # in another

Anywhere else: `pip install ./sdk/python` (httpx is its only dependency), and MEMSTREAM_URL if the API is not at
http://127.0.0.1:18080.
"""

from __future__ import annotations

import uuid

from memstream_client import Memstream, NotFound


def main() -> None:
    # read_your_writes: each read waits until this client's earlier writes for that user are applied, so the
    # search below finds what add() just sent (extraction and embedding happen asynchronously in the pipeline).
    client = Memstream(read_your_writes=True)
    user_id = f"user_{uuid.uuid4().hex[:8]}"  # a fresh user, so that a second run starts clean

    # The seed's three calls.
    client.add(messages=[{"role": "user", "content": "I prefer Python"}], user_id=user_id)
    results = client.search(query="coding preferences", user_id=user_id, limit=5)
    context = client.get_context(query="help with coding", user_id=user_id, max_tokens=500)

    for hit in results:
        print(f"{hit.score:.3f}  {hit.memory}  (found by {', '.join(hit.retrievers)})")
    print(context.context)

    # The rest of the mem0-style methods.
    client.add("My cat is called Miso", user_id=user_id, infer=False)  # verbatim, one memory
    memories = client.get_all(user_id=user_id)
    print(f"{memories.total} memories:", [m.memory for m in memories])
    cat = next(m for m in memories if "Miso" in m.memory)
    client.update(cat.id, "My cat is called Mochi", user_id=user_id)
    print("now:", client.get(cat.id, user_id=user_id).memory)
    print("history:", [(e.event_type, e.text) for e in client.history(cat.id, user_id=user_id)])
    client.delete(cat.id, user_id=user_id)
    try:
        print("after delete:", client.get(cat.id, user_id=user_id).state)
    except NotFound as gone:
        print("after delete:", gone.message)

    client.delete_all(user_id=user_id)  # erase the user everywhere (admin key)
    print("erased; memories left:", client.get_all(user_id=user_id).total)
    client.close()


if __name__ == "__main__":
    main()
