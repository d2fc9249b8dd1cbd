"""Time as the store sees it: unix epoch seconds (UTC), and the calendar periods caps use."""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime, timedelta

from storage.models import Period

# What callers may pass as `now`/`since`: epoch seconds or an aware datetime.
Instant = float | int | datetime


def to_epoch(value: Instant | None, default: float | None = None) -> float:
    """Epoch seconds from a number or an aware datetime; `default` (or the clock) if None."""
    if value is None:
        return time.time() if default is None else default
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # A naive datetime is ambiguous (local? UTC?): refuse rather than guess.
            raise ValueError("naive datetime: pass an aware datetime (e.g. tz=UTC) or epoch seconds")
        return value.timestamp()
    if isinstance(value, bool) or not math.isfinite(float(value)):
        raise ValueError(f"not a point in time: {value!r}")
    return float(value)


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def period_bounds(period: Period, now: float) -> tuple[float | None, float | None]:
    """[start, end) of the UTC calendar period containing `now`; (None, None) for lifetime."""
    if period is Period.LIFETIME:
        return None, None
    moment = utc(now)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if period is Period.DAY:
        start, end = day, day + timedelta(days=1)
    elif period is Period.WEEK:
        start = day - timedelta(days=day.weekday())  # Monday 00:00 UTC
        end = start + timedelta(days=7)
    elif period is Period.MONTH:
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    else:  # pragma: no cover - enum is closed
        raise ValueError(f"unknown period {period!r}")
    return start.timestamp(), end.timestamp()


def utc_day(epoch: float) -> date:
    return utc(epoch).date()
