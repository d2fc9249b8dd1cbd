"""Fault campaign, part 2b (in-process): what a killed process leaves "requested" (reserved, the
API call in flight when it died) is looked up in the provider's logs by the next one once it is
surely stale, even if it was not stale yet at start-up, and refunded when the logs never show it,
while this process's own requests in flight are left alone."""

from __future__ import annotations

import asyncio
import time

from bot.simulator import SimulatorConfig
from tests.fault_tools import speed_up, wait_settled
from tests.world import API_KEY, world

COST = 4_500_000  # a plain ray-2 clip: 1080p, 5 s at $0.45 a second


def look_quickly(bot) -> None:
    """Rows older than a second count as left behind; passes every 0.1 s."""
    reconciler = bot.get_cog("ClipsCog").reconciler
    reconciler.stale_after, reconciler.interval = 1.0, 0.1
    reconciler.wake()


async def test_a_request_left_by_a_dead_process_is_refunded_while_the_next_one_runs(tmp_path, monkeypatch):
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.005, seed=8)
    # Not in the logs 1.2 s after it was reserved: given up.
    async with world(tmp_path, sim_config=config, api_timeout_seconds=5.0, reconcile_give_up_minutes=0.02) as w:
        speed_up(monkeypatch, w.bot)
        # The process "dies" half a second after reserving clip #1, before the API answered.
        orphan = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=int(w.h.user["id"]),
                                       kind="dream", prompt="lost in a crash", cost=COST, model="ray-2",
                                       dialect="unified", now=time.time() - 0.5)
        await w.restart()
        speed_up(monkeypatch, w.bot)
        look_quickly(w.bot)
        # This process's own request is slow to be accepted (2 s): it is never taken for an orphan.
        w.sim.set_faults(slow_rate=1.0, slow_seconds=400.0)
        iid = await w.h.slash("dream", {"prompt": "a slow but fine clip"})
        await asyncio.sleep(0.1)
        w.sim.set_faults(slow_rate=0.0)
        assert (await w.store.get(orphan.id)).status == "requested"  # not stale yet at start-up

        deadline = time.monotonic() + 3
        while (await w.store.get(orphan.id)).status == "requested":
            assert time.monotonic() < deadline, "the orphan was only going to be refunded at the next restart"
            await asyncio.sleep(0.05)
        refunded = await w.store.get(orphan.id)
        assert refunded.status == "failed" and refunded.posted_at is not None
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(orphan.id)] == [("reserve", COST), ("refund", COST)]
        assert w.sim.counters.logs_requests >= 1  # looked for before it was refunded

        followup = await w.fake.wait_followup(iid, timeout=5)
        assert "Clip #2 is on its way" in followup.json["content"]
        await wait_settled(w.store, timeout=5)
        mine = await w.store.get(2)
        assert mine.status == "completed"
        assert [e.kind for e in await w.store.ledger_entries(2)] == ["reserve", "charge"]
        assert (await w.store.ledger_totals()).balanced
