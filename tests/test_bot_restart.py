"""Restarts: pending clips are posted once by the next process, whatever the last one got to do."""

from __future__ import annotations

import asyncio
import time

from bot.simulator import SimulatorConfig
from tests.bot_flows import content, dream, dream_posted, results_of, spent, wait_posted, wait_result
from tests.harness import payloads
from tests.world import API_KEY, TIME_SCALE, world

SLOW = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100_000)


async def test_clips_pending_at_a_restart_are_each_posted_once(tmp_path):
    async with world(tmp_path, sim_config=SLOW) as w:
        await w.store.set_guild_running_limits(w.h.guild_id, 5, None, actor_id=42)
        clips = [(await dream(w, f"clip number {n}"))[0] for n in range(3)]
        for clip in clips:
            await w.fake.wait_message(w.h.channel_id, lambda m, c=clip: f"asked for clip #{c}:" in content(m))
        old = w.bot
        await w.restart()
        assert w.bot is not old and old.is_closed()
        for job in w.sim.jobs():
            w.sim.finish_now(job.id)
        for clip in clips:
            await wait_result(w, clip)
            await wait_posted(w, clip)
        # One more full round of the new poller, then count.
        later, _ = await dream(w, "after the restart")
        w.sim.finish_now(w.sim.jobs()[-1].id)
        await wait_result(w, later)
        for clip, job in zip(clips, w.sim.jobs()):
            posts = results_of(w, clip)
            assert len(posts) == 1, posts
            assert job.video_url in content(posts[0])
        assert (await w.store.ledger_totals()).open_reserved == 0


async def crash_after_posting(w) -> tuple[int, dict]:
    """/dream, and the store fails to record the post once, as if the process died right after it."""
    recorded = w.bot.store.mark_posted
    failed = asyncio.Event()

    async def crash_once(*args, **kwargs):
        if not failed.is_set():
            failed.set()
            raise RuntimeError("the process died here")
        return await recorded(*args, **kwargs)

    w.bot.store.mark_posted = crash_once  # type: ignore[method-assign]
    clip, _ = await dream(w, "a moth near a lamp")
    result = await wait_result(w, clip)
    await asyncio.wait_for(failed.wait(), 5)
    w.h.take_errors()  # the poller logs the failed post; that is the crash being simulated
    row = await w.store.get(clip)
    assert row.posted_at is None and row.post_attempts == 1
    return clip, result


async def test_a_post_that_was_not_recorded_is_found_not_repeated(tmp_path):
    async with world(tmp_path) as w:
        clip, result = await crash_after_posting(w)
        await w.restart()
        row = await wait_posted(w, clip)  # the status message is finished too
        assert row.result_message_id == int(result["id"])
        await dream_posted(w, "one more round")
        assert len(results_of(w, clip)) == 1
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(clip)] == [
            ("reserve", 4_500_000), ("charge", 4_500_000)]


async def test_when_history_cannot_be_read_the_nonce_still_prevents_a_second_post(tmp_path):
    async with world(tmp_path) as w:
        clip, result = await crash_after_posting(w)
        w.fake.inject_fault("GET", r"/channels/\d+/messages", status=403, times=50)
        await w.restart()
        await wait_posted(w, clip)
        resend = [r for r in w.fake.requests if r.route == "create_message" and isinstance(r.json, dict)
                  and r.json.get("nonce") == f"dreambot-{clip}"]
        assert len(resend) == 2 and all(r.json.get("enforce_nonce") is True for r in resend)
        assert len(results_of(w, clip)) == 1
        assert (await w.store.get(clip)).result_message_id == int(result["id"])


async def test_a_request_that_never_reached_the_api_is_refunded_at_start_up(tmp_path):
    # Looked up in the provider's logs first; not there a minute after it was reserved: refunded.
    async with world(tmp_path, reconcile_give_up_minutes=1) as w:
        user_id = int(w.h.user["id"])
        # What a process that died between reserving and sending leaves behind, 300 s ago (longer than
        # any create takes with its retries, so nobody is still sending it).
        row = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=user_id,
                                    kind="dream", prompt="lost in the crash", cost=500_000, dialect="unified",
                                    now=time.time() - 300)
        status = payloads.message(f"🎬 <@{user_id}> asked for clip #{row.id}: ⏳ sending to the video service",
                                  author=w.fake.bot_user, channel_id=w.h.channel_id, guild_id=w.h.guild_id)
        w.fake.store_incoming_message(status)
        await w.store.set_status_message(row.id, w.h.channel_id, int(status["id"]))
        assert await spent(w) == 500_000

        await w.restart()
        edit = await w.fake.wait_edit(int(status["id"]))
        assert edit.json["content"] == (
            f"❌ Clip #{row.id} for <@{user_id}> was not made: the bot restarted before it reached the video "
            "service. 500,000 credits ($0.25) refunded in full; nothing was charged.")
        assert w.sim.counters.logs_requests >= 1
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(row.id)] == [
            ("reserve", 500_000), ("refund", 500_000)]
        assert await spent(w) == 0
        assert (await w.store.get(row.id)).status == "failed"
        assert w.sim.jobs() == []
