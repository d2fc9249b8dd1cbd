"""The background loop that follows every pending generation and hands finished ones on.

It reads its work from the store, never from memory, so a restart resumes where the last
process stopped. It does not know how results are shown: a `Publisher` does that.
Every job is handled inside its own try/except so that one bad answer never stops the loop
(the trap `tasks.loop` sets: an unexpected exception there ends the loop for good).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
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
from bot.services.schedule import PollSchedule
from storage import Generation, Store

log = logging.getLogger(__name__)

# A job the API cannot find this many times in a row is given up and refunded.
MAX_NOT_FOUND = 3
# Publishing that failed is tried again after this many seconds, doubling, up to the cap.
PUBLISH_RETRY_BASE = 2.0
PUBLISH_RETRY_MAX = 300.0
# On shutdown, how long the current step may take to finish before it is cancelled.
STOP_GRACE_SECONDS = 5.0
# Backoff after the API as a whole misbehaves.
API_BACKOFF_BASE = 2.0
API_BACKOFF_MAX = 120.0
# Past the job timeout, a job whose last look failed is given this much longer (in job
# timeouts) to answer before it is refunded unseen.
TIMEOUT_GRACE_FACTOR = 2.0
# A failed post is logged as a warning (Discord hiccups happen); this many in a row is an error.
PUBLISH_FAILURES_BEFORE_ERROR = 5
# Jobs fetched at once where the dialect has no batch endpoint (as the API client does).
FETCH_CONCURRENCY = 8


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
        clock: Callable[[], float] = time.time,
        heartbeat_path: Path | None = None,
    ) -> None:
        self.store = store
        self.api = api
        self.publisher = publisher
        self.schedule = schedule or PollSchedule()
        self.job_timeout = job_timeout
        self.clock = clock
        self.heartbeat_path = heartbeat_path
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watch_wake = asyncio.Event()
        self._stopping = False
        self._not_found: dict[int, int] = {}
        self._publish_retry_at: dict[int, tuple[float, float]] = {}
        self._publishing: set[int] = set()
        self._api_backoff_until = 0.0
        self._api_failures = 0
        self._publish_failures: dict[int, int] = {}
        # Jobs finished while the bot was down must not teach the schedule a downtime.
        self._started_at = clock()
        self.fetch_requests = 0  # counted for the benchmarks

    # Lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dreambot-poller")
        if self.api.capabilities.server_wait and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.create_task(self._watch(), name="dreambot-poller-watch")

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let the current step finish (its store writes land), then stop; pending jobs stay
        pending in the store and resume at the next start."""
        self._stopping = True
        self._wake.set()
        for task in (self._watcher, self._task):
            if task is None:
                continue
            if task is self._watcher:
                task.cancel()  # only a read is in flight: nothing to finish
            try:
                await asyncio.wait_for(task, timeout=grace)
            except (asyncio.CancelledError, asyncio.TimeoutError):
                pass
        self._task = self._watcher = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """A new job was submitted: look at the queue now rather than at the next tick."""
        self._wake.set()
        self._watch_wake.set()

    async def _watch(self) -> None:
        """Server-side wait (luma-v2): hold one fetch open on the job due to finish first, so its
        end is seen the moment it happens, and look at the rest right away too."""
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

    async def _run(self) -> None:
        while not self._stopping:
            delay = self.schedule.max_interval
            # Cleared before the cycle, so a wake() that arrives while it runs starts the next one at once.
            self._wake.clear()
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop itself must never die
                log.exception("poller cycle failed")
            self._beat()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, delay))
            except asyncio.TimeoutError:
                pass

    def _beat(self) -> None:
        if self.heartbeat_path is not None:
            try:
                self.heartbeat_path.parent.mkdir(parents=True, exist_ok=True)
                self.heartbeat_path.write_text(f"{self.clock():.0f}\n")
            except OSError:
                log.warning("could not write the heartbeat file %s", self.heartbeat_path)

    # One cycle ------------------------------------------------------------------

    async def run_once(self) -> float:
        """Poll what is due, publish what is finished; return seconds until the next look."""
        now = self.clock()
        if now >= self._api_backoff_until:
            await self._poll(now)
        await self._publish_finished()
        wait = self.schedule.next_due(self.clock())
        if now < self._api_backoff_until:
            wait = min(wait if wait is not None else self.schedule.max_interval, self._api_backoff_until - now)
        if wait is None:
            return self.schedule.max_interval
        return wait

    async def _poll(self, now: float) -> None:
        pending = await self.store.jobs_to_poll()
        self.schedule.keep_only({g.id for g in pending})
        due = [g for g in pending if self.schedule.is_due(g.id, now)]
        if not due:
            return
        for generation in [g for g in due if self._timed_out(g, now)]:
            await self._guard_job(generation, self._last_look(generation), reschedule_at=now)
        due = [g for g in due if not self._timed_out(g, now)]
        if not due:
            return
        batch = self.api.capabilities.batch_fetch
        # A batch request costs the same for one id or fifty: take along the jobs due soon,
        # but not every pending one (that would re-plan jobs that are nowhere near done).
        soon = now + self.schedule.min_interval
        targets = [g for g in pending if self.schedule.is_due(g.id, soon)] if batch else due
        try:
            jobs, errors = await self._fetch(targets)
        except VideoAPIError as error:
            self._api_trouble(error)
            return
        now = self.clock()
        asked = [g for g in targets if g.api_id]
        serious = next((e for e in errors.values()
                        if isinstance(e, (AuthenticationError, InsufficientCreditsError, RateLimitError))), None)
        if serious is not None or (errors and len(errors) >= len(asked)):
            # The API as a whole is in trouble: back off, but still act on what did come back.
            self._api_trouble(serious or next(iter(errors.values())))
        else:
            self._api_failures = 0
        for generation in targets:
            if generation.id in errors:
                # Only this job's answer failed (after the client's retries): look again later,
                # without holding up the others. The job timeout ends it if it never recovers.
                log.warning("generation %s: fetching it failed (%s); trying again later", generation.id,
                            type(errors[generation.id]).__name__)
                self.schedule.checked(generation.id, generation.submitted_at or now, now)
                continue
            await self._guard_job(generation, self._handle(generation, jobs.get(generation.api_id or ""), now),
                                  reschedule_at=now)

    def _timed_out(self, generation: Generation, now: float) -> bool:
        return now - (generation.submitted_at or generation.requested_at) > self.job_timeout

    async def _last_look(self, generation: Generation) -> None:
        """The job timeout: one last fetch first, so a clip that did finish is posted and
        charged, and a job the provider still runs is refunded only with the member told so."""
        started = generation.submitted_at or generation.requested_at
        try:
            job = await self.api.fetch(generation.api_id or "")
        except NotFoundError:
            job = None
        except VideoAPIError as error:
            if self.clock() - started <= self.job_timeout * TIMEOUT_GRACE_FACTOR:
                log.warning("generation %s: timed out and the last look failed (%s); looking again later",
                            generation.id, type(error).__name__)
                self.schedule.checked(generation.id, started, self.clock())
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

    async def _guard_job(self, generation: Generation, coro, *, reschedule_at: float | None = None) -> None:
        """One job's step; its failure is logged and never stops the others."""
        try:
            await coro
        except Exception:
            log.exception("generation %s: handling the API's answer failed", generation.id)
            if reschedule_at is not None:
                self.schedule.checked(generation.id, generation.submitted_at or reschedule_at, reschedule_at)

    async def _fetch(self, generations: list[Generation]) -> tuple[dict[str, VideoJob], dict[int, VideoAPIError]]:
        """The API's view of these jobs (missing ids are left out), and the jobs whose fetch failed.

        A batch dialect answers for all at once (an error there raises). Otherwise each job is
        fetched on its own, so one job the API keeps failing on cannot stall the rest."""
        with_ids = [g for g in generations if g.api_id]
        ids = [g.api_id for g in with_ids]
        if self.api.capabilities.batch_fetch:
            self.fetch_requests += -(-len(ids) // 50)
            return await self.api.fetch_many(ids), {}
        self.fetch_requests += len(ids)
        found: dict[str, VideoJob] = {}
        errors: dict[int, VideoAPIError] = {}
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def one(generation: Generation) -> None:
            async with gate:
                try:
                    job = await self.api.fetch(generation.api_id or "")
                except NotFoundError:
                    return
                except VideoAPIError as error:
                    errors[generation.id] = error
                    return
                found[generation.api_id or ""] = job
                if job.id != generation.api_id:
                    found.setdefault(job.id, job)

        await asyncio.gather(*(one(g) for g in with_ids))
        return found, errors

    def _api_trouble(self, error: VideoAPIError) -> None:
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

    async def _handle(self, generation: Generation, job: VideoJob | None, now: float) -> None:
        started = generation.submitted_at or generation.requested_at
        if job is None:
            misses = self._not_found.get(generation.id, 0) + 1
            self._not_found[generation.id] = misses
            if misses >= MAX_NOT_FOUND:
                await self._finish_job(generation, None, reason="The video service lost track of this clip.")
            else:
                self.schedule.checked(generation.id, started, now)
            return
        self._not_found.pop(generation.id, None)
        if job.status.finished:
            # A duration is only known if the job was seen unfinished in this process, or was
            # sent by it (looked at right away); one that finished while the bot was down would
            # teach the schedule a downtime, not a clip's length.
            if self.schedule.tracking(generation.id) or started >= self._started_at:
                self.schedule.learn(now - started)
            await self._finish_job(generation, job)
            return
        if job.status is JobStatus.RUNNING and generation.status != "running":
            await self.store.mark_running(generation.id)
        self.schedule.checked(generation.id, started, now)
        try:
            await self.publisher.show_progress(generation, job)
        except Exception:
            log.exception("generation %s: progress update failed", generation.id)

    async def _finish_job(self, generation: Generation, job: VideoJob | None, reason: str | None = None) -> None:
        """Record the outcome (charge or refund, idempotent in the store); posting follows."""
        self.schedule.forget(generation.id)
        self._not_found.pop(generation.id, None)
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

    async def _publish_finished(self) -> None:
        now = self.clock()
        for generation in await self.store.jobs_to_post():
            retry_at, _ = self._publish_retry_at.get(generation.id, (0.0, 0.0))
            if retry_at > now or generation.id in self._publishing:
                continue
            self._publishing.add(generation.id)
            try:
                await self.publisher.publish(generation)
                self._publish_retry_at.pop(generation.id, None)
                self._publish_failures.pop(generation.id, None)
            except Exception:
                _, last = self._publish_retry_at.get(generation.id, (0.0, 0.0))
                delay = min(PUBLISH_RETRY_MAX, max(PUBLISH_RETRY_BASE, last * 2))
                self._publish_retry_at[generation.id] = (now + delay, delay)
                failures = self._publish_failures.get(generation.id, 0) + 1
                self._publish_failures[generation.id] = failures
                # A Discord hiccup (429, 5xx) is routine and retried; only a post that keeps failing is an error.
                level = logging.ERROR if failures >= PUBLISH_FAILURES_BEFORE_ERROR else logging.WARNING
                log.log(level, "generation %s: posting failed (attempt %d); retrying in %.1fs", generation.id,
                        failures, delay, exc_info=True)
            finally:
                self._publishing.discard(generation.id)
