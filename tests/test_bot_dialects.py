"""The bot in each dialect of the API, polling each the cheapest way it allows."""

from __future__ import annotations

import pytest

from tests.world import world


@pytest.mark.parametrize("dialect", ["unified", "luma-v2", "legacy"])
async def test_a_clip_is_made_and_posted_in_every_dialect(tmp_path, dialect):
    async with world(tmp_path, aimlapi_dialect=dialect) as w:
        for prompt in ("a red kite over dunes", "a paper boat in rain"):
            await w.h.slash("dream", {"prompt": prompt})
        for clip in (1, 2):
            await w.fake.wait_message(w.h.channel_id, lambda m, c=clip: f"✅ Clip #{c} for" in (m.get("content") or ""))
        assert {job.dialect for job in w.sim.jobs()} == {dialect}
        kinds = {kind for (d, kind), n in w.sim.counters.by_dialect_kind.items() if d == dialect and n}
        if dialect == "unified":
            assert "fetch_many" not in kinds and "fetch_one" in kinds  # no batch endpoint
        elif dialect == "luma-v2":
            assert {"fetch_many", "fetch_one"} <= kinds  # batch plus the server-side wait
        else:
            assert "fetch_many" in kinds or "fetch_one" in kinds
        result = await w.fake.wait_message(w.h.channel_id, lambda m: "✅ Clip #1 for" in (m.get("content") or ""))
        buttons = [c["custom_id"] for row in result["components"] for c in row["components"]]
        assert ("dream:extend:back:1" in buttons) == (dialect != "legacy")


async def test_luma_v2_sees_a_lone_clip_finish_through_the_server_side_wait(tmp_path):
    async with world(tmp_path, aimlapi_dialect="luma-v2", poll_interval_seconds=5.0) as w:
        # With a 5 s poll interval the loop alone would look only after seconds; the held fetch
        # returns the moment the clip completes (about 0.12 s in the simulator's clock).
        await w.h.slash("dream", {"prompt": "a single candle"})
        await w.fake.wait_message(w.h.channel_id, lambda m: "✅ Clip #1 for" in (m.get("content") or ""), timeout=3)
        assert w.sim.counters.by_dialect_kind[("luma-v2", "fetch_one")] >= 1
