"""When to look at a job next: learn how long clips take, look just before they are due.

A fixed interval either hammers the API (short) or posts late (long). Clips of one model
take a similar time, so after the first few we check once near the expected finish and
then briefly, quickly, backing off again the longer a job overruns.

The backoff depends on how far a job overruns, never on how often it was looked at: a
batch dialect looks at many jobs in one request, and counting looks would push every job
back a step each time any one of them came due.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class PollSchedule:
    min_interval: float = 1.0
    max_interval: float = 15.0
    default_interval: float = 5.0
    # Look first at this fraction of the shortest recent durations, so a fast clip is not missed.
    lead: float = 0.9
    # Seconds of extra wait per second a job runs past its edge.
    overrun_backoff: float = 0.25
    # A batch request answers for every job at once, so looking every min_interval is cheap
    # across the whole usual range of durations; per-job dialects pay for each look.
    batch: bool = False
    _durations: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    _next: dict[int, float] = field(default_factory=dict)

    def learn(self, duration: float) -> None:
        if duration > 0:
            self._durations.append(duration)

    def _quantile(self, q: float) -> float | None:
        if len(self._durations) < 3:
            return None
        ordered = sorted(self._durations)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    @property
    def expected(self) -> float | None:
        """A low quantile of recent durations: early enough for most clips."""
        return self._quantile(0.2)

    def tracking(self, job_id: int) -> bool:
        """Whether the job was seen unfinished (and has a next look planned)."""
        return job_id in self._next

    def is_due(self, job_id: int, now: float) -> bool:
        return self._next.get(job_id, 0.0) <= now

    def next_due(self, now: float) -> float | None:
        """Seconds until the earliest scheduled check, or None if nothing is scheduled."""
        return max(0.0, min(self._next.values()) - now) if self._next else None

    def checked(self, job_id: int, started_at: float, now: float) -> None:
        """Plan the next look at a job that is not finished yet."""
        expected = self.expected
        age = now - started_at
        if expected is None:
            delay = self.default_interval
        elif age < expected * self.lead:
            delay = max(self.min_interval, expected * self.lead - age)
        else:
            edge = (self._quantile(0.95) or expected) if self.batch else expected * self.lead
            delay = self.min_interval + self.overrun_backoff * max(0.0, age - edge)
        self._next[job_id] = now + min(self.max_interval, delay)

    def forget(self, job_id: int) -> None:
        self._next.pop(job_id, None)

    def keep_only(self, job_ids: set[int]) -> None:
        for job_id in [j for j in self._next if j not in job_ids]:
            self.forget(job_id)
