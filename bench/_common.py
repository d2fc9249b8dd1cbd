"""Small helpers shared by the benchmarks (not a benchmark itself)."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from collections.abc import Sequence


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (the same rule as bench_store): q=0.99 is p99."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def vm_rss_kib() -> int:
    """Resident set size of this process, from /proc/self/status (KiB)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def quiet_logs() -> None:
    """Benchmarks print figures, not the bot's INFO lines; warnings and errors still show."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # discord.py warns at every login that voice libraries are missing: noise here.
    logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT be supported" not in record.getMessage())


class LoopLag:
    """Measures how late the event loop wakes a 10 ms sleeper: a saturated loop inflates every figure."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self.period)
            self.lags.append(time.monotonic() - started - self.period)

    def start(self) -> LoopLag:
        self.lags.clear()
        self._task = asyncio.create_task(self._run(), name="bench-loop-lag")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def summary(self) -> str:
        if not self.lags:
            return "loop lag: no samples"
        ms = [x * 1000 for x in self.lags]
        return f"event-loop lag p50 {median(ms):.1f} ms, p99 {quantile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms"


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    times = os.times()
    return times.user + times.system
