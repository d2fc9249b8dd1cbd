"""When to look at a job next: learn how long clips take per option, look just before they are due.

A fixed interval either hammers the API (short) or posts late (long). Clips of one option
(dialect, model, resolution, length, type) take a similar time, while a 540p 5 s flash clip
and a 1080p 10 s ray-3.2 clip differ several-fold, so run times are learned per option.
After the first few we check once near the expected finish and then briefly, quickly,
backing off again the longer a job overruns.

An option never seen borrows from its neighbours: the same model's other options scaled by
clip length, then the whole dialect's clips scaled the same way; with nothing learned at all
the default interval applies.

The backoff depends on how far a job overruns, never on how often it was looked at: a
batch dialect looks at many jobs in one request, and counting looks would push every job
back a step each time any one of them came due.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.api import VideoOptions
from bot.api.catalog import effective_params, find_model, request_model

# Run times kept per option (in memory and in the store).
SAMPLES_PER_OPTION = 64
# Fewer samples than this and the option borrows from its neighbours.
MIN_SAMPLES = 3
# Looks across an option's usual spread of run times (p5..p95), on per-job dialects.
SPREAD_STEPS = 8
# On batch dialects one request answers for every job due, so they look twice per min_interval.
BATCH_STEP = 0.5
_ANY = "*"


@dataclass(frozen=True, slots=True)
class OptionKey:
    """What decides how long the provider takes for a clip."""

    dialect: str
    model: str = _ANY
    resolution: str = _ANY
    duration: int | None = None
    type: str = "video"

    def text(self) -> str:
        """As stored: `unified|ray-2|1080p|5|video`."""
        return "|".join([self.dialect, self.model, self.resolution, str(self.duration or _ANY), self.type])

    @classmethod
    def parse(cls, text: str) -> OptionKey | None:
        parts = text.split("|")
        if len(parts) != 5 or not parts[0]:
            return None
        dialect, model, resolution, duration, kind = parts
        return cls(dialect, model, resolution, int(duration) if duration.isdigit() else None, kind)


def option_key(dialect: str | None, model: str | None, options: dict | None, *, default_model: str = "") -> OptionKey:
    """The key of a clip as it was (or will be) requested, with the model's defaults filled in."""
    dialect = dialect or _ANY
    try:
        chosen = VideoOptions(**{k: v for k, v in (options or {}).items() if k in VideoOptions.model_fields})
    except ValueError:
        chosen = VideoOptions()
    spec = find_model(dialect, model) if model else request_model(dialect, chosen.model, default_model)
    if spec is None:
        return OptionKey(dialect, model or _ANY)
    params = effective_params(spec, chosen)
    duration = params.get("duration")
    return OptionKey(dialect, spec.name, str(params.get("resolution") or _ANY),
                     int(duration) if duration else None, str(params.get("type") or "video"))


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
    _durations: dict[OptionKey, deque[float]] = field(default_factory=dict)
    _next: dict[int, float] = field(default_factory=dict)

    # Learning -------------------------------------------------------------------------

    def learn(self, duration: float, key: OptionKey | None = None) -> None:
        if duration > 0:
            key = key or OptionKey(_ANY)
            self._durations.setdefault(key, deque(maxlen=SAMPLES_PER_OPTION)).append(duration)

    def load(self, samples: Iterable[tuple[OptionKey, float]]) -> None:
        """Run times from the store (oldest first), so a restarted bot starts warm."""
        for key, duration in samples:
            self.learn(duration, key)

    def samples(self, key: OptionKey) -> list[float]:
        """The run times `key` is planned by: its own, or its neighbours' scaled to its length."""
        own = self._durations.get(key)
        if own is not None and len(own) >= MIN_SAMPLES:
            return list(own)
        for near in (lambda k: k.dialect == key.dialect and k.model == key.model and k.type == key.type,
                     lambda k: k.dialect == key.dialect,
                     lambda k: True):
            borrowed = [d * _length_ratio(key, other) for other, runs in self._durations.items() if near(other)
                        for d in runs]
            if len(borrowed) >= MIN_SAMPLES:
                return borrowed
        return []

    def _quantile(self, key: OptionKey, q: float) -> float | None:
        ordered = sorted(self.samples(key))
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    def expected(self, key: OptionKey | None = None) -> float | None:
        """A low quantile of recent durations: early enough for most clips."""
        return self._quantile(key or OptionKey(_ANY), 0.2)

    def typical(self, key: OptionKey | None = None) -> float | None:
        """The median run time: what a member is told to expect."""
        return self._quantile(key or OptionKey(_ANY), 0.5)

    # Planning -------------------------------------------------------------------------

    def tracking(self, job_id: int) -> bool:
        """Whether the job was seen unfinished (and has a next look planned)."""
        return job_id in self._next

    def is_due(self, job_id: int, now: float) -> bool:
        return self._next.get(job_id, 0.0) <= now

    def next_due(self, now: float, busy: set[int] | frozenset[int] = frozenset()) -> float | None:
        """Seconds until the earliest scheduled check of a job not in `busy` (being looked at
        already), or None if nothing is scheduled."""
        times = [at for job_id, at in self._next.items() if job_id not in busy] if busy else self._next.values()
        return max(0.0, min(times) - now) if times else None

    def checked(self, job_id: int, started_at: float, now: float, key: OptionKey | None = None) -> float:
        """Plan the next look at a job that is not finished yet; returns when it is.

        Per-job dialects pay for every look, so a job is first looked at near the earliest its
        option usually finishes, then at a steady step across the option's usual spread (an
        eighth of p5..p95), backing off once it runs past p95. A batch request answers for
        every job at once, so there looks stay at half min_interval up to p95."""
        key = key or OptionKey(_ANY)
        age = now - started_at
        early, late = self._quantile(key, 0.05), self._quantile(key, 0.95)
        if early is None or late is None:
            delay = self.default_interval
        elif self.batch:
            expected = self.expected(key) or early
            step = self.min_interval * BATCH_STEP
            if age < expected * self.lead:
                delay = max(step, expected * self.lead - age)
            else:
                delay = step + self.overrun_backoff * max(0.0, age - late)
        elif age < early * self.lead:
            delay = max(self.min_interval, early * self.lead - age)
        else:
            step = min(self.max_interval, max(self.min_interval, (late - early) / SPREAD_STEPS))
            delay = step + self.overrun_backoff * max(0.0, age - late)
        self._next[job_id] = at = now + min(self.max_interval, delay)
        return at

    def forget(self, job_id: int) -> None:
        self._next.pop(job_id, None)

    def keep_only(self, job_ids: set[int]) -> None:
        for job_id in [j for j in self._next if j not in job_ids]:
            self.forget(job_id)


def _length_ratio(target: OptionKey, source: OptionKey) -> float:
    """Borrowed run times scale with clip length when both lengths are known."""
    if target.duration and source.duration:
        return target.duration / source.duration
    return 1.0
