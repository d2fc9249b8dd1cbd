"""The fetch worker: follows every pending generation and records how it ended.

It reads its work from the store, never from memory, so a restart resumes where the last
process stopped. Every fetch is a task of its own with its own deadline, and its answer is
acted on the moment it arrives: a job whose fetch is slow or failing never holds up another
job's handling, nor the loop's heartbeat. A finished job is recorded (charge or refund, in
the store) and handed to the post worker (`bot/services/posting.py`), which posts it on its
own clock. The poll schedule learns run times per option and is kept in the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Callable, Protocol

from bot.api import (
    AuthenticationError,
    InsufficientCreditsError,
    JobStatus,
    NotFoundError,
    RateLimitError,
    VideoAPI,
    VideoAPIError,
    VideoJob,
)
from bot.services.heartbeat import Heartbeat, finish_or_cancel
from bot.services.posting import PostWorker
from bot.services.schedule import OptionKey, PollSchedule, option_key
from storage import Generation, Store

log = logging.getLogger(__name__)

# A job the API cannot find this many times in a row is given up and refunded.
MAX_NOT_FOUND = 3
# On shutdown, how long work under way may take to finish before it is cancelled.
STOP_GRACE_SECONDS = 5.0
# Backoff after the API as a whole misbehaves.
API_BACKOFF_BASE = 2.0
API_BACKOFF_MAX = 120.0
# Failed fetches in a row, with no success between, that count as the API being in trouble.
FAILURES_BEFORE_BACKOFF = 3
# Past the job timeout, a job whose last look failed is given this much longer (in job
# timeouts) to answer before it is refunded unseen.
TIMEOUT_GRACE_FACTOR = 2.0
# Jobs fetched at once where the dialect has no batch endpoint (as the API client does).
FETCH_CONCURRENCY = 8
# Ids per batch request (the API's own limit).
BATCH_SIZE = 50


class Publisher(Protocol):
    """Shows a generation to members (the Discord side implements it)."""

    async def publish(self, generation: Generation) -> None:
        """Post a finished (completed or failed) generation and record it as posted."""

    async def show_progress(self, generation: Generation, job: VideoJob) -> None:
        """Best effort: reflect a running job's state on its status message."""


