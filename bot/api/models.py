"""Typed results and options shared by every dialect of the video API."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Every value any model of any dialect takes; which model takes which is in catalog.py.
AspectRatio = Literal["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"]
Resolution = Literal["360p", "540p", "720p", "1080p", "4k"]  # smallest first
Duration = Literal[5, 9, 10]
VideoType = Literal["video", "video_edit", "video_reframe"]
Direction = Literal["forward", "backward"]

ASPECT_RATIOS: tuple[str, ...] = AspectRatio.__args__
RESOLUTIONS: tuple[str, ...] = Resolution.__args__
DURATIONS: tuple[int, ...] = Duration.__args__
VIDEO_TYPES: tuple[str, ...] = VideoType.__args__


class JobStatus(StrEnum):
    """The one status the rest of the bot sees, whatever the dialect calls it."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


# Every spelling the three dialects (and the docs' own examples) use for a state.
_STATUS_WORDS: dict[str, JobStatus] = {
    **dict.fromkeys(("queued", "pending", "waiting", "created", "submitted"), JobStatus.QUEUED),
    **dict.fromkeys(
        ("generating", "dreaming", "processing", "active", "running", "streaming", "in_progress"),
        JobStatus.RUNNING,
    ),
    **dict.fromkeys(("completed", "complete", "succeeded", "success", "done"), JobStatus.COMPLETED),
    **dict.fromkeys(("failed", "error", "errored", "cancelled", "canceled", "rejected"), JobStatus.FAILED),
}


def normalise_status(raw: str | None) -> JobStatus:
    """Map a dialect's word to JobStatus; an unknown word keeps the job running (the poller times it out)."""
    return _STATUS_WORDS.get((raw or "").strip().lower(), JobStatus.RUNNING)


class VideoOptions(BaseModel):
    """What a member may choose for a clip. `None` means the API's own default.

    The types admit every value some model takes; `catalog.option_problems` says whether
    the chosen model takes this one (ray-3.2 has no 4k, ray-2 no 10 second clips, ...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    aspect_ratio: AspectRatio | None = None
    resolution: Resolution | None = None
    duration: Duration | None = None
    loop: bool | None = None
    start_image_url: str | None = None
    end_image_url: str | None = None
    hdr: bool | None = None
    exr_export: bool | None = None
    # "video" makes (or extends) a clip; the other two change `source_video_url`.
    video_type: VideoType | None = None
    source_video_url: str | None = None


class VideoJob(BaseModel):
    """One generation as the API last reported it."""

    model_config = ConfigDict(frozen=True)

    id: str
    status: JobStatus
    raw_status: str = ""
    video_url: str | None = None
    failure_reason: str | None = None
    credits_used: int | None = Field(default=None, ge=0)


class Capabilities(BaseModel):
    """What a dialect can do, so the bot only offers what will work."""

    model_config = ConfigDict(frozen=True)

    models: bool
    resolution: bool
    duration: bool
    loop: bool
    end_image: bool
    backward_extend: bool
    interpolate: bool
    batch_fetch: bool
    server_wait: bool
