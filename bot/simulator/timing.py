"""How long a job runs: longer for a bigger model, a sharper picture and a longer clip.

`SimulatorConfig.run_seconds` is the nominal run of the reference job (ray-2, 720p, 5 s); the
other jobs scale from it by model x resolution x (clip seconds / 5). The factors are rough, not
measured: they only need to order jobs the way the service does, and spread them the way it
does (a flash 540p 5 s clip is back long before a ray-3.2 1080p 10 s one, which takes about 17
times as long; a ray-2 1080p 9 s clip about 10 times as long as the flash one).

- unified: the request as the server runs it (schema defaults filled in: a bare ray-2 request
  is 1080p 5 s, so it runs 1.6 x `run_seconds`).
- luma-v2: the same models and factors (`ray-2`, `ray-flash-2` spelled without `luma/`, plus
  `ray-1-6`), duration as the seed payload spells it (`"5s"`, `"9s"`). Its resolution and
  duration are optional with no documented default, so a request without them runs as the
  reference (720p, 5 s): a bare luma-v2 request runs exactly `run_seconds`. ray-1-6 has no
  resolution or duration field at all and runs `run_seconds` x its model factor.
- legacy: v1 has no model, resolution or duration field, so every job runs `run_seconds`.

`run_seconds_for` is the one entry point (the simulator draws every job's nominal run from it;
benchmarks call it to know what a given option mix takes). Jitter is the caller's to add.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REFERENCE_SECONDS = 5  # the clip length `run_seconds` stands for

MODEL_FACTORS: dict[str, float] = {
    "luma/ray-flash-2": 0.4,
    "luma/ray-2": 1.0,
    "luma/ray-3.2": 1.5,
    # Older and smaller than ray-2; served on luma-v2 only (retired from the unified endpoint).
    "luma/ray-1-6": 0.8,
}
RESOLUTION_FACTORS: dict[str, float] = {"360p": 0.5, "540p": 0.7, "720p": 1.0, "1080p": 1.6, "4k": 3.0}


def _seconds(duration: Any) -> float:
    """A clip length as either dialect spells it: 5, "5", "9s"; anything else is the reference 5 s."""
    if isinstance(duration, bool):
        return REFERENCE_SECONDS
    if isinstance(duration, (int, float)):
        return float(duration) if duration > 0 else REFERENCE_SECONDS
    if isinstance(duration, str):
        text = duration.strip().lower().removesuffix("s")
        try:
            value = float(text)
        except ValueError:
            return REFERENCE_SECONDS
        return value if value > 0 else REFERENCE_SECONDS
    return REFERENCE_SECONDS


def unified_run_seconds(base: float, model: str, resolution: str | None, duration: Any) -> float:
    """Nominal run time of a unified job: base x model x resolution x (seconds / 5).

    Unknown models and resolutions count as the reference (factor 1), a missing duration as 5 s;
    pass the request with its schema defaults filled in. Jitter is the caller's to add.
    """
    model_factor = MODEL_FACTORS.get(model, 1.0)
    resolution_factor = RESOLUTION_FACTORS.get(str(resolution).lower(), 1.0)
    return base * model_factor * resolution_factor * _seconds(duration) / REFERENCE_SECONDS


def luma_v2_run_seconds(base: float, model: str | None, resolution: str | None, duration: Any) -> float:
    """Nominal run time of a luma-v2 job (model `ray-2`, `ray-flash-2` or `ray-1-6`; None is the
    payload's default ray-2). No resolution counts as the reference 720p, no duration as 5 s."""
    name = model or "ray-2"
    return unified_run_seconds(base, name if name.startswith("luma/") else f"luma/{name}", resolution, duration)


def run_seconds_for(dialect: str, base: float, model: str | None, params: Mapping[str, Any] | None = None) -> float:
    """Nominal run time of one job of `dialect` (before jitter and time scale).

    `params` holds the request's `resolution` and `duration` (unified: with schema defaults filled
    in; luma-v2: as sent, "9s" or 9 alike). Legacy has no options: it always runs `base`.
    """
    params = params or {}
    if dialect == "unified":
        return unified_run_seconds(base, model or "", params.get("resolution"), params.get("duration"))
    if dialect == "luma-v2":
        return luma_v2_run_seconds(base, model, params.get("resolution"), params.get("duration"))
    return base