class Poller:
    def __init__(
        self,
        store: Store,
        api: VideoAPI,
        publisher: Publisher,
        *,
        schedule: PollSchedule | None = None,
        job_timeout: float = 3600.0,
        fetch_deadline: float = 60.0,
        default_model: str = "",
        clock: Callable[[], float] = time.time,
        heartbeat_path: Path | None = None,
    ) -> None:
        self.store = store
        self.api = api
        self.publisher = publisher
        self.schedule = schedule or PollSchedule()
        self.job_timeout = job_timeout
        self.fetch_deadline = fetch_deadline
        self.default_model = default_model
        self.clock = clock
        self.heartbeat = Heartbeat(heartbeat_path, clock=clock)
        self.posts = PostWorker(store, publisher, heartbeat=self.heartbeat,
                                rescan_seconds=self.schedule.max_interval, clock=clock)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watch_wake = asyncio.Event()
        self._stopping = False
        self._not_found: dict[int, int] = {}
        self._api_backoff_until = 0.0
        self._api_failures = 0
        self._failures_in_a_row = 0
        self._fetching: set[int] = set()  # jobs with a fetch (or a last look) queued or under way
        # Work for the fetchers: (jobs, what to do with them). A fixed pool, not a task per job,
        # so 10,000 due jobs cost a queue entry each, not a task each.
        self._queue: asyncio.Queue[tuple[list[Generation], Callable[[list[Generation]], Awaitable[None]]]] = (
            asyncio.Queue())
        self._fetchers: list[asyncio.Task[None]] = []
        self._loop_wakes_at = float("inf")
        self._urgent = False
        self._keys: dict[int, OptionKey] = {}
        self._warm = False
        # Jobs finished while the bot was down must not teach the schedule a downtime.
        self._started_at = clock()
        self.fetch_requests = 0  # counted for the benchmarks

    # Lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dreambot-fetch-worker")
        if self.api.capabilities.server_wait and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.create_task(self._watch(), name="dreambot-fetch-watch")
        self._fetchers = [t for t in self._fetchers if not t.done()]
        while len(self._fetchers) < FETCH_CONCURRENCY:
            self._fetchers.append(asyncio.create_task(self._fetcher(), name="dreambot-fetcher"))
        self.posts.start()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let work under way finish (its store writes land), then stop; pending jobs stay
        pending in the store and resume at the next start."""
        self._stopping = True
        self._wake.set()
        if self._watcher is not None:
            self._watcher.cancel()  # only a read is in flight: nothing to finish
        loops = [t for t in (self._task, self._watcher) if t is not None]
        if loops:
            await asyncio.wait(loops, timeout=grace)
        # Fetches under way may finish (their store writes land); what is only queued stays
        # pending in the store.
        queued = []
        while not self._queue.empty():
            queued.append(self._queue.get_nowait())
            self._queue.task_done()
        for generations, _ in queued:
            self._fetching.difference_update(g.id for g in generations)
        if self._fetching:
            busy = asyncio.create_task(self._queue.join())
            await asyncio.wait([busy], timeout=grace)
            busy.cancel()
        await finish_or_cancel([*loops, *self._fetchers], 0)
        await self.posts.stop(grace)
        self._task = self._watcher = None
        self._fetchers = []
        self._fetching.clear()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """A new job was submitted: look at the queue now rather than at the next tick."""
        self._wake.set()
        self._watch_wake.set()

    def eta(self, generation: Generation) -> float | None:
        """When the clip is expected to be ready (epoch seconds), from its option's run times."""
        typical = self.schedule.typical(self._key(generation))
        if typical is None:
            return None
        return (generation.submitted_at or generation.requested_at) + typical

    async def _run(self) -> None:
        await self._load_run_times()
        while not self._stopping:
            delay = self.schedule.max_interval
            # Cleared before the round, so a wake() that arrives while it runs starts the next one at once.
            self._wake.clear()
            round_started = self.clock()
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop itself must never die
                log.exception("fetch round failed")
            self.heartbeat.beat("fetch")
            delay = max(0.05, delay)
            self._loop_wakes_at = self.clock() + delay
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._loop_wakes_at = float("inf")
            # Woken early (a burst of submissions wakes it once each): rounds stay at least
            # min_interval apart, since each re-reads every pending job from the store.
            since = self.clock() - round_started
            if self._urgent:
                self._urgent = False  # a job just finished: others may have too, look now
            elif since < self.schedule.min_interval and not self._stopping:
                await asyncio.sleep(self.schedule.min_interval - since)

    async def _load_run_times(self) -> None:
        """Start warm: the run times learned before the restart."""
        if self._warm:
            return
        try:
            rows = await self.store.run_times()
        except Exception:
            log.warning("could not read the learned run times; starting cold", exc_info=True)
            return
        self._warm = True
        self.schedule.load((key, seconds) for key, seconds in
                           ((OptionKey.parse(text), seconds) for text, seconds in rows) if key is not None)

    # One round ------------------------------------------------------------------

    async def run_once(self) -> float:
        """Start a fetch for every job that is due; return seconds until the next look.
        The fetches run on their own: this never waits for an answer."""
        now = self.clock()
        if now >= self._api_backoff_until:
            await self._start_due(now)
        wait = self.schedule.next_due(self.clock(), busy=self._fetching)
        if now < self._api_backoff_until:
            wait = min(wait if wait is not None else self.schedule.max_interval, self._api_backoff_until - now)
        if wait is None:
            return self.schedule.max_interval
        return wait

    async def _start_due(self, now: float) -> None:
        pending = await self.store.jobs_to_poll()
        ids = {g.id for g in pending}
        self.schedule.keep_only(ids | self._fetching)
        for gone in [g for g in self._keys if g not in ids]:
            self._keys.pop(gone, None)
        idle = [g for g in pending if g.id not in self._fetching and g.api_id]
        due = [g for g in idle if self.schedule.is_due(g.id, now)]
        if not due:
            return
        for generation in [g for g in due if self._timed_out(g, now)]:
            self._spawn([generation], self._last_looks)
        due = [g for g in due if not self._timed_out(g, now)]
        if not due:
            return
        if self.api.capabilities.batch_fetch:
            # A batch request costs the same for one id or fifty: take along the jobs due soon,
            # but not every pending one (that would re-plan jobs that are nowhere near done).
            soon = now + self.schedule.min_interval
            targets = [g for g in idle if self.schedule.is_due(g.id, soon) and not self._timed_out(g, now)]
            for start in range(0, len(targets), BATCH_SIZE):
                chunk = targets[start:start + BATCH_SIZE]
                self._spawn(chunk, self._fetch_batch)
            return
        for generation in due:
            self._spawn([generation], self._fetch_one)

    def _spawn(self, generations: list[Generation],
               work: Callable[[list[Generation]], Awaitable[None]]) -> None:
        self._fetching.update(g.id for g in generations)
        self._queue.put_nowait((generations, work))

    async def _fetcher(self) -> None:
        """One of the pool: takes the next jobs, fetches them within the deadline, acts on the answer."""
        while True:
            generations, work = await self._queue.get()
            try:
                await work(generations)
            except Exception:  # a fetcher must never die
                log.exception("fetching generations %s failed", [g.id for g in generations])
            finally:
                self._fetching.difference_update(g.id for g in generations)
                self._queue.task_done()

    async def _fetch_one(self, generations: list[Generation]) -> None:
        generation = generations[0]
        self.fetch_requests += 1
        try:
            async with asyncio.timeout(self.fetch_deadline):
                job: VideoJob | None = await self.api.fetch(generation.api_id or "")
        except NotFoundError:
            job = None
        except (VideoAPIError, TimeoutError) as error:
            self._fetch_failed([generation], error)
            return
        self._fetch_worked()
        await self._guard_job(generation, self._handle(generation, job, self.clock()))

    async def _fetch_batch(self, generations: list[Generation]) -> None:
        self.fetch_requests += 1
        try:
            async with asyncio.timeout(self.fetch_deadline):
                jobs = await self.api.fetch_many([g.api_id or "" for g in generations])
        except (VideoAPIError, TimeoutError) as error:
            self._fetch_failed(generations, error)
            return
        self._fetch_worked()
        now = self.clock()
        for generation in generations:
            await self._guard_job(generation, self._handle(generation, jobs.get(generation.api_id or ""), now))

    def _fetch_worked(self) -> None:
        self._failures_in_a_row = 0
        self._api_failures = 0

    def _fetch_failed(self, generations: list[Generation], error: Exception) -> None:
        """Only these jobs' answer failed (after the client's retries): look again later, without
        holding up the others. The job timeout ends a job that never recovers."""
        now = self.clock()
        what = "no answer within the fetch deadline" if isinstance(error, TimeoutError) else type(error).__name__
        for generation in generations:
            log.warning("generation %s: fetching it failed (%s); trying again later", generation.id, what)
            self._plan(generation, now)
        self._failures_in_a_row += 1
        serious = isinstance(error, (AuthenticationError, InsufficientCreditsError, RateLimitError))
        if serious or self._failures_in_a_row >= FAILURES_BEFORE_BACKOFF:
            self._api_trouble(error)

    async def _last_looks(self, generations: list[Generation]) -> None:
        for generation in generations:
            await self._guard_job(generation, self._last_look(generation))

    def _timed_out(self, generation: Generation, now: float) -> bool:
        return now - (generation.submitted_at or generation.requested_at) > self.job_timeout

    async def _last_look(self, generation: Generation) -> None:
        """The job timeout: one last fetch first, so a clip that did finish is posted and
        charged, and a job the provider still runs is refunded only with the member told so."""
        started = generation.submitted_at or generation.requested_at
        try:
            async with asyncio.timeout(self.fetch_deadline):
                job = await self.api.fetch(generation.api_id or "")
        except NotFoundError:
            job = None
        except (VideoAPIError, TimeoutError) as error:
            if self.clock() - started <= self.job_timeout * TIMEOUT_GRACE_FACTOR:
                log.warning("generation %s: timed out and the last look failed (%s); looking again later",
                            generation.id, type(error).__name__)
                self._plan(generation, self.clock())
                return
            await self._finish_job(generation, None, reason=(
                "The video service could not be reached for too long; the clip was given up and refunded."))
            return
        if job is not None and job.status.finished:
            await self._finish_job(generation, job)
            return
        minutes = self.job_timeout / 60
        if job is None:
            reason = "The video service lost track of this clip."
        else:
            reason = (f"The video service was still working on this clip after {minutes:,.0f} minutes, "
                      "so it was given up and refunded; it won't be posted.")
        await self._finish_job(generation, None, reason=reason)

    async def _guard_job(self, generation: Generation, work: Awaitable[None]) -> None:
        """One job's step; its failure is logged and never stops the others."""
        try:
            await work
        except Exception:
            log.exception("generation %s: handling the API's answer failed", generation.id)
            self._plan(generation, self.clock())

    def _api_trouble(self, error: Exception) -> None:
        self._api_failures += 1
        if isinstance(error, RateLimitError) and error.retry_after:
            delay = error.retry_after
        elif isinstance(error, (AuthenticationError, InsufficientCreditsError)):
            delay = 60.0
            log.error("video API refuses the bot's key (%s): moderators must check the API key and credits",
                      type(error).__name__)
        else:
            delay = min(API_BACKOFF_MAX, API_BACKOFF_BASE * 2 ** (self._api_failures - 1))
        delay *= random.uniform(1.0, 1.2)
        self._api_backoff_until = self.clock() + delay
        log.warning("video API trouble while polling (%s); next try in %.1fs", type(error).__name__, delay)

    # Server-side wait (luma-v2) -------------------------------------------------------

    async def _watch(self) -> None:
        """Hold one fetch open on the job due to finish first, so its end is seen the moment it
        happens; the fetch worker looks at the rest as usual."""
        while not self._stopping:
            try:
                pending = [g for g in await self.store.jobs_to_poll() if g.api_id]
                if not pending or self.clock() < self._api_backoff_until:
                    await self._sleep_or_wake(self.schedule.max_interval)
                    continue
                target = min(pending, key=lambda g: g.submitted_at or g.requested_at)
                asked_at = self.clock()
                job = await self.api.fetch(target.api_id or "", wait_for=JobStatus.COMPLETED)
                self.fetch_requests += 1
                if job.status.finished:
                    await self._handle(target, job, self.clock())
                    self._urgent = True
                    self.wake()
                elif self.clock() - asked_at < self.schedule.min_interval:
                    # The server did not hold the answer: never spin on it.
                    await asyncio.sleep(self.schedule.min_interval)
            except asyncio.CancelledError:
                raise
            except VideoAPIError as error:
                log.info("server-side wait failed (%s); the loop keeps polling", type(error).__name__)
                await asyncio.sleep(self.schedule.max_interval)
            except Exception:
                log.exception("server-side wait failed")
                await asyncio.sleep(self.schedule.max_interval)

    async def _sleep_or_wake(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._watch_wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
        self._watch_wake.clear()

    # Acting on an answer ----------------------------------------------------------------

    def _key(self, generation: Generation) -> OptionKey:
        key = self._keys.get(generation.id)
        if key is None:
            key = self._keys[generation.id] = option_key(generation.dialect or self.api.dialect.name,
                                                         generation.model, generation.options,
                                                         default_model=self.default_model)
        return key

    def _plan(self, generation: Generation, now: float) -> None:
        at = self.schedule.checked(generation.id, generation.submitted_at or generation.requested_at, now,
                                   self._key(generation))
        if at < self._loop_wakes_at:
            self._wake.set()  # the loop sleeps past this job's next look

    async def _handle(self, generation: Generation, job: VideoJob | None, now: float) -> None:
        started = generation.submitted_at or generation.requested_at
        if job is None:
            misses = self._not_found.get(generation.id, 0) + 1
            self._not_found[generation.id] = misses
            if misses >= MAX_NOT_FOUND:
                await self._finish_job(generation, None, reason="The video service lost track of this clip.")
            else:
                self._plan(generation, now)
            return
        self._not_found.pop(generation.id, None)
        if job.status.finished:
            # A duration is only known if the job was seen unfinished in this process, or was
            # sent by it (looked at right away); one that finished while the bot was down would
            # teach the schedule a downtime, not a clip's length.
            if self.schedule.tracking(generation.id) or started >= self._started_at:
                await self._learn(generation, now - started)
            await self._finish_job(generation, job)
            return
        if job.status is JobStatus.RUNNING and generation.status != "running":
            await self.store.mark_running(generation.id)
        self._plan(generation, now)
        try:
            await self.publisher.show_progress(generation, job)
        except Exception:
            log.exception("generation %s: progress update failed", generation.id)

    async def _learn(self, generation: Generation, seconds: float) -> None:
        if seconds <= 0:
            return
        key = self._key(generation)
        self.schedule.learn(seconds, key)
        try:
            await self.store.record_run_time(key.text(), seconds)
        except Exception:  # the schedule still has it; only a restart would forget it
            log.warning("could not keep the run time of generation %s", generation.id, exc_info=True)

    async def _finish_job(self, generation: Generation, job: VideoJob | None, reason: str | None = None) -> None:
        """Record the outcome (charge or refund, idempotent in the store), then hand it to the post worker."""
        self.schedule.forget(generation.id)
        self._not_found.pop(generation.id, None)
        self._keys.pop(generation.id, None)
        if job is not None and job.status is JobStatus.COMPLETED and job.video_url:
            await self.store.complete(generation.id, job.video_url, job.credits_used)
            log.info("generation %s completed (guild %s, user %s)", generation.id, generation.guild_id, generation.user_id)
            if job.credits_used is not None and job.credits_used > generation.tokens_reserved:
                # Charged in full (it is what the provider billed): the overrun shows in the report.
                log.warning("generation %s cost %s credits, %s more than the %s reserved", generation.id,
                            f"{job.credits_used:,}", f"{job.credits_used - generation.tokens_reserved:,}",
                            f"{generation.tokens_reserved:,}")
        else:
            if job is not None and job.status is JobStatus.COMPLETED:
                reason = "The video service finished without a video."
            reason = reason or (job.failure_reason if job else None) or "The video service could not make this clip."
            # A job the provider itself reports failed is billed nothing ("the hold is rolled back").
            billed_nothing = job is not None and job.status is JobStatus.FAILED
            await self.store.fail(generation.id, reason, provider_billed_nothing=billed_nothing)
            log.info("generation %s failed: %s", generation.id, reason)
        self.posts.submit(generation.id)
