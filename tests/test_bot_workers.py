"""The fetch and post workers: nothing slow holds up the rest, and no post is retried for ever."""

from __future__ import annotations

import asyncio
import json
import time

from bot.services import posting
from bot.simulator import SimulatorConfig
from tests.admin_helpers import admin_text, clip_id, dream, person, posted, slow_sim
from tests.fault_tools import speed_up
from tests.world import API_KEY, TIME_SCALE, world

POLL_INTERVAL = 1.0
HANG_DEADLINE = 6.0
RESULT_POSTS = r"/channels/\d+/messages"
INVALID_FORM_BODY = {"code": 50035, "message": "Invalid Form Body",
                     "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                         "message": "Must be 2000 or fewer in length."}]}}}


async def until_row(w, clip: int, done, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        row = await w.store.get(clip)
        if done(row):
            return row
        assert time.monotonic() < deadline, f"clip {clip} never got there: {row}"
        await asyncio.sleep(0.02)


def result_attempts(w, clip: int) -> list:
    """Every POST of clip's result message, answered or refused."""
    marker = f"Clip #{clip} for"
    return [r for r in w.fake.requests if r.route == "create_message"
            and marker in ((r.json or {}).get("content") or "")]


async def test_a_fetch_that_hangs_delays_no_other_post(tmp_path):
    """Job A's fetch hangs for its whole deadline; job B finishes meanwhile and is posted within
    one poll interval, and the fetch worker keeps beating."""
    beat = tmp_path / "heartbeat"
    async with world(tmp_path, sim_config=slow_sim(), poll_interval_seconds=POLL_INTERVAL,
                     heartbeat_path=beat) as w:
        poller = w.bot.get_cog("ClipsCog").poller
        poller.fetch_deadline = HANG_DEADLINE
        a = clip_id(await dream(w, person("ann"), "a slow one"))
        b = clip_id(await dream(w, person("bob"), "a quick one"))
        hung = (await w.store.get(a)).api_id
        hanging = asyncio.Event()
        real_fetch = w.bot.api.fetch

        async def fetch(job_id: str, **kwargs):
            if job_id == hung:
                hanging.set()
                await asyncio.sleep(3600)  # the network stops answering for this one job
            return await real_fetch(job_id, **kwargs)

        w.bot.api.fetch = fetch
        await asyncio.wait_for(hanging.wait(), 3 * POLL_INTERVAL)
        hang_started = time.monotonic()
        beats_before = json.loads(beat.read_text())["fetch"]
        w.sim.finish_now((await w.store.get(b)).api_id)
        finished = time.monotonic()
        await posted(w, b)
        post = result_attempts(w, b)[0]
        assert post.at - finished <= POLL_INTERVAL + 0.5, f"posted {post.at - finished:.2f} s after it finished"
        assert post.at - hang_started < HANG_DEADLINE  # while A's fetch was still hanging
        assert (await w.store.get(a)).status in ("submitted", "running")
        await asyncio.sleep(POLL_INTERVAL * 3.5)
        assert json.loads(beat.read_text())["fetch"] > beats_before  # the worker beats through the hang
        # Past its deadline A is looked at again (and the hang is over): it is posted once it finishes.
        w.bot.api.fetch = real_fetch
        w.sim.finish_now(hung)
        await posted(w, a)
        assert len(result_attempts(w, a)) == len(result_attempts(w, b)) == 1


async def test_a_post_discord_refuses_is_not_retried_and_moderators_see_it(tmp_path):
    async with world(tmp_path, sim_config=slow_sim()) as w:
        clip = clip_id(await dream(w, person("cleo")))
        await w.fake.wait_message(w.h.channel_id, lambda m: f"asked for clip #{clip}" in (m.get("content") or ""))
        w.h.expect_errors = True  # the give-up is logged as an ERROR for the operator
        w.fake.inject_fault("POST", RESULT_POSTS, status=400, body=INVALID_FORM_BODY, times=1)
        w.sim.finish_now((await w.store.get(clip)).api_id)
        row = await until_row(w, clip, lambda row: row.undeliverable_at is not None)
        assert row.posted_at is None
        assert row.post_error == "Discord refused the post: HTTP 400, code 50035"
        await asyncio.sleep(1.0)
        assert len(result_attempts(w, clip)) == 1  # a 400 is not tried again
        assert not [r for r in w.fake.requests if r.method == "GET" and "/messages" in r.path]  # no history re-read
        listed = await admin_text(w, "undelivered")
        assert f"#{clip} for <@" in listed and "HTTP 400, code 50035" in listed
        # A moderator asks again (the fault is gone): it is posted once, and the list is empty.
        assert await admin_text(w, "undelivered", {"retry": clip}) == f"Clip #{clip} will be posted again now."
        await posted(w, clip)
        await until_row(w, clip, lambda row: row.posted_at is not None)
        assert len(result_attempts(w, clip)) == 2
        assert await admin_text(w, "undelivered") == "Every finished clip was posted: nothing is waiting for delivery."
        assert "not waiting for delivery" in await admin_text(w, "undelivered", {"retry": clip})


async def test_a_post_that_keeps_failing_gives_up_after_bounded_attempts(tmp_path, monkeypatch):
    config = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, run_seconds=200_000)
    async with world(tmp_path, sim_config=config) as w:
        speed_up(monkeypatch, w.bot)
        clip = clip_id(await dream(w, person("dora")))
        await w.fake.wait_message(w.h.channel_id, lambda m: f"asked for clip #{clip}" in (m.get("content") or ""))
        w.h.expect_errors = True
        # 503: discord.py does not retry it on REST routes, so each attempt is one request.
        w.fake.inject_fault("POST", RESULT_POSTS, status=503, times=1000)
        w.sim.finish_now((await w.store.get(clip)).api_id)
        row = await until_row(w, clip, lambda row: row.undeliverable_at is not None, timeout=15)
        assert row.post_error == f"gave up after {posting.MAX_POST_ATTEMPTS} attempts; the last one: HTTP 503"
        attempts = len(result_attempts(w, clip))
        assert attempts == posting.MAX_POST_ATTEMPTS
        await asyncio.sleep(1.0)
        assert len(result_attempts(w, clip)) == attempts  # and nothing after that


async def test_run_times_are_kept_per_option_and_a_restart_starts_warm(tmp_path):
    from bot.services.schedule import option_key

    async with world(tmp_path) as w:
        first = clip_id(await dream(w, person("eve")))
        await posted(w, first)
        rows = await w.store.run_times()
        default = option_key("unified", "ray-2", {})
        assert [key for key, _ in rows] == [default.text()] and rows[0][1] > 0
        # The provider usually takes 5 minutes for these (as if learned from many clips before).
        for seconds in (290.0, 300.0, 310.0):
            await w.store.record_run_time(default.text(), seconds)
        await w.restart()
        w.sim.config.run_seconds = 200_000  # the next clip stays running
        second = clip_id(await dream(w, person("eve")))
        status = await w.fake.wait_message(w.h.channel_id,
                                           lambda m: f"asked for clip #{second}" in (m.get("content") or ""))
        poller = w.bot.get_cog("ClipsCog").poller
        assert len(poller.schedule.samples(default)) == 4  # loaded from the store, not learned anew
        assert "usually ready in about 5 min" in status["content"]
