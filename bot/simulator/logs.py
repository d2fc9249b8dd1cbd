"""Usage logs, `GET /v2/logs` (logs-v2.json, usage-logs.md): one row per unified inference request.

Pure: the rows, the query rules, the page and the per-key rate limit. A create's status and
cost are read from its job when the logs are read (a job's state is computed from the clock),
so a row shows its charge once the generation completed and a zero cost if it failed. Rows
become visible `logs_delay_seconds` after their request, as the analytics pipeline lags.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .prices import to_usd

if TYPE_CHECKING:
    from .state import Job

Query = Mapping[str, list[str]]  # every value of every parameter, in order

STATUSES: tuple[str, ...] = ("succeeded", "failed")
MAX_WINDOW = timedelta(days=92)
MAX_MODELS = 50
RATE_LIMIT = 200  # requests per key per window
RATE_WINDOW_SECONDS = 60.0  # nominal; scaled by time_scale
_PERIOD = re.compile(r"([1-9][0-9]*)([hd])")


class QueryError(ValueError):
    """A 400: `path` is the parameter at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def iso_ms(moment: datetime) -> str:
    """UTC with milliseconds and Z, as `created` is shown: 2026-07-02T03:04:05.000Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class LogRow:
    seq: int  # recording order breaks ties between rows of the same millisecond
    key: str
    at: float  # simulator clock time of the request (for the pipeline lag)
    created: datetime  # wall-clock UTC time of the request
    model: str
    request_id: str
    inference_id: str
    client_request_id: str | None
    answered: str  # "succeeded" or "failed", as the request was answered
    job: Job | None = None  # the job a create made: its outcome and cost decide the row's

    def status(self, now: float) -> str:
        if self.job is not None and self.job.phase(now) == "failed":
            return "failed"  # a failed generation is a failed request, billed nothing
        return self.answered

    def credits(self, now: float) -> int:
        job = self.job
        return job.billed if job is not None and job.phase(now) == "completed" else 0

    def render(self, now: float) -> dict[str, Any]:
        credits = self.credits(now)
        return {
            "created": iso_ms(self.created),
            "status": self.status(now),
            "origin": "api",
            "model": self.model,
            "cost": {"usd": float(to_usd(credits)), "credits": credits},
            "tokens": {"input": 0, "output": 0, "total": 0},
            "request_id": self.request_id,
            "inference_id": self.inference_id,
            "client_request_id": self.client_request_id,
        }


@dataclass(frozen=True, slots=True)
class LogQuery:
    start: datetime
    end: datetime
    models: tuple[str, ...]
    statuses: tuple[str, ...]
    limit: int
    offset: int
    key_prefix: str | None


def _one(query: Query, name: str) -> str | None:
    given = query.get(name, [])
    if len(given) > 1:
        raise QueryError(name, f"'{name}' may be given once")
    return given[0] if given else None


def _moment(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(name, f"'{name}' must be an ISO-8601 date-time, not {text!r}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _integer(query: Query, name: str, default: int, low: int, high: int | None) -> int:
    text = _one(query, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise QueryError(name, f"'{name}' must be an integer, not {text!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise QueryError(name, f"'{name}' must be {bounds}")
    return value


def parse_query(query: Query, wall_now: datetime) -> LogQuery:
    """The window and filters, or QueryError for everything the docs list under 400."""
    period, start, end = _one(query, "period"), _one(query, "start"), _one(query, "end")
    if period is not None and (start is not None or end is not None):
        raise QueryError("period", "give either 'period' or both 'start' and 'end', never both")
    if period is not None:
        match = _PERIOD.fullmatch(period.strip())
        if match is None:
            raise QueryError("period", f"'period' must be a positive integer followed by h or d, not {period!r}")
        count, unit = int(match.group(1)), match.group(2)
        span = timedelta(hours=count) if unit == "h" else timedelta(days=count)
        if span > MAX_WINDOW:
            raise QueryError("period", "the window must not exceed 92 days")
        window = (wall_now - span, wall_now)
    elif start is not None and end is not None:
        window = (_moment("start", start), _moment("end", end))
        if window[1] < window[0]:
            raise QueryError("end", "'end' must not be earlier than 'start'")
        if window[1] - window[0] > MAX_WINDOW:
            raise QueryError("end", "the window must not exceed 92 days")
    else:
        raise QueryError("period", "give either 'period' or both 'start' and 'end'")
    models = tuple(query.get("model", []))  # not split on commas: "a,b" is one (unknown) name
    if len(models) > MAX_MODELS:
        raise QueryError("model", f"at most {MAX_MODELS} 'model' values")
    statuses = tuple(query.get("status", []))
    for status in statuses:
        if status not in STATUSES:
            raise QueryError("status", f"{status!r} is not one of {list(STATUSES)}")
    return LogQuery(start=window[0], end=window[1], models=models, statuses=statuses,
                    limit=_integer(query, "limit", 50, 1, 100), offset=_integer(query, "offset", 0, 0, None),
                    key_prefix=_one(query, "key_prefix"))


def _model_matches(wanted: tuple[str, ...], model: str) -> bool:
    # `source/alias` or the bare alias, matched exactly.
    return not wanted or model in wanted or model.split("/", 1)[-1] in wanted


@dataclass
class LogBook:
    """Every row recorded, and each key's recent calls to `GET /v2/logs`."""

    rows: list[LogRow] = field(default_factory=list)
    _calls: dict[str, deque[float]] = field(default_factory=dict)

    def record(self, **fields: Any) -> LogRow:
        row = LogRow(seq=len(self.rows), **fields)
        self.rows.append(row)
        return row

    def of(self, key: str | None = None) -> list[LogRow]:
        """Rows in recording order, optionally for one key."""
        return [row for row in self.rows if key is None or row.key == key]

    def admit(self, key: str, now: float, window: float, limit: int = RATE_LIMIT) -> float | None:
        """Count one call; None if allowed, else the seconds until the oldest call leaves the window."""
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= limit:
            return calls[0] + window - now
        calls.append(now)
        return None

    def page(self, key: str, query: LogQuery, *, now: float, visible_before: float,
             other_keys: Iterable[str] = ()) -> dict[str, Any]:
        """One page of the key's own visible rows, newest first.

        `visible_before`: a row shows once its request is at or before this clock time.
        """
        if query.key_prefix is not None and not key.startswith(query.key_prefix):
            if any(other.startswith(query.key_prefix) for other in other_keys):
                raise PermissionError("a regular key cannot read another key's logs")
            raise LookupError("no key with this prefix is yours")
        rows = [row for row in self.rows
                if row.key == key and row.at <= visible_before and query.start <= row.created <= query.end
                and _model_matches(query.models, row.model)
                and (not query.statuses or row.status(now) in query.statuses)]
        rows.sort(key=lambda row: (row.created, row.seq), reverse=True)
        chosen = rows[query.offset:query.offset + query.limit]
        return {
            "data": [row.render(now) for row in chosen],
            "pagination": {"limit": query.limit, "offset": query.offset, "total": len(rows),
                           "has_more": query.offset + len(chosen) < len(rows)},
        }
