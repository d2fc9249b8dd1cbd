"""SIGTERM: the bot stops cleanly (exit 0, no error), clips in flight stay pending in the store
with their money still reserved, and the next process posts each of them once."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from bot.api import VideoAPI
from bot.simulator import SimulatorConfig, run_simulator
from storage import Store
from tests.fault_tools import result_posts
from tests.harness import FakeDiscord, payloads
from tests.test_faults_kill import Child, world_files

TOKEN = "TERMTEST-discord-token-5Gh7Jk2Lm9Pq"
KEY = "sk-TERMTEST-aimlapi-key-8Rt3Yu6Io1Pa"
JOBS = 5


async def test_sigterm_keeps_pending_clips_pending_and_the_next_start_posts_them(tmp_path):
    database = tmp_path / "dreambot.sqlite3"
    # Clips take ~10 s here: they are surely still running when the first process is stopped.
    config = SimulatorConfig(api_keys={KEY}, time_scale=0.5, seed=3)
    async with run_simulator(config) as (sim, sim_url), FakeDiscord(
            bot_user=payloads.user(username="dreambot-term", bot=True)) as fake:
        guild_id = payloads.ids.next()
        channel = fake.add_channel(payloads.text_channel(payloads.ids.next(), "clips", guild_id=guild_id))
        user = payloads.user(username="member")
        store = await Store.open(database)
        await store.set_guild_running_limits(guild_id, JOBS, None, actor_id=1)
        await store.set_member_running_limit(guild_id, int(user["id"]), JOBS, actor_id=1)
        async with VideoAPI(KEY, base_url=sim_url) as api:
            ids = []
            for i in range(JOBS):
                generation = await store.reserve(guild_id=guild_id, channel_id=int(channel["id"]),
                                                 user_id=int(user["id"]), kind="dream", prompt=f"clip {i}",
                                                 cost=500_000, model="ray-2", dialect="unified")
                await store.mark_submitted(generation.id, (await api.create(f"clip {i}")).id)
                ids.append(generation.id)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AIMLAPI_"))}
        env.update(DISCORD_TOKEN=TOKEN, AIMLAPI_KEY=KEY, AIMLAPI_BASE_URL=sim_url, DATABASE_PATH=str(database),
                   POLL_INTERVAL_SECONDS="0.1", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
                   DREAMBOT_CHILD_WORLD=str(world_files(tmp_path, fake, guild_id, [channel], [user])))
        first = Child(tmp_path, 1, env)
        await first.start()
        second = Child(tmp_path, 2, env)
        try:
            await first.ready()
            deadline = time.monotonic() + 10
            while sim.counters.requests["fetch_one"] < JOBS and time.monotonic() < deadline:
                await asyncio.sleep(0.02)  # the child's poller is at work (another process: no event to wait on)
            assert sim.counters.requests["fetch_one"] >= JOBS
            stopped_at = time.monotonic()
            first.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            code = await asyncio.wait_for(first.process.wait(), timeout=15)  # type: ignore[union-attr]
            assert code == 0, first.output()[-2000:]
            assert time.monotonic() - stopped_at < 10
            assert "Traceback" not in first.output() and " ERROR " not in first.output()
            for generation_id in ids:
                row = await store.get(generation_id)
                assert row.status in ("submitted", "running") and row.posted_at is None
            totals = await store.ledger_totals()
            assert totals.charged == 0 and totals.refunded == 0 and totals.open_reserved == JOBS * 500_000

            for job in sim.jobs():
                sim.finish_now(job.id)
            await second.start()
            await second.ready()
            deadline = time.monotonic() + 15
            while sum(result_posts(fake).values()) < JOBS and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert result_posts(fake) == {generation_id: 1 for generation_id in ids}
        finally:
            for child in (first, second):
                if child.process is not None and child.process.returncode is None:
                    await child.kill()
            await store.close()
