"""The video API client (bot/api) against the local simulator, in all three dialects.

Time never passes for real: job states move on a hand-driven `ManualClock`, or on the real
clock scaled 100x+ faster; retries back off for milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from contextlib import AsyncExitStack
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.api import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    JobStatus,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnsupportedByDialect,
    VideoAPI,
    VideoAPIError,
    VideoOptions,
)
from bot.api.dialects import Request
from bot.simulator import ManualClock, Simulator, SimulatorConfig, run_simulator, unified_run_seconds
from bot.simulator.schemas import with_defaults

KEY = "sk-live-SECRET-key-4f2a9c"
DIALECTS = ("unified", "luma-v2", "legacy")
V2_FAMILY = ("unified", "luma-v2")
FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, max_retry_after=1.0)
# Nominal simulator durations (ManualClock, time_scale=1): 3 s queued, then 20 s running for the
# reference job (legacy and luma-v2 jobs; on unified, a ray-2 720p 5 s clip: see run_s).
QUEUE_S, RUN_S = 3.0, 20.0
# What the client creates with no options on unified: the default model with its schema defaults.
UNIFIED_DEFAULT_MODEL = "luma/ray-2"
# The unified price of that clip: ray-2 at 1080p (its default) x 5 s x $0.45/s x 2,000,000 credits/$
# (bot/simulator/prices.py DEFAULT_PRICES); legacy and luma-v2 pay the flat cost_per_generation.
PLAIN_CLIP = 4_500_000
# The unified `meta.usage.credits_used` the simulator reports (distinct from the cost).
CREDITS_USED = 1234
RAW_WORDS = {
    "unified": ("queued", "generating", "completed", "error"),
    "luma-v2": ("queued", "dreaming", "completed", "failed"),
    "legacy": ("pending", "processing", "completed", "failed"),
}
CREATE_PATH = {"unified": "/v2/video/generations", "luma-v2": "/v2/generate/video/luma-ai/generation",
               "legacy": "/luma-ai/generations"}
# A body each dialect's published schema rejects (prompt must be a string).
BAD_BODY = {"unified": {"model": "luma/ray-2", "prompt": 42},
            "luma-v2": {"model": "ray-2", "prompt": 42},
            "legacy": {"user_prompt": 42, "aspect_ratio": "16:9", "expand_prompt": True,
                       "image_url": "", "image_end_url": ""}}


def run_s(dialect: str) -> float:
    """How long a job made with no options runs (nominal): unified jobs run by model, resolution and
    seconds (bot/simulator/timing.py; a default ray-2 1080p 5 s clip runs 1.6 x RUN_S), the others RUN_S."""
    if dialect != "unified":
        return RUN_S
    params = with_defaults(UNIFIED_DEFAULT_MODEL, {"prompt": "any"})
    return unified_run_seconds(RUN_S, UNIFIED_DEFAULT_MODEL, params["resolution"], params["duration"])


def total_requests(sim: Simulator) -> int:
    return sum(sim.counters.requests.values())


def successes(sim: Simulator) -> int:
    return sum(n for status, n in sim.counters.statuses.items() if status < 300)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (bound, then released): connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Env:
    """Simulators and clients for one test; everything is torn down at the end."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self.stack = stack
        self.clock = ManualClock()

    async def sim(self, **overrides: Any) -> tuple[Simulator, str]:
        settings: dict[str, Any] = {"clock": self.clock, "time_scale": 1.0, "queue_seconds": QUEUE_S,
                                    "run_seconds": RUN_S, "credits_used": CREDITS_USED,
                                    # Retry-After: 0.001 s unless a test says otherwise.
                                    "retry_after_seconds": 0.001, **overrides}
        return await self.stack.enter_async_context(run_simulator(SimulatorConfig(**settings)))

    async def api(self, base_url: str, dialect: str = "unified", *, key: str = KEY, **kwargs: Any) -> VideoAPI:
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("timeout", 5.0)
        api = VideoAPI(key, base_url=base_url, dialect=dialect, **kwargs)
        self.stack.push_async_callback(api.close)
        return api

    async def both(self, dialect: str = "unified", **overrides: Any) -> tuple[Simulator, VideoAPI]:
        sim, url = await self.sim(**overrides)
        return sim, await self.api(url, dialect)

    async def session(self, attempts: list[str] | None = None) -> aiohttp.ClientSession:
        """A session that records each request it starts (attempts, even refused ones)."""
        trace = aiohttp.TraceConfig()
        if attempts is not None:
            async def started(_session, _ctx, params) -> None:
                attempts.append(f"{params.method} {params.url.path}")

            trace.on_request_start.append(started)
        return await self.stack.enter_async_context(aiohttp.ClientSession(trace_configs=[trace]))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with AsyncExitStack() as stack:
        yield Env(stack)


