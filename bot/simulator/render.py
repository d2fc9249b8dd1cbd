"""A job as each dialect's answer body."""

from __future__ import annotations

import math
from typing import Any

from .prices import to_usd
from .state import STATE_WORDS, Job

# Luma's output sizes by aspect ratio (legacy answers report width and height).
_SIZES: dict[str, tuple[int, int]] = {
    "16:9": (1360, 752), "9:16": (752, 1360), "1:1": (1024, 1024), "4:3": (1168, 864),
    "3:4": (864, 1168), "21:9": (1552, 656), "9:21": (656, 1552),
}


def unified(job: Job, now: float, *, usage: bool = True) -> dict[str, Any]:
    """`usage=False`: a completed job whose cost is not reported in the body (`report_credits`)."""
    phase = job.phase(now)
    done = phase == "completed"
    return {
        "id": job.id,
        "status": STATE_WORDS["unified"][phase],
        "video": {"url": job.video_url} if done else None,
        "error": {"name": "GenerationError", "message": job.failure_reason} if phase == "failed" else None,
        "meta": {"usage": {"credits_used": job.credits_used, "usd_spent": float(to_usd(job.credits_used))}}
        if done and usage else None,
    }


def luma_v2(job: Job, now: float) -> dict[str, Any]:
    """Luma's own Generation object, which the luma-v2 endpoints pass through."""
    phase = job.phase(now)
    done = phase == "completed"
    return {
        "id": job.id,
        "generation_type": "video",
        "state": STATE_WORDS["luma-v2"][phase],
        "failure_reason": job.failure_reason if phase == "failed" else None,
        "created_at": job.created_at,
        "assets": {"video": job.video_url if done else None, "image": job.thumbnail_url if done else None},
        "model": job.model,
        "request": job.request,
    }


def legacy(job: Job, now: float) -> dict[str, Any]:
    """GenerateVideoResultDTO: every field is required and none is nullable, so blanks until done."""
    phase = job.phase(now)
    done = phase == "completed"
    width, height = _SIZES.get(job.aspect_ratio, _SIZES["16:9"])
    remaining = max(0.0, job.completed_at - now)
    body: dict[str, Any] = {
        "id": job.id,
        "state": STATE_WORDS["legacy"][phase],
        "prompt": job.prompt,
        "created_at": job.created_at,
        "estimate_wait_seconds": str(math.ceil(remaining)),  # a string, as the schema says
        "liked": "",
        "video": {
            "url": job.video_url if done else "",
            "thumbnail": job.thumbnail_url if done else "",
            "width": width if done else 0,
            "height": height if done else 0,
        },
    }
    if phase == "failed":  # not in the DTO, but a client needs to say why
        body["failure_reason"] = job.failure_reason
    return body
