"""A year's backlog is consolidated in bounded steps that follow each other without waiting for the timer.

One user says 70 old two-fact conversations, each about its own town (70 summaries to write); one step may write at most
``consolidation_max_summaries_per_tick`` (64 by default), so a single tick can only finish the backlog if the
lifecycle agent asks for the next step itself (``memory.lifecycle.on_tick.needs_another_tick``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from memory.lifecycle.decisions import LifecyclePolicy
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_lifecycle import T0, Life
from tests.support import wait_until

CONVERSATIONS = 70
# A made-up town per conversation (two syllables), so no two conversations share an entity: a shared one ("City")
# would relate them all and make groups of eight instead of seventy pairs.
FIRST = ("Var", "Kel", "Mor", "Tas", "Bri", "Hol", "Zun", "Pel")
SECOND = ("lo", "ma", "dri", "sen", "vik", "tu", "nor", "ba", "qui")


# What each conversation is about, all different: sentences that differ only in a name would be merged as
# repeats (the embeddings' similarity is above the dedupe threshold), leaving conversations of one memory.
BOUGHT = (
    "apples", "a bicycle", "candles", "a drum", "earrings", "a fishing rod", "gloves", "a hammock", "ink", "a jacket",
    "a kettle", "lemons", "a mirror", "notebooks", "olive oil", "a piano", "a quilt", "roses", "sandals", "a telescope",
    "an umbrella", "a violin", "walnuts", "a xylophone", "yarn", "a zither", "almonds", "a backpack", "cheese",
    "a desk lamp", "an easel", "figs", "a guitar", "honey", "an iron", "jam", "a kite", "lavender", "maps", "nutmeg",
    "oranges", "paint", "a radio", "saffron", "tea leaves", "a ukulele", "vinegar", "a watch", "a yoga mat", "zucchini",
    "a blanket", "chocolate", "a dress", "an espresso cup", "a fan", "garlic", "a hat", "incense", "jeans",
    "a keyboard", "a lantern", "a mug", "nuts", "an oven glove", "pepper", "rice", "soap", "a tent", "vases", "wine",
)
SAW = (
    "a lighthouse", "a cathedral", "a waterfall", "a vineyard", "a glacier", "a volcano", "a castle", "a harbour",
    "a desert", "a canyon", "a windmill", "a monastery", "a rainforest", "a lagoon", "a palace", "a mosque",
    "a bazaar", "a fjord", "a pagoda", "a coral reef", "an aqueduct", "a salt flat", "a tea plantation",
    "an observatory", "a rice terrace", "a geyser", "a cave", "a sand dune", "a marsh", "a zoo", "a stadium",
    "an opera house", "a bamboo forest", "a flower market", "a ski slope", "a ruin", "a suspension bridge",
    "a hot spring", "a cliff", "an island", "a lake", "a river delta", "a dam", "a museum", "a temple",
    "a fortress", "a bay", "a gorge", "an oasis", "a mine", "a mountain pass", "a peninsula", "a reservoir",
    "a shipyard", "a tower", "a valley", "a wetland", "a citadel", "a cemetery", "a chapel", "a garden", "a pier",
    "a quarry", "a railway station", "a savanna", "a steppe", "a tundra", "a village fair", "a vineyard harvest",
    "a whale",
)


def town(n: int) -> str:
    return FIRST[n // len(SECOND)] + SECOND[n % len(SECOND)]


def test_one_tick_consolidates_a_backlog_larger_than_one_step(system: RunningSystem) -> None:
    step = system.settings.consolidation_max_summaries_per_tick
    assert CONVERSATIONS > step == LifecyclePolicy().max_summaries_per_tick
    with system.client() as client:
        life = Life(system, client)
        token = ""
        for n in range(CONVERSATIONS):
            # A year back, one day each: each conversation is its own group (same conversation, same day).
            when = T0 - timedelta(days=400 - n)
            facts = f"In {town(n)} I bought {BOUGHT[n]}.", f"We saw {SAW[n]} near {town(n)}."
            token = life.say(when, f"trip-{n}", *facts)
        life.settle(token)
        originals = life.memories("active")
        assert len(originals) >= 2 * CONVERSATIONS

        life.settle(life.tick(T0))  # one tick, at "now"

        def summaries() -> list[dict[str, Any]]:
            return [m for m in life.memories("active") if m["kind"] == "summary"]

        wait_until(lambda: len(summaries()) == CONVERSATIONS, timeout=300, what=f"{CONVERSATIONS} summaries")
        # Every original is archived, and each is in exactly one summary (a summary carries its originals' turns).
        wait_until(
            lambda: len(life.memories("archived")) == len(originals), timeout=120, what="every original archived"
        )
        summarised = sorted(t for s in summaries() for t in s["source_turn_ids"])
        assert summarised == sorted(t for m in originals for t in m["source_turn_ids"])