# -- create and fetch ------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
async def test_create_then_fetch_until_completed(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    queued, running, completed, _ = RAW_WORDS[dialect]

    job = await api.create("a red fox in the snow")
    assert job.status is JobStatus.QUEUED and job.raw_status == queued
    assert job.video_url is None and job.failure_reason is None and job.credits_used is None
    assert [j.id for j in sim.jobs()] == [job.id]
    assert sim.job(job.id).prompt == "a red fox in the snow"

    env.clock.advance(QUEUE_S + 1)
    job = await api.fetch(job.id)
    assert job.status is JobStatus.RUNNING and job.raw_status == running
    assert job.video_url is None and job.credits_used is None

    env.clock.advance(run_s(dialect))
    job = await api.fetch(job.id)
    assert job.status is JobStatus.COMPLETED and job.raw_status == completed
    assert job.status.finished
    assert job.video_url == sim.job(job.id).video_url
    assert job.video_url.startswith("https://") and job.video_url.endswith(".mp4")
    assert job.failure_reason is None
    assert job.credits_used == (CREDITS_USED if dialect == "unified" else None)
    assert sim.counters.by_dialect_kind[(dialect, "create")] == 1
    assert sim.counters.by_dialect_kind[(dialect, "fetch_one")] == 2


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_flagged_prompt_ends_failed_with_the_reason(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect, failure_reason="Prompt was flagged by moderation")
    job = await api.create("FAIL: something not allowed")
    env.clock.advance(QUEUE_S + run_s(dialect) + 1)

    job = await api.fetch(job.id)
    assert job.status is JobStatus.FAILED and job.raw_status == RAW_WORDS[dialect][3]
    assert job.status.finished
    assert job.failure_reason == "Prompt was flagged by moderation"
    assert job.video_url is None and job.credits_used is None


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_failure_reason_is_the_apis_own(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    job = await api.create("a calm lake")
    sim.finish_now(job.id, failed=True, reason="GPU fell over")
    job = await api.fetch(job.id)
    assert job.status is JobStatus.FAILED
    assert job.failure_reason == "GPU fell over"


@pytest.mark.parametrize("dialect", V2_FAMILY)
async def test_options_reach_the_api(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    options = VideoOptions(aspect_ratio="9:16", resolution="720p", duration=9, loop=True,
                           start_image_url="https://example.com/a.png", end_image_url="https://example.com/b.png")
    job = await api.create("a lighthouse", options)
    sent = sim.job(job.id).request
    assert sent["aspect_ratio"] == "9:16" and sent["loop"] is True and sent["resolution"] == "720p"
    assert sent["duration"] == (9 if dialect == "unified" else "9s")
    assert sent["keyframes"] == {"frame0": {"type": "image", "url": "https://example.com/a.png"},
                                 "frame1": {"type": "image", "url": "https://example.com/b.png"}}
    assert sent["model"] == ("luma/ray-2" if dialect == "unified" else "ray-2")


async def test_legacy_refuses_options_it_cannot_send_before_any_request(env: Env) -> None:
    sim, api = await env.both("legacy")
    with pytest.raises(UnsupportedByDialect) as caught:
        await api.create("a lighthouse", VideoOptions(resolution="720p"))
    assert "resolution" in str(caught.value)
    assert caught.value.maybe_accepted is False
    assert total_requests(sim) == 0 and sim.jobs() == []


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_jobs_of_another_key_are_not_visible(env: Env, dialect: str) -> None:
    sim, url = await env.sim()
    mine = await env.api(url, dialect)
    theirs = await env.api(url, dialect, key="sk-someone-else-0000")
    job = await mine.create("a private clip")
    with pytest.raises(NotFoundError):
        await theirs.fetch(job.id)
    assert await theirs.fetch_many([job.id]) == {}


# -- extend ----------------------------------------------------------------------------------------

async def completed_job(env: Env, sim: Simulator, api: VideoAPI, prompt: str = "a paper boat") -> str:
    job = await api.create(prompt)
    env.clock.advance(QUEUE_S + run_s(api.dialect.name))
    assert (await api.fetch(job.id)).status is JobStatus.COMPLETED
    return job.id


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_extend_forward_from_a_completed_job(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    source = await completed_job(env, sim, api)

    new = await api.extend(source, "the boat reaches the sea", "forward")
    assert new.id != source and new.status is JobStatus.QUEUED
    made = sim.job(new.id)
    assert made.kind == "extend" and made.parents == (source,) and made.prompt == "the boat reaches the sea"
    assert sim.counters.by_dialect_kind[(dialect, "extend")] == 1
    if dialect != "legacy":
        assert set(made.request["keyframes"]) == {"frame0"}
        assert made.request["keyframes"]["frame0"]["type"] == "generation"
    env.clock.advance(QUEUE_S + run_s(dialect))
    assert (await api.fetch(new.id)).status is JobStatus.COMPLETED


@pytest.mark.parametrize("dialect", V2_FAMILY)
async def test_extend_backward_from_a_completed_job(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    source = await completed_job(env, sim, api)

    new = await api.extend(source, "how the boat was folded", "backward")
    made = sim.job(new.id)
    assert made.kind == "extend" and made.parents == (source,)
    # Backward: the source clip is the END of the new one.
    assert set(made.request["keyframes"]) == {"frame1"}
    assert made.request["keyframes"]["frame1"] == {"type": "generation", "id": sim.job(source).uuid}


@pytest.mark.parametrize("dialect", V2_FAMILY)
async def test_interpolate_between_two_completed_jobs(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    first = await api.create("a seed")
    second = await api.create("a tree")
    env.clock.advance(QUEUE_S + run_s(dialect))

    bridge = await api.extend(first.id, "the seed grows", other_id=second.id)
    made = sim.job(bridge.id)
    assert made.kind == "extend" and made.parents == (first.id, second.id)
    assert made.request["keyframes"]["frame0"]["id"] == sim.job(first.id).uuid
    assert made.request["keyframes"]["frame1"]["id"] == sim.job(second.id).uuid


@pytest.mark.parametrize("kwargs", [{"direction": "backward"}, {"direction": "forward", "other_id": "x"}],
                         ids=["backward", "interpolate"])
async def test_legacy_cannot_extend_backward_or_interpolate_and_sends_nothing(env: Env, kwargs: dict) -> None:
    sim, api = await env.both("legacy")
    source = await completed_job(env, sim, api)
    before, jobs = total_requests(sim), len(sim.jobs())

    with pytest.raises(UnsupportedByDialect) as caught:
        await api.extend(source, "before it all", **kwargs)
    assert caught.value.maybe_accepted is False
    assert total_requests(sim) == before
    assert sim.counters.requests["extend"] == 0
    assert len(sim.jobs()) == jobs
    assert api.capabilities.backward_extend is False and api.capabilities.interpolate is False


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_extend_from_an_unfinished_job_is_a_bad_request_in_the_apis_words(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    source = await api.create("still cooking")
    env.clock.advance(QUEUE_S + 1)  # running, not completed

    with pytest.raises(BadRequestError) as caught:
        await api.extend(source.id, "and then", "forward")
    error = caught.value
    assert error.status == 400
    assert "is not completed" in error.message and "is not completed" in str(error)
    assert error.maybe_accepted is False
    assert len(sim.jobs()) == 1
    assert sim.counters.requests["extend"] == 1  # a 400 is not retried


# -- fetch_many ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
async def test_fetch_many_uses_as_few_requests_as_the_dialect_allows(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    a = await api.create("one")
    b = await api.create("two")
    env.clock.advance(QUEUE_S + run_s(dialect))
    c = await api.create("three FAIL")
    d = await api.create("four")
    sim.finish_now(c.id, failed=True)
    unknown = "00000000-0000-4000-8000-000000000000"
    sim.counters.reset()

    found = await api.fetch_many([a.id, unknown, b.id, c.id, d.id, a.id])
    assert set(found) == {a.id, b.id, c.id, d.id}
    assert all(job.id == job_id for job_id, job in found.items())
    assert found[a.id].status is JobStatus.COMPLETED and found[a.id].video_url == sim.job(a.id).video_url
    assert found[b.id].status is JobStatus.COMPLETED
    assert found[c.id].status is JobStatus.FAILED and found[c.id].failure_reason
    assert found[d.id].status is JobStatus.QUEUED and found[d.id].video_url is None

    counts = sim.counters.by_dialect_kind
    if dialect == "unified":
        # No batch endpoint: one fetch per distinct id (the repeat is asked once).
        assert counts[(dialect, "fetch_one")] == 5 and counts[(dialect, "fetch_many")] == 0
    else:
        assert counts[(dialect, "fetch_many")] == 1 and counts[(dialect, "fetch_one")] == 0
    assert sim.counters.ids_fetched == 5


@pytest.mark.parametrize("dialect", ("luma-v2", "legacy"))
async def test_fetch_many_splits_big_batches(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    a = await api.create("one")
    b = await api.create("two")
    unknown = [f"00000000-0000-4000-8000-{n:012d}" for n in range(58)]
    sim.counters.reset()

    found = await api.fetch_many([a.id, *unknown, b.id])  # 60 ids
    assert set(found) == {a.id, b.id}
    assert sim.counters.by_dialect_kind[(dialect, "fetch_many")] == 2
    assert sim.counters.ids_fetched == 60


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_fetch_many_of_nothing_or_only_unknown_ids(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    assert await api.fetch_many([]) == {}
    assert total_requests(sim) == 0
    assert await api.fetch_many(["00000000-0000-4000-8000-000000000001",
                                 "00000000-0000-4000-8000-000000000002"]) == {}


async def test_unified_fetch_many_retries_each_fetch(env: Env) -> None:
    sim, api = await env.both("unified")
    a = await api.create("one")
    b = await api.create("two")
    sim.counters.reset()
    sim.script_faults(["503"], kind="fetch")
    found = await api.fetch_many([a.id, b.id])
    assert set(found) == {a.id, b.id}
    assert sim.counters.requests["fetch_one"] == 3


@pytest.mark.parametrize("dialect", ("luma-v2", "legacy"))
async def test_batch_fetch_is_retried(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    a = await api.create("one")
    b = await api.create("two")
    sim.counters.reset()
    sim.script_faults(["502", "429"], kind="fetch_many")
    found = await api.fetch_many([a.id, b.id])
    assert set(found) == {a.id, b.id}
    assert sim.counters.requests["fetch_many"] == 3


# -- luma-v2 server-side wait ------------------------------------------------------------------------

async def test_luma_v2_wait_returns_as_soon_as_the_job_completes(env: Env) -> None:
    sim, api = await env.both("luma-v2")
    job = await api.create("a slow sunrise")
    sim.counters.reset()

    async def finish_later() -> None:
        await asyncio.sleep(0.1)
        env.clock.advance(QUEUE_S + RUN_S)

    started = time.monotonic()
    finisher = asyncio.create_task(finish_later())
    got = await api.fetch(job.id, wait_for=JobStatus.COMPLETED, wait_seconds=30.0)
    elapsed = time.monotonic() - started
    await finisher

    assert got.status is JobStatus.COMPLETED and got.video_url == sim.job(job.id).video_url
    assert sim.counters.by_dialect_kind[("luma-v2", "fetch_one")] == 1  # one held request, no polling
    assert 0.08 <= elapsed < 2.0  # held until the change, then answered at once (the hold limit is 30 s)


async def test_luma_v2_wait_for_running(env: Env) -> None:
    sim, api = await env.both("luma-v2")
    job = await api.create("a slow sunrise")

    async def start_later() -> None:
        await asyncio.sleep(0.05)
        env.clock.advance(QUEUE_S + 1)

    starter = asyncio.create_task(start_later())
    got = await api.fetch(job.id, wait_for=JobStatus.RUNNING, wait_seconds=30.0)
    await starter
    assert got.status is JobStatus.RUNNING and got.raw_status == "dreaming"
    assert sim.counters.requests["fetch_one"] == 1


async def test_luma_v2_wait_answers_the_current_state_when_the_hold_runs_out(env: Env) -> None:
    # The server holds for at most max_wait_seconds (0.2 s real here); the clock never moves.
    sim, api = await env.both("luma-v2", max_wait_seconds=0.2)
    job = await api.create("never finishes")

    started = time.monotonic()
    got = await api.fetch(job.id, wait_for=JobStatus.COMPLETED, wait_seconds=1.0)
    elapsed = time.monotonic() - started
    assert got.status is JobStatus.QUEUED and got.video_url is None
    assert sim.counters.requests["fetch_one"] == 1
    assert 0.15 <= elapsed < 1.5


async def test_luma_v2_wait_on_the_real_clock_outlasts_the_client_timeout(env: Env) -> None:
    # 3 s + 20 s at 1/100 speed: done ~0.23 s after creation, longer than the 0.1 s client timeout.
    # The server's hold is added to the timeout, so the held request does not time out.
    sim, url = await env.sim(clock=time.monotonic, time_scale=0.01)
    api = await env.api(url, "luma-v2", timeout=0.1)
    job = await api.create("a quick sunrise")
    assert sim.phase(sim.job(job.id)) == "queued"

    got = await api.fetch(job.id, wait_for=JobStatus.COMPLETED, wait_seconds=1.0)
    assert got.status is JobStatus.COMPLETED
    assert sim.counters.requests["fetch_one"] == 1
    assert successes(sim) == 2  # the create and the one fetch


async def test_luma_v2_wait_ends_early_when_the_job_fails(env: Env) -> None:
    sim, api = await env.both("luma-v2")
    job = await api.create("FAIL soon")

    async def fail_later() -> None:
        await asyncio.sleep(0.05)
        env.clock.advance(QUEUE_S + RUN_S)

    failer = asyncio.create_task(fail_later())
    started = time.monotonic()
    got = await api.fetch(job.id, wait_for=JobStatus.COMPLETED, wait_seconds=30.0)
    await failer
    assert time.monotonic() - started < 2.0
    assert got.status is JobStatus.FAILED and got.failure_reason
    assert sim.counters.requests["fetch_one"] == 1


async def test_luma_v2_short_wait_seconds_does_not_time_out(env: Env) -> None:
    # The server holds for up to 0.3 s (its fixed limit); the caller asks for a 0.05 s wait, timeout 0.05 s.
    sim, url = await env.sim(max_wait_seconds=0.3)
    api = await env.api(url, "luma-v2", timeout=0.05,
                        retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.01))
    job = await api.create("takes a while")
    got = await api.fetch(job.id, wait_for=JobStatus.COMPLETED, wait_seconds=0.05)
    assert got.status is JobStatus.QUEUED


@pytest.mark.parametrize("dialect", ("unified", "legacy"))
async def test_other_dialects_ignore_wait_for_and_answer_at_once(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    job = await api.create("no waiting here")
    started = time.monotonic()
    got = await api.fetch(job.id, wait_for=JobStatus.COMPLETED, wait_seconds=30.0)
    assert time.monotonic() - started < 1.0
    assert got.status is JobStatus.QUEUED
    assert api.capabilities.server_wait is False


# -- API errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
async def test_wrong_key_is_an_authentication_error_and_not_retried(env: Env, dialect: str) -> None:
    sim, url = await env.sim(api_keys={"good"})
    api = await env.api(url, dialect)
    with pytest.raises(AuthenticationError) as caught:
        await api.create("hello")
    assert caught.value.status == 401 and caught.value.maybe_accepted is False
    with pytest.raises(AuthenticationError):
        await api.fetch("00000000-0000-4000-8000-000000000000")
    assert total_requests(sim) == 2
    assert sim.jobs() == []
    # The right key works on the same simulator.
    good = await env.api(url, dialect, key="good")
    assert (await good.create("hello")).status is JobStatus.QUEUED


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_out_of_credits_creates_nothing(env: Env, dialect: str) -> None:
    # Enough for one clip and a half: unified jobs cost their catalogue price, the others the flat one.
    price = PLAIN_CLIP if dialect == "unified" else 100
    sim, api = await env.both(dialect, cost_per_generation=100, credits={KEY: price * 3 // 2})
    first = await api.create("the first one is paid for")
    with pytest.raises(InsufficientCreditsError) as caught:
        await api.create("the second one is not")
    assert caught.value.status == 403 and caught.value.maybe_accepted is False
    assert "credit" in caught.value.message.lower()
    assert [job.id for job in sim.jobs()] == [first.id]
    assert sim.balance(KEY) == price * 3 // 2 - price  # the first clip's price, and nothing for the second
    assert sim.counters.requests["create"] == 2  # a 403 is not retried

    sim.set_credits(KEY, 0)
    env.clock.advance(QUEUE_S + run_s(dialect))
    with pytest.raises(InsufficientCreditsError):
        await api.extend(first.id, "more", "forward")
    assert len(sim.jobs()) == 1


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_invalid_body_is_a_bad_request_with_the_apis_explanation(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    with pytest.raises(BadRequestError) as caught:
        await api._request(Request("POST", CREATE_PATH[dialect], json=BAD_BODY[dialect]), idempotent=False)
    error = caught.value
    assert error.status == 400 and error.maybe_accepted is False
    assert "Body validation error" in error.message
    assert "prompt" in error.message  # the field-level detail is kept
    assert error.request_id and error.body["requestId"] == error.request_id
    assert sim.jobs() == [] and total_requests(sim) == 1


@pytest.mark.parametrize("dialect", V2_FAMILY)
async def test_rejected_option_is_a_bad_request(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    with pytest.raises(BadRequestError) as caught:
        await api.create("a picture", VideoOptions(start_image_url="not a url"))
    assert "Body validation error" in str(caught.value)
    assert "keyframes.frame0" in str(caught.value)
    assert sim.jobs() == []


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_unknown_id_is_not_found(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    with pytest.raises(NotFoundError):
        await api.fetch("00000000-0000-4000-8000-000000000000")
    assert sim.counters.requests["fetch_one"] == 1  # a 404 is not retried


async def test_unknown_endpoint_is_not_found_with_the_apis_words(env: Env) -> None:
    sim, api = await env.both()
    with pytest.raises(NotFoundError) as caught:
        await api._request(Request("GET", "/v9/nothing"), idempotent=True)
    assert caught.value.status == 404 and "Cannot GET /v9/nothing" in caught.value.message


async def test_the_api_key_never_shows_in_errors_repr_or_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sim, url = await env.sim(api_keys={"good"})
    errors: list[VideoAPIError] = []
    api = await env.api(url, "unified", timeout=0.1)
    assert KEY not in repr(api) and KEY not in str(api)

    for call in (lambda: api.create("x"), lambda: api.fetch("nope")):
        with pytest.raises(AuthenticationError) as caught:
            await call()
        errors.append(caught.value)

    good = await env.api(url, "unified", key="good")
    sim.script_faults(["503", "503", "503", "503"], kind="fetch")
    with pytest.raises(ServerError) as caught:
        await good.fetch("nope")
    errors.append(caught.value)

    offline = await env.api(closed_port_url(), "unified")
    for call in (lambda: offline.create("x"), lambda: offline.fetch("x")):
        with pytest.raises(APIConnectionError) as caught:
            await call()
        errors.append(caught.value)

    for error in errors:
        for text in (str(error), repr(error), error.message, repr(getattr(error, "body", None)),
                     repr(error.__cause__), repr(error.args)):
            assert KEY not in text
    assert KEY not in repr(offline)
    assert KEY not in caplog.text


# -- retries ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
async def test_fetch_retries_server_errors_and_rate_limits_then_succeeds(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    job = await api.create("persistent")
    sim.script_faults(["500", "502", "429"], kind="fetch")

    got = await api.fetch(job.id)
    assert got.id == job.id and got.status is JobStatus.QUEUED
    assert sim.counters.requests["fetch_one"] == 4
    assert sim.counters.faults == {"500": 1, "502": 1, "429": 1}
    assert successes(sim) == 2  # the create and the last fetch


@pytest.mark.parametrize("fault", ["500", "502", "503", "504"])
async def test_fetch_gives_up_after_max_attempts(env: Env, fault: str) -> None:
    sim, api = await env.both("unified")
    job = await api.create("doomed")
    sim.script_faults([fault] * 6, kind="fetch")

    with pytest.raises(ServerError) as caught:
        await api.fetch(job.id)
    assert caught.value.status == int(fault)
    assert caught.value.maybe_accepted is False  # a fetch creates nothing
    assert sim.counters.requests["fetch_one"] == FAST.max_attempts
    assert len(sim.scripted_faults) == 6 - FAST.max_attempts


async def test_rate_limit_gives_up_after_max_attempts(env: Env) -> None:
    sim, api = await env.both("unified", retry_after_seconds=0.001)
    job = await api.create("doomed")
    sim.script_faults(["429"] * 5, kind="fetch")
    with pytest.raises(RateLimitError) as caught:
        await api.fetch(job.id)
    assert caught.value.status == 429
    assert sim.counters.requests["fetch_one"] == FAST.max_attempts


async def test_retry_after_is_parsed_and_honoured(env: Env) -> None:
    # Retry-After: 0.15 (seconds); the backoff alone would wait at most 0.01 s.
    sim, api = await env.both("unified", retry_after_seconds=0.15)
    job = await api.create("patience")
    sim.script_faults(["429"], kind="fetch")

    started = time.monotonic()
    got = await api.fetch(job.id)
    elapsed = time.monotonic() - started
    assert got.id == job.id
    assert sim.counters.requests["fetch_one"] == 2
    assert 0.14 <= elapsed < 1.0


async def test_retry_after_beyond_the_limit_is_raised_at_once(env: Env) -> None:
    sim, api = await env.both("unified", retry_after_seconds=5.0)  # > max_retry_after (1.0)
    job = await api.create("too busy")
    sim.script_faults(["429", "429"], kind="fetch")

    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await api.fetch(job.id)
    assert time.monotonic() - started < 0.5  # no sleep
    assert caught.value.retry_after == 5.0
    assert caught.value.status == 429 and caught.value.maybe_accepted is False
    assert sim.counters.requests["fetch_one"] == 1


async def test_connection_refused_is_retried_for_fetch(env: Env) -> None:
    attempts: list[str] = []
    session = await env.session(attempts)
    api = await env.api(closed_port_url(), "unified", session=session)
    with pytest.raises(APIConnectionError) as caught:
        await api.fetch("some-id")
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.maybe_accepted is False
    assert len(attempts) == FAST.max_attempts


async def test_a_dropped_connection_is_retried_for_fetch_but_not_for_create(env: Env) -> None:
    """A server that takes the connection and hangs up: the create may have been received."""
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        attempts: list[str] = []
        api = await env.api(f"http://127.0.0.1:{port}", "unified", session=await env.session(attempts))

        with pytest.raises(APIConnectionError) as caught:
            await api.fetch("some-id")
        assert not isinstance(caught.value, APITimeoutError)
        assert caught.value.maybe_accepted is False
        # (aiohttp itself may retry an idempotent GET once on a new connection: count our attempts.)
        assert len(attempts) == FAST.max_attempts
        assert connections >= FAST.max_attempts

        attempts.clear()
        connections = 0
        with pytest.raises(APIConnectionError) as caught:
            await api.create("maybe sent")
        assert caught.value.maybe_accepted is True
        assert attempts == ["POST /v2/video/generations"]
        assert connections == 1


async def odd_server(env: Env, status: int, body: str, content_type: str = "text/html") -> str:
    """A gateway that answers every call with this status and body."""
    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    env.stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_a_non_json_error_page_becomes_a_typed_error(env: Env) -> None:
    url = await odd_server(env, 503, "<html><body>Service Unavailable</body></html>")
    api = await env.api(url, "unified")
    with pytest.raises(ServerError) as caught:
        await api.fetch("x")
    assert caught.value.status == 503
    assert "Service Unavailable" in caught.value.message


async def test_an_unreadable_success_answer_to_a_create_is_a_maybe_accepted_api_error(env: Env) -> None:
    url = await odd_server(env, 200, "<html>ok</html>")
    api = await env.api(url, "unified")
    with pytest.raises(VideoAPIError) as caught:
        await api.create("was it made?")
    assert caught.value.maybe_accepted is True


# -- never a duplicate create ------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", DIALECTS)
async def test_lost_answer_to_a_create_is_not_resent(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    sim.script_faults(["accept_then_502"], kind="create")

    with pytest.raises(ServerError) as caught:
        await api.create("charged once")
    assert caught.value.status == 502
    assert caught.value.maybe_accepted is True
    assert len(sim.jobs()) == 1  # the API made it, and the client did not send it again
    assert sim.counters.requests["create"] == 1


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_lost_answer_to_an_extend_is_not_resent(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect)
    source = await completed_job(env, sim, api)
    sim.script_faults(["accept_then_502"], kind="extend")

    with pytest.raises(ServerError) as caught:
        await api.extend(source, "charged once", "forward")
    assert caught.value.maybe_accepted is True
    assert len(sim.jobs()) == 2
    assert sim.counters.requests["extend"] == 1


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_server_error_on_create_is_raised_not_retried(env: Env, fault: str) -> None:
    sim, api = await env.both("unified")
    sim.script_faults([fault], kind="create")
    with pytest.raises(ServerError) as caught:
        await api.create("once")
    assert caught.value.status == int(fault)
    assert caught.value.maybe_accepted is True  # the client cannot know it was not taken
    assert sim.counters.requests["create"] == 1
    assert sim.jobs() == []


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_rate_limited_create_is_retried_and_made_once(env: Env, dialect: str) -> None:
    sim, api = await env.both(dialect, retry_after_seconds=0.001)
    sim.script_faults(["429", "429"], kind="create")

    job = await api.create("after the queue")
    assert sim.counters.requests["create"] == 3
    assert [j.id for j in sim.jobs()] == [job.id]


async def test_rate_limited_create_beyond_max_retry_after_is_raised_unaccepted(env: Env) -> None:
    sim, api = await env.both("unified", retry_after_seconds=30.0)
    sim.script_faults(["429"], kind="create")
    with pytest.raises(RateLimitError) as caught:
        await api.create("later")
    assert caught.value.retry_after == 30.0 and caught.value.maybe_accepted is False
    assert sim.counters.requests["create"] == 1 and sim.jobs() == []


async def test_connection_refused_on_create_is_retried(env: Env) -> None:
    attempts: list[str] = []
    session = await env.session(attempts)
    api = await env.api(closed_port_url(), "luma-v2", session=session)
    with pytest.raises(APIConnectionError) as caught:
        await api.create("it never arrived")
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.maybe_accepted is False
    assert attempts == ["POST /v2/generate/video/luma-ai/generation"] * FAST.max_attempts


async def test_create_succeeds_once_the_api_is_reachable(env: Env) -> None:
    """Connection refused, then the server is up on that port: the retried create lands once."""
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    sim = Simulator(SimulatorConfig(clock=env.clock))
    attempts: list[str] = []
    session = await env.session(attempts)
    api = await env.api(url, "unified", session=session,
                        retry=RetryPolicy(max_attempts=20, base_delay=0.02, max_delay=0.02))

    async def serve_later() -> None:
        while not attempts:
            await asyncio.sleep(0.005)
        await env.stack.enter_async_context(run_simulator(sim, port=port))

    server = asyncio.create_task(serve_later())
    job = await api.create("eventually")
    await server
    assert len(attempts) >= 2
    assert [j.id for j in sim.jobs()] == [job.id]
    assert sim.counters.requests["create"] == 1


# -- timeouts --------------------------------------------------------------------------------------

async def test_slow_fetch_times_out_and_is_retried(env: Env) -> None:
    # A slow answer takes 0.4 s (40 s at 1/100); the client gives up after 0.1 s.
    sim, url = await env.sim(clock=time.monotonic, time_scale=0.01, slow_seconds=40.0)
    api = await env.api(url, "unified", timeout=0.1)
    job = await api.create("impatient")
    sim.script_faults(["slow"], kind="fetch")

    got = await api.fetch(job.id)
    assert got.id == job.id
    assert sim.counters.requests["fetch_one"] == 2
    assert sim.counters.faults["slow"] == 1


async def test_slow_fetch_every_time_raises_a_timeout(env: Env) -> None:
    sim, url = await env.sim(clock=time.monotonic, time_scale=0.01, slow_seconds=40.0)
    api = await env.api(url, "unified", timeout=0.05, retry=RetryPolicy(max_attempts=2, base_delay=0.001,
                                                                        max_delay=0.01))
    sim.script_faults(["slow", "slow"], kind="fetch")
    with pytest.raises(APITimeoutError) as caught:
        await api.fetch("whatever")
    assert isinstance(caught.value, APIConnectionError)
    assert caught.value.maybe_accepted is False
    # The client gives up after 0.05 s; on a busy machine the simulator may count the second
    # request a moment later, so wait for it (and make sure no third one comes).
    for _ in range(100):
        if sim.counters.requests["fetch_one"] >= 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert sim.counters.requests["fetch_one"] == 2


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_slow_create_times_out_and_is_not_resent(env: Env, dialect: str) -> None:
    sim, url = await env.sim(clock=time.monotonic, time_scale=0.01, slow_seconds=30.0)
    api = await env.api(url, dialect, timeout=0.1)
    sim.script_faults(["slow"], kind="create")

    with pytest.raises(APITimeoutError) as caught:
        await api.create("maybe made")
    assert caught.value.maybe_accepted is True
    # As above: on a busy machine the simulator may count the request just after the timeout.
    for _ in range(100):
        if sim.counters.requests["create"] >= 1:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert sim.counters.requests["create"] == 1
    assert len(sim.jobs()) <= 1


# -- sessions --------------------------------------------------------------------------------------

async def test_an_injected_session_is_used_and_left_open(env: Env) -> None:
    sim, url = await env.sim()
    attempts: list[str] = []
    session = await env.session(attempts)
    api = VideoAPI(KEY, base_url=url, dialect="luma-v2", session=session, retry=FAST)

    job = await api.create("shared")
    await api.fetch(job.id)
    await api.fetch_many([job.id])
    assert len(attempts) == 3 == total_requests(sim)

    await api.close()
    assert not session.closed
    # Still usable by its owner, and by a client built on it.
    async with session.get(url + "/v2/generate/video/luma-ai/generation",
                           params={"generation_id": job.id}, headers={"Authorization": f"Bearer {KEY}"}) as r:
        assert r.status == 200
    async with VideoAPI(KEY, base_url=url, dialect="luma-v2", session=session, retry=FAST) as again:
        assert (await again.fetch(job.id)).id == job.id
    assert not session.closed
    assert len(attempts) == 5


async def test_an_owned_session_is_reused_and_closed_by_close(env: Env) -> None:
    sim, url = await env.sim()
    api = VideoAPI(KEY, base_url=url + "/", dialect="unified", retry=FAST)
    assert api.base_url == url
    try:
        job = await api.create("mine")
        session = api._session
        assert session is not None and not session.closed
        await api.fetch(job.id)
        assert api._session is session  # one session for every call
    finally:
        await api.close()
    assert session.closed
    await api.close()  # closing twice is harmless


async def test_context_manager_closes_its_own_session(env: Env) -> None:
    sim, url = await env.sim()
    async with VideoAPI(KEY, base_url=url, dialect="legacy", retry=FAST) as api:
        await api.create("scoped")
        session = api._session
    assert session is not None and session.closed
