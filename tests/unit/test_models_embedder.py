"""MiniLM embeddings are real (ONNX model from site-packages); the OpenAI path runs against the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from memory.settings import Settings
from models.assets import minilm_onnx_path, minilm_tokenizer_path
from models.embedder import Embedder, MiniLMOnnxEmbedder, OpenAIEmbedder, build_embedder
from tests.fakes.openai_standin import OpenAIStandIn, standin_vector


@pytest.fixture(scope="module")
def minilm() -> MiniLMOnnxEmbedder:
    return MiniLMOnnxEmbedder()


@pytest.fixture
def standin() -> Iterator[OpenAIStandIn]:
    server = OpenAIStandIn(dim=16, vector_scale=3.0, reverse_order=True)
    with server:
        yield server


def test_model_files_are_found_in_site_packages_not_the_repo() -> None:
    assert minilm_onnx_path().name == "model.onnx"
    assert "site-packages" in minilm_onnx_path().parts
    assert minilm_tokenizer_path().name == "tokenizer.json"
    assert "site-packages" in minilm_tokenizer_path().parts


def test_minilm_shape_dtype_and_unit_norm(minilm: MiniLMOnnxEmbedder) -> None:
    vectors = minilm.embed(["hello world", "", "a" * 5000])  # empty and over-long inputs too
    assert minilm.model_name == "all-MiniLM-L6-v2"
    assert vectors.shape == (3, 384) == (3, minilm.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert isinstance(minilm, Embedder)


def test_minilm_empty_input_gives_empty_matrix(minilm: MiniLMOnnxEmbedder) -> None:
    assert minilm.embed([]).shape == (0, 384)


def test_minilm_rejects_a_bare_string(minilm: MiniLMOnnxEmbedder) -> None:
    with pytest.raises(TypeError):
        minilm.embed("I love coffee")


def test_minilm_semantic_ordering(minilm: MiniLMOnnxEmbedder) -> None:
    anchor, related, unrelated = minilm.embed(
        ["I love coffee", "Coffee is my favourite drink", "The train leaves at noon"]
    )
    related_cos, unrelated_cos = float(anchor @ related), float(anchor @ unrelated)
    assert related_cos > 0.6
    assert unrelated_cos < 0.3
    assert related_cos - unrelated_cos > 0.3


def test_minilm_more_pairs_rank_related_above_unrelated(minilm: MiniLMOnnxEmbedder) -> None:
    pairs = [
        ("My sister lives in Berlin", "Her sibling has an apartment in Germany's capital"),
        ("I'm allergic to peanuts", "Peanuts give me an allergic reaction"),
        ("The meeting moved to Tuesday", "We rescheduled the meeting for Tuesday"),
    ]
    left = minilm.embed([a for a, _ in pairs])
    right = minilm.embed([b for _, b in pairs])
    similarity = left @ right.T
    # Every sentence is closest to its own paraphrase.
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


def test_minilm_is_deterministic_and_independent_of_batch(minilm: MiniLMOnnxEmbedder) -> None:
    text = "Alice is moving to Lisbon in March."
    first = minilm.embed([text])
    second = minilm.embed([text])
    assert np.array_equal(first, second)
    # Same text inside a padded batch (and across sub-batches) gives the same vector.
    filler = ["short", "a much longer sentence " * 20] * 20
    mixed = MiniLMOnnxEmbedder(batch_size=4).embed([*filler, text, "x"])
    np.testing.assert_allclose(mixed[len(filler)], first[0], atol=1e-5)
    # Duplicates inside one call are identical rows.
    dup = minilm.embed([text, "other", text])
    assert np.array_equal(dup[0], dup[2])


def test_the_apis_query_embedder_gives_the_pipelines_vectors(minilm: MiniLMOnnxEmbedder) -> None:
    """The API embeds queries with one idle-sleeping thread, the pipeline memories with two spinning ones:
    dense search compares their vectors, so they must agree."""
    query_embedder = build_embedder(Settings(), for_queries=True)
    texts = ["Where has Melanie camped?", "We went camping at the beach last summer with the kids."]
    np.testing.assert_allclose(query_embedder.embed(texts), minilm.embed(texts), atol=1e-5)


def test_minilm_output_order_matches_input_order(minilm: MiniLMOnnxEmbedder) -> None:
    texts = ["a long sentence about astronomy and telescopes at night", "cat", "the weather is rainy"]
    together = minilm.embed(texts)
    one_by_one = np.vstack([minilm.embed([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_openai_embedder_normalises_orders_and_sends_model(standin: OpenAIStandIn) -> None:
    embedder = OpenAIEmbedder(base_url=standin.base_url, api_key="sk-test", model="embed-x", batch_size=2)
    texts = ["one", "two", "three", ""]
    vectors = embedder.embed(texts)

    assert vectors.shape == (4, 16) and vectors.dtype == np.float32
    assert embedder.dim == 16  # learnt from the first response
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # Rows follow the input order although the stand-in answers in reverse order.
    expected = np.asarray([standin_vector("embed-x", t or " ", 16) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)

    requests = standin.requests_to("/v1/embeddings")
    assert [r.body["input"] for r in requests] == [["one", "two"], ["three", " "]]  # batched by 2
    assert {r.body["model"] for r in requests} == {"embed-x"}
    assert requests[0].headers["authorization"] == "Bearer sk-test"


def test_openai_embedder_rejects_dim_mismatch(standin: OpenAIStandIn) -> None:
    embedder = OpenAIEmbedder(base_url=standin.base_url, api_key="k", model="m", dim=384, max_retries=0)
    with pytest.raises(ValueError, match="dim 16"):
        embedder.embed(["hello"])


def test_openai_embedder_can_request_dimensions(standin: OpenAIStandIn) -> None:
    embedder = OpenAIEmbedder(base_url=standin.base_url, api_key="k", model="m", dim=8, send_dimensions=True)
    assert embedder.embed(["hello"]).shape == (1, 8)
    assert standin.requests_to("/v1/embeddings")[0].body["dimensions"] == 8


def test_openai_embedder_dim_probe_when_unknown(standin: OpenAIStandIn) -> None:
    embedder = OpenAIEmbedder(base_url=standin.base_url, api_key="k", model="m")
    assert embedder.dim == 16
    assert len(standin.requests_to("/v1/embeddings")) == 1


def test_build_embedder_picks_backend(standin: OpenAIStandIn) -> None:
    assert isinstance(build_embedder(Settings()), MiniLMOnnxEmbedder)
    remote = build_embedder(Settings(embedding_base_url=standin.base_url, embedding_model="embed-x", embedding_dim=16))
    assert isinstance(remote, OpenAIEmbedder)
    assert remote.model_name == "embed-x"
    assert remote.embed(["hi"]).shape == (1, 16)


def test_build_embedder_refuses_local_model_with_other_dim() -> None:
    with pytest.raises(ValueError, match="384"):
        build_embedder(replace(Settings(), embedding_dim=768))
