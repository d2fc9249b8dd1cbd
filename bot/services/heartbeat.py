"""The heartbeat file: one timestamp per background worker, so the health check sees each.

A worker that hangs stops its own beat while the others go on; the file's mtime alone would
hide that. The file holds JSON (`{"fetch": 1733…, "post": 1733…}`), replaced atomically.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

WORKERS = ("fetch", "post")


class Heartbeat:
    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._beats: dict[str, float] = {}
        self._warned = False

    def beat(self, worker: str) -> None:
        self._beats[worker] = self.clock()
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_name(self.path.name + ".tmp")
            scratch.write_text(json.dumps({name: round(at, 1) for name, at in self._beats.items()}) + "\n")
            os.replace(scratch, self.path)
        except OSError:
            if not self._warned:  # once: a full disk must not flood the log every second
                log.warning("could not write the heartbeat file %s", self.path)
                self._warned = True


async def finish_or_cancel(tasks: list[asyncio.Task[Any]], grace: float) -> None:
    """Let a worker's tasks finish within `grace` (their store writes land), cancel the rest."""
    if not tasks:
        return
    _, running = await asyncio.wait(tasks, timeout=grace)
    for task in running:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def ages(path: Path, now: float) -> dict[str, float]:
    """Seconds since each worker's beat. A file of another shape counts by its mtime for all."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        beats = json.loads(text)
    except ValueError:
        beats = None
    if not isinstance(beats, dict):
        age = now - path.stat().st_mtime
        return {worker: age for worker in WORKERS}
    found: dict[str, float] = {}
    for worker in WORKERS:
        at = beats.get(worker)
        # A worker that never beat yet is as old as the file.
        found[worker] = now - float(at) if isinstance(at, (int, float)) else now - path.stat().st_mtime
    return found
