"""Finding creates whose answer was lost, in the provider's own request logs.

A create that timed out, got a 5xx after it was sent, lost its connection or came back
unreadable may still have made (and billed) a clip; so may one whose process died before
recording the clip's id. Such a generation keeps its reserve and is looked up in
`GET /v2/logs` by the X-Client-Request-Id it was sent with:

* found and accepted: the provider's id is recorded and the poller takes over (poll, post,
  charge what it really cost), exactly as if the answer had arrived;
* found and failed: the provider billed nothing; refunded, and the member is told;
* not found within `give_up_after`: refunded, and the member is told.

The same scan fills in the provider's side of the books for finished clips whose answer
carried no cost. Every call to the logs goes through one limiter (the API allows 200 a minute).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta, timezone
from typing import Protocol

from aiolimiter import AsyncLimiter

from bot.api import VideoAPI, VideoAPIError
from bot.api.catalog import find_model
from bot.api.client import LogRow
from storage import Generation, Store

log = logging.getLogger(__name__)

# Rows are looked for this long either side of the request (clock skew, pipeline lag).
WINDOW_MARGIN = timedelta(minutes=10)
# The logs answer at most 92 days at once.
MAX_WINDOW = timedelta(days=91)
# Pages read per pass, so one pass never spends the whole minute's allowance.
MAX_PAGES_PER_PASS = 20
# Finished clips whose cost is looked up per pass, how recent they must be, and how often:
# a provider that never reports a cost must not cost a scan every pass for ever.
BACKFILL_BATCH = 50
BACKFILL_MAX_AGE = 24 * 3600.0
BACKFILL_INTERVAL = 600.0


class Notifier(Protocol):
    async def show_abandoned(self, generation: Generation) -> None:
        """Tell the member a clip that never reached the provider was refunded."""


class Reconciler:
    def __init__(
        self,
        store: Store,
        api: VideoAPI,
        notifier: Notifier,
        *,
        give_up_after: float = 1800.0,
        stale_after: float = 120.0,
        interval: float = 20.0,
        requests_per_minute: int = 100,
        in_flight: Callable[[], Collection[int]] = frozenset,
        on_found: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.api = api
        self.notifier = notifier
        self.give_up_after = give_up_after
        self.stale_after = stale_after
        self.interval = interval
        self.limiter = AsyncLimiter(max(1, min(requests_per_minute, 200)), 60)
        self.in_flight = in_flight
        self.on_found = on_found
        self.clock = clock
        self._next_backfill = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.log_requests = 0  # counted for tests and benchmarks

    # Lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dreambot-reconciler")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def wake(self) -> None:
        """A create just went into doubt: look now rather than at the next tick."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must never die
                log.exception("reconciliation pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except asyncio.TimeoutError:
                pass

    # One pass -------------------------------------------------------------------

    async def run_once(self) -> None:
        now = self.clock()
        # A row this process is still sending is its sender's; one marked in doubt, or left
        # unmarked longer than any create can take (a process died, or its write failed), is ours.
        busy = set(self.in_flight())
        unsent = [g for g in await self.store.unsent(older_than=now - self.stale_after) if g.id not in busy]
        if unsent:
            await self._look_up_unsent(unsent, now)
        if now >= self._next_backfill:
            self._next_backfill = now + BACKFILL_INTERVAL
            unknown = [g for g in await self.store.provider_unknown(self.api.dialect.name, BACKFILL_BATCH)
                       if (g.completed_at or 0.0) >= now - BACKFILL_MAX_AGE]
            if unknown:
                await self._backfill(unknown)

    async def _look_up_unsent(self, unsent: list[Generation], now: float) -> None:
        wanted = {g.client_request_id: g for g in unsent if g.client_request_id}
        try:
            found = await self._scan(wanted, [g.requested_at for g in unsent], now, _models(self.api, unsent))
        except VideoAPIError as error:
            # Not knowing is not "not found": nothing is refunded while the logs can't be read.
            log.warning("could not read the provider's logs (%s); %d request(s) stay in doubt",
                        type(error).__name__, len(unsent))
            return
        for generation in unsent:
            row = found.get(generation.client_request_id or "")
            try:
                if row is not None:
                    await self._settle_found(generation, row)
                elif now - (generation.in_doubt_since or generation.requested_at) >= self.give_up_after:
                    await self._give_up(generation)
            except Exception:
                log.exception("generation %s: reconciling it failed", generation.id)

    async def _settle_found(self, generation: Generation, row: LogRow) -> None:
        if row.status == "succeeded" and row.inference_id:
            if await self.store.mark_submitted(generation.id, row.inference_id):
                log.warning("generation %s: the lost create answer was found in the provider's logs (%s); "
                            "following it", generation.id, row.inference_id)
                if self.on_found is not None:
                    self.on_found()
            return
        if await self.store.reject(generation.id, "The video service refused this request.",
                                   provider_billed_nothing=True):
            log.warning("generation %s: the provider's logs show the create failed; refunded", generation.id)
            await self._tell(generation.id)

    async def _give_up(self, generation: Generation) -> None:
        reason = "The video service has no record of this request; it was refunded."
        if await self.store.reject(generation.id, reason, provider_billed_nothing=True):
            log.warning("generation %s: not in the provider's logs after %.0f s; refunded",
                        generation.id, self.give_up_after)
            await self._tell(generation.id)

    async def _tell(self, generation_id: int) -> None:
        refreshed = await self.store.get(generation_id)
        if refreshed is None:
            return
        try:
            await self.notifier.show_abandoned(refreshed)
        except Exception:
            log.exception("generation %s: could not tell the member about the refund", generation_id)

    async def _backfill(self, generations: list[Generation]) -> None:
        """The provider's bill for finished clips whose answer carried no cost."""
        wanted = {g.client_request_id: g for g in generations if g.client_request_id}
        try:
            found = await self._scan(wanted, [g.requested_at for g in generations], self.clock(),
                                     _models(self.api, generations))
        except VideoAPIError as error:
            log.info("could not read the provider's logs for costs (%s)", type(error).__name__)
            return
        for client_id, row in found.items():
            if row.credits > 0:
                await self.store.set_provider_credits(wanted[client_id].id, row.credits, source="logs")

    async def _scan(self, wanted: dict[str | None, Generation], times: Iterable[float], now: float,
                    models: list[str]) -> dict[str, LogRow]:
        """Page through the window around `times` (when the creates were sent) until every wanted
        client id is found, or the logs end, or this pass's page budget is spent. The window ends
        in the past where it can, so rows arriving meanwhile don't shift the pages."""
        found: dict[str, LogRow] = {}
        if not wanted:
            return found
        moments = list(times)
        end = min(datetime.fromtimestamp(max(moments), timezone.utc) + WINDOW_MARGIN,
                  datetime.fromtimestamp(now, timezone.utc) + WINDOW_MARGIN)
        start = max(datetime.fromtimestamp(min(moments), timezone.utc) - WINDOW_MARGIN, end - MAX_WINDOW)
        offset = 0
        for _ in range(MAX_PAGES_PER_PASS):
            async with self.limiter:
                self.log_requests += 1
                page = await self.api.logs(start, end, models=models, offset=offset)
            for row in page.rows:
                # A create's row carries our id; its polls share the inference id but carry none.
                if row.client_request_id in wanted and row.client_request_id not in found:
                    found[row.client_request_id] = row
            if len(found) == len(wanted) or not page.has_more or not page.rows:
                break
            offset += len(page.rows)
        return found


def _models(api: VideoAPI, generations: list[Generation]) -> list[str]:
    """The logs' model filter: the provider's names of these clips' models (none = every row).
    Only unified names are the logs' `source/alias` form; the older families are not filtered."""
    if api.dialect.name != "unified":
        return []
    names = set()
    for generation in generations:
        spec = find_model(api.dialect.name, generation.model or api.default_model)
        if spec is None:
            return []
        names.add(spec.api_name)
    return sorted(names)
