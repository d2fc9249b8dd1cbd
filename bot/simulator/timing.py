"""How long a unified job runs: longer for a bigger model, a sharper picture and a longer clip.

`SimulatorConfig.run_seconds` is the nominal run of the reference job (ray-2, 720p, 5 s); the
other jobs scale from it. The factors are rough, not measured: they only need to order jobs the
way the service does (a flash 540p clip is back long before a ray-3.2 1080p one). The legacy
and luma-v2 families keep `run_seconds` as it is.
"""

from __future__ import annotations

REFERENCE_SECONDS = 5  # the clip length `run_seconds` stands for

MODEL_FACTORS: dict[str, float] = {"luma/ray-flash-2": 0.4, "luma/ray-2": 1.0, "luma/ray-3.2": 1.5}
RESOLUTION_FACTORS: dict[str, float] = {"360p": 0.5, "540p": 0.7, "720p": 1.0, "1080p": 1.6, "4k": 3.0}


def unified_run_seconds(base: float, model: str, resolution: str | None, duration: int | None) -> float:
    """Nominal run time of a unified job: base x model x resolution x (seconds / 5).

    Unknown models and resolutions count as the reference (factor 1), a missing duration as 5 s;
    pass the request with its schema defaults filled in. Jitter is the caller's to add.
    """
    model_factor = MODEL_FACTORS.get(model, 1.0)
    resolution_factor = RESOLUTION_FACTORS.get(str(resolution).lower(), 1.0)
    seconds = duration if isinstance(duration, int) and duration > 0 else REFERENCE_SECONDS
    return base * model_factor * resolution_factor * seconds / REFERENCE_SECONDS
