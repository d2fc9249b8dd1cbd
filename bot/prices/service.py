"""PriceService: where the bot's prices come from, and keeping them current.

The order of trust: the catalogue (`GET /v1/models?include=pricing`, re-read with
If-None-Match every few hours), then the last catalogue answer cached in the store's meta
table (so a restart without network still quotes today's prices), then the bundled
price file. A catalogue failure never takes prices away; it only makes them stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.api.client import CatalogueAnswer  # the one shape the API client answers with

from .book import PriceBook, Quote

log = logging.getLogger(__name__)

# The store meta key holding the cached catalogue answer.
CACHE_KEY = "price_book"
# The refresh loop sleeps refresh_seconds × (1 ± JITTER).
JITTER = 0.10
# How long stop() lets a refresh in flight finish before cancelling it.
STOP_GRACE_SECONDS = 2.0
# At start-up the bot waits at most this long for the catalogue before logging in.
START_REFRESH_SECONDS = 15.0
# A failed read is retried after this long, not after the full refresh interval.
RETRY_AFTER_FAILURE_SECONDS = 600.0

Clock = Callable[[], float]


class CatalogueSource(Protocol):
    async def models_catalogue(self, ids: Sequence[str], etag: str | None) -> CatalogueAnswer:
        """GET /v1/models?id=…&include=pricing, with If-None-Match: etag when given.
        Raises any Exception on failure."""
        ...


class MetaStore(Protocol):
    async def get_meta(self, key: str) -> str | None: ...
    async def set_meta(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class PriceStatus:
    source: Literal["catalogue", "cache", "file", "none"]
    checked_at: float | None         # the last answer from the catalogue (200 or 304)
    stale: bool
    etag: str | None
    fetched_at: float | None = None  # the last 200: when the book itself was read


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a time is {value!r}")
    return float(value)


class PriceService:
    def __init__(
        self,
        store: MetaStore,
        source: CatalogueSource,
        *,
        model_ids: Sequence[str],
        refresh_seconds: float = 6 * 3600,
        stale_seconds: float = 24 * 3600,
        fallback: PriceBook | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._store = store
        self._source = source
        self._model_ids = list(dict.fromkeys(model_ids))
        self._refresh_seconds = refresh_seconds
        self._stale_seconds = stale_seconds
        self._fallback = fallback.with_source("file") if fallback is not None else None
        self._clock = clock
        self._book: PriceBook | None = None
        self._etag: str | None = None
        self._fetched_at: float | None = None
        self._checked_at: float | None = None
        self._stale_warned = False
        self._last_ok = False  # whether the last read of the catalogue succeeded
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    # Start-up --------------------------------------------------------------------------

    async def load(self) -> None:
        """The cached book first, then one refresh. A catalogue failure is one warning, and a
        slow catalogue never holds up start-up longer than START_REFRESH_SECONDS (the loop retries)."""
        await self._load_cache()
        try:
            await asyncio.wait_for(self.refresh(), START_REFRESH_SECONDS)
        except asyncio.TimeoutError:
            log.warning("The model catalogue did not answer within %.0f s; starting with %s prices",
                        START_REFRESH_SECONDS, self._describe_source())

    async def _load_cache(self) -> None:
        raw = await self._store.get_meta(CACHE_KEY)
        if raw is None:
            return
        try:
            cached = json.loads(raw)
            if not isinstance(cached, dict):
                raise ValueError("not an object")
            book = PriceBook.from_json(cached["book"], source="cache")
            etag = cached.get("etag")
            if etag is not None and not isinstance(etag, str):
                raise ValueError(f"etag is {etag!r}")
            fetched_at, checked_at = _time(cached.get("fetched_at")), _time(cached.get("checked_at"))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("Ignoring the cached price book in the store (%s: %s)", type(exc).__name__, exc)
            return
        self._book, self._fetched_at, self._checked_at = book, fetched_at, checked_at
        # The ETag belongs to one query: asked for other models, it would confirm the wrong book.
        self._etag = etag if cached.get("model_ids") == sorted(self._model_ids) else None
        log.info("Loaded %d cached model prices (checked %s)", len(book), _ago(checked_at, self._clock()))

    # Refreshing ------------------------------------------------------------------------

    async def refresh(self) -> bool:
        """Ask the catalogue, sending the cached ETag. True when it answered (200 or 304)."""
        async with self._lock:
            try:
                self._last_ok = await self._refresh()
                return self._last_ok
            finally:
                self._note_staleness()

    async def _refresh(self) -> bool:
        etag = self._etag if self._book is not None else None
        try:
            answer = await self._source.models_catalogue(list(self._model_ids), etag)
            if answer.status == 304 and self._book is None:
                raise ValueError("304 Not Modified, but there is no cached book it refers to")
            if answer.status == 200:
                book = PriceBook.from_catalogue(answer.data, source="catalogue")  # type: ignore[arg-type]
            elif answer.status != 304:
                raise ValueError(f"unexpected status {answer.status}")
        except Exception as exc:  # noqa: BLE001 - any failure of the catalogue leaves the book as it was
            self._failed(exc)
            return False

        now = self._clock()
        if answer.status == 304:
            assert self._book is not None
            self._book = self._book.with_source("catalogue")     # confirmed current
            log.debug("Prices unchanged (304, ETag %s)", etag)
        else:
            self._log_changes(self._book, book)
            self._book, self._fetched_at = book, now
        self._checked_at = now
        self._etag = answer.etag or (self._etag if answer.status == 304 else None)
        await self._save()
        return True

    def _failed(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if self.stale and self._stale_warned:
            # Already said the prices are stale; do not repeat it every cycle.
            log.info("Still cannot refresh prices from the catalogue (%s)", reason)
            return
        if self.stale:
            self._stale_warned = True
            log.warning("Cannot refresh prices from the catalogue (%s); prices are stale, quoting from %s",
                        reason, self._describe_source())
        else:
            log.warning("Cannot refresh prices from the catalogue (%s); keeping the prices checked %s",
                        reason, _ago(self._checked_at, self._clock()))

    def _note_staleness(self) -> None:
        if self.stale and not self._stale_warned:
            self._stale_warned = True
            log.warning("Prices are stale: no answer from the catalogue since %s; quoting from %s",
                        _ago(self._checked_at, self._clock()), self._describe_source())
        elif not self.stale and self._stale_warned:
            self._stale_warned = False
            log.info("Prices are current again (checked with the catalogue just now)")

    def _log_changes(self, old: PriceBook | None, new: PriceBook) -> None:
        missing = [m for m in self._model_ids if not new.has_pricing(m)]
        if missing:
            log.warning("The catalogue has no readable price for %s; the price file will be used for them",
                        ", ".join(missing))
        if old is None:
            log.info("Read prices for %d models from the catalogue", len(new))
            return
        changes = new.changes_from(old)
        if changes:
            log.info("Prices changed in the catalogue: %s", "; ".join(changes))
        else:
            log.debug("The catalogue changed (new ETag), its prices did not")

    async def _save(self) -> None:
        assert self._book is not None
        value = json.dumps({
            "etag": self._etag,
            "fetched_at": self._fetched_at,
            "checked_at": self._checked_at,
            "model_ids": sorted(self._model_ids),
            "book": self._book.to_json(),
        }, separators=(",", ":"))
        try:
            await self._store.set_meta(CACHE_KEY, value)
        except Exception as exc:  # noqa: BLE001 - the prices in memory are still good
            log.warning("Could not save the price book to the store (%s: %s)", type(exc).__name__, exc)

    # Answers ---------------------------------------------------------------------------

    def quote(self, model_id: str, params: Mapping[str, Any]) -> Quote | None:
        """The live or cached book's price; the fallback file for a model that book has no
        readable pricing for (unknown, no block, a malformed block). A price the catalogue
        calls variable, or has no variant for, stays None: the file's older rate is not a
        better answer than the catalogue's own."""
        if self._book is not None and self._book.has_pricing(model_id):
            return self._book.quote(model_id, params)
        if self._fallback is not None:
            return self._fallback.quote(model_id, params)
        return None

    @property
    def stale(self) -> bool:
        """No answer from the catalogue within stale_seconds (a book only from the file is stale)."""
        if self._book is None or self._checked_at is None:
            return True
        return self._clock() - self._checked_at > self._stale_seconds

    def status(self) -> PriceStatus:
        return PriceStatus(source=self._describe_source(), checked_at=self._checked_at, stale=self.stale,
                           etag=self._etag, fetched_at=self._fetched_at)

    def _describe_source(self) -> Literal["catalogue", "cache", "file", "none"]:
        if self._book is not None:
            return self._book.source  # type: ignore[return-value]
        return "file" if self._fallback is not None else "none"

    @property
    def book(self) -> PriceBook | None:
        """The live or cached book (None when only the fallback file is known)."""
        return self._book

    # The background loop ---------------------------------------------------------------

    def start(self) -> None:
        """Refresh every refresh_seconds (± 10 %) until stop(). Call from a running loop."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="price-refresh")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _next_delay(self) -> float:
        # After a failed read, look again soon rather than hours later with old prices.
        base = self._refresh_seconds if self._last_ok else min(self._refresh_seconds, RETRY_AFTER_FAILURE_SECONDS)
        return base * random.uniform(1 - JITTER, 1 + JITTER)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._next_delay())
                return
            except TimeoutError:
                pass
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - the loop outlives any one bad refresh
                log.exception("The price refresh failed unexpectedly; trying again later")


def _ago(at: float | None, now: float) -> str:
    if at is None:
        return "never"
    seconds = max(0.0, now - at)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"
