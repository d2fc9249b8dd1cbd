"""The post worker: hands every finished clip to the publisher, on its own clock.

Fed by a queue (the fetch worker submits each clip the moment it finishes) and by the store
(everything finished and not posted, at start and every few seconds after, so nothing is
lost if a submit is). A post that fails is tried again with backoff, per clip, a bounded
number of times; then, or at once when Discord refuses the post itself (a 400), the clip is
marked undeliverable for moderators to see, and never retried silently for ever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Callable, Protocol

from bot.services.heartbeat import Heartbeat, finish_or_cancel
from storage import Generation, Store

log = logging.getLogger(__name__)

# Attempts per clip (in this process) before it is given up as undeliverable.
MAX_POST_ATTEMPTS = 6
# Backoff between attempts: this, doubling, up to the cap (2, 4, 8, 16, 32 s: about a minute in all).
POST_RETRY_BASE = 2.0
POST_RETRY_MAX = 300.0
# Posts in flight at once (discord.py waits out each channel's rate limit inside a send).
POST_CONCURRENCY = 4
# A failed post is logged as a warning (Discord hiccups happen); this many in a row is an error.
POST_FAILURES_BEFORE_ERROR = 3


class Undeliverable(Exception):
    """The post can never succeed as it is (Discord refused it): do not try again."""


class Publisher(Protocol):
    async def publish(self, generation: Generation) -> None:
        """Post a finished generation and record it as posted; raise Undeliverable for a post
        that can't succeed, anything else to be tried again later."""


class PostWorker:
    def __init__(self, store: Store, publisher: Publisher, *, heartbeat: Heartbeat | None = None,
                 rescan_seconds: float = 15.0, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.publisher = publisher
        self.heartbeat = heartbeat
        self.rescan_seconds = rescan_seconds
        self.clock = clock
        self._due: dict[int, float] = {}  # clip -> when to try it next
        self._failures: dict[int, int] = {}
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._gate = asyncio.Semaphore(POST_CONCURRENCY)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._scanned_at = float("-inf")

    def submit(self, generation_id: int) -> None:
        """A clip just finished: post it now (a clip waiting out a backoff keeps its wait)."""
        if generation_id not in self._failures:
            self._due[generation_id] = min(self._due.get(generation_id, float("inf")), self.clock())
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dreambot-post-worker")

    async def stop(self, grace: float) -> None:
        """Posts under way may finish (their store writes land); the rest wait for the next start."""
        self._stopping = True
        self._wake.set()
        # The loop first: a round under way may still start posts, which must be waited for too.
        await finish_or_cancel([self._task] if self._task else [], grace)
        await finish_or_cancel(list(self._tasks), grace)
        self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker itself must never die
                log.exception("post worker round failed")
            if self.heartbeat is not None:
                self.heartbeat.beat("post")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._sleep())
            except asyncio.TimeoutError:
                pass

    def _sleep(self) -> float:
        now = self.clock()
        waiting = [at for clip, at in self._due.items() if clip not in self._in_flight]
        until = min([*waiting, self._scanned_at + self.rescan_seconds])
        return max(0.02, min(self.rescan_seconds, until - now))

    async def _round(self) -> None:
        now = self.clock()
        if now - self._scanned_at >= self.rescan_seconds:
            self._scanned_at = now
            for generation in await self.store.jobs_to_post():
                self._due.setdefault(generation.id, now)
        for clip in sorted(c for c, at in self._due.items() if at <= now and c not in self._in_flight):
            if self._stopping:
                return
            self._in_flight.add(clip)
            task = asyncio.create_task(self._post(clip), name=f"dreambot-post-{clip}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, clip: int) -> None:
        try:
            async with self._gate:
                if self._stopping:
                    return  # still due: posted at the next start
                generation = await self.store.get(clip)
                if generation is None or generation.posted_at is not None or generation.undeliverable_at is not None:
                    self._forget(clip)
                    return
                try:
                    await self.publisher.publish(generation)
                except Undeliverable as refusal:
                    await self._give_up(generation, str(refusal))
                    return
                except Exception as error:
                    await self._failed(generation, error)
                    return
                self._forget(clip)
        except Exception:
            # The store itself failed (reading or giving up): try again at the next rescan.
            log.exception("clip %s: posting could not be handled", clip)
            self._due.pop(clip, None)
        finally:
            self._in_flight.discard(clip)
            self._wake.set()

    async def _failed(self, generation: Generation, error: Exception) -> None:
        failures = self._failures.get(generation.id, 0) + 1
        self._failures[generation.id] = failures
        what = _describe(error)
        if failures >= MAX_POST_ATTEMPTS:
            await self._give_up(generation, f"gave up after {failures} attempts; the last one: {what}")
            return
        delay = min(POST_RETRY_MAX, POST_RETRY_BASE * 2 ** (failures - 1)) * random.uniform(1.0, 1.2)
        self._due[generation.id] = self.clock() + delay
        level = logging.ERROR if failures >= POST_FAILURES_BEFORE_ERROR else logging.WARNING
        log.log(level, "clip %s: posting failed (attempt %d of %d: %s); trying again in %.1fs", generation.id,
                failures, MAX_POST_ATTEMPTS, what, delay, exc_info=level == logging.ERROR)

    async def _give_up(self, generation: Generation, reason: str) -> None:
        await self.store.mark_undeliverable(generation.id, reason)
        self._forget(generation.id)
        log.error("clip %s could not be posted and is now undeliverable (guild %s, user %s): %s", generation.id,
                  generation.guild_id, generation.user_id, reason)

    def _forget(self, clip: int) -> None:
        self._due.pop(clip, None)
        self._failures.pop(clip, None)


def _describe(error: Exception) -> str:
    """The failure in a few words for logs and moderators (no bodies, no URLs: they may carry tokens)."""
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    if status:
        return f"HTTP {status}" + (f", code {code}" if code else "")
    return type(error).__name__
