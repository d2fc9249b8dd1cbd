"""The three endpoint families of the AI/ML API's Luma models, behind one shape.

A dialect only builds requests and parses answers; it never does I/O. That keeps the
HTTP concerns (auth, retries, timeouts) in one place, `client.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from .errors import UnsupportedByDialect
from .models import Capabilities, Direction, JobStatus, VideoJob, VideoOptions, normalise_status


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    json: dict[str, Any] | None = None
    # How long the server may hold the answer on purpose (luma-v2's wait-for-state).
    server_wait: float = 0.0


class Dialect(Protocol):
    name: str
    capabilities: Capabilities

    def create(self, prompt: str, options: VideoOptions, default_model: str) -> Request: ...

    def extend(self, source_id: str, prompt: str, direction: Direction, options: VideoOptions,
               default_model: str, other_id: str | None = None) -> Request: ...

    def fetch(self, job_id: str, wait_for: JobStatus | None, wait_seconds: float) -> Request: ...

    def fetch_many(self, job_ids: Sequence[str]) -> Request | None: ...

    def parse_job(self, data: Any) -> VideoJob: ...

    def parse_many(self, data: Any) -> list[VideoJob]: ...


def _first(*values: Any) -> Any:
    """The first value that is neither None nor empty."""
    return next((v for v in values if v not in (None, "", {}, [])), None)


def parse_job(data: Any) -> VideoJob:
    """Read a job from any dialect's answer, tolerating fields each spells differently."""
    if not isinstance(data, dict) or not data.get("id"):
        raise ValueError("answer has no generation id")
    raw = str(_first(data.get("status"), data.get("state")) or "")
    video = data.get("video")
    assets = data.get("assets") if isinstance(data.get("assets"), dict) else {}
    url = _first(video.get("url") if isinstance(video, dict) else video, assets.get("video"), data.get("video_url"))
    error = data.get("error")
    reason = _first(
        error.get("message") if isinstance(error, dict) else error,
        data.get("failure_reason"),
    )
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    usage = meta.get("usage") if isinstance(meta.get("usage"), dict) else {}
    credits = usage.get("credits_used")
    status = normalise_status(raw)
    return VideoJob(
        id=str(data["id"]),
        status=status,
        raw_status=raw,
        video_url=str(url) if url and status is JobStatus.COMPLETED else None,
        failure_reason=str(reason) if reason and status is JobStatus.FAILED else None,
        credits_used=int(credits) if isinstance(credits, (int, float)) else None,
    )


def parse_list(data: Any) -> list[VideoJob]:
    """A list of jobs, bare or wrapped (`generations`, `data`, `items`)."""
    if isinstance(data, dict):
        data = _first(data.get("generations"), data.get("data"), data.get("items")) or []
    if not isinstance(data, list):
        raise ValueError("answer is not a list of generations")
    return [parse_job(item) for item in data]


def _generation_frame(job_id: str) -> dict[str, str]:
    # Unified ids carry the model as a suffix ("<uuid>:luma/ray-2"); the keyframe schemas want
    # the generation's uuid (format: uuid for ray-1-6 and luma-v2), which every schema accepts.
    return {"type": "generation", "id": job_id.split(":", 1)[0]}


def _keyframes(options: VideoOptions, start: dict | None = None, end: dict | None = None) -> dict | None:
    """frame0 starts the clip, frame1 ends it; a generation there means extend, an image means image-to-video."""
    frames: dict[str, dict] = {}
    if start or options.start_image_url:
        frames["frame0"] = start or {"type": "image", "url": options.start_image_url}
    if end or options.end_image_url:
        frames["frame1"] = end or {"type": "image", "url": options.end_image_url}
    return frames or None


def _extend_frames(source_id: str, direction: Direction, other_id: str | None) -> tuple[dict, dict | None]:
    """Forward: the clip is the start (append after it); backward: the clip is the end (lead into it)."""
    if other_id is not None:
        return _generation_frame(source_id), _generation_frame(other_id)
    if direction == "forward":
        return _generation_frame(source_id), None
    return None, _generation_frame(source_id)  # type: ignore[return-value]


class _V2Family:
    """What unified and luma-v2 share: the Luma v2 payload (prompt, keyframes, loop, ...)."""

    name = ""
    create_path = ""
    capabilities = Capabilities(models=True, resolution=True, duration=True, loop=True, end_image=True,
                                backward_extend=True, interpolate=True, batch_fetch=False, server_wait=False)

    def _model(self, model: str) -> str:
        return model

    def _duration(self, seconds: int) -> Any:
        return seconds

    def _body(self, prompt: str, options: VideoOptions, default_model: str, keyframes: dict | None) -> dict:
        body: dict[str, Any] = {"model": self._model(options.model or default_model), "prompt": prompt}
        if options.aspect_ratio:
            body["aspect_ratio"] = options.aspect_ratio
        if options.loop is not None:
            body["loop"] = options.loop
        if options.resolution:
            body["resolution"] = options.resolution
        if options.duration:
            body["duration"] = self._duration(options.duration)
        if keyframes:
            body["keyframes"] = keyframes
        return body

    def create(self, prompt: str, options: VideoOptions, default_model: str) -> Request:
        return Request("POST", self.create_path, json=self._body(prompt, options, default_model, _keyframes(options)))

    def extend(self, source_id: str, prompt: str, direction: Direction, options: VideoOptions,
               default_model: str, other_id: str | None = None) -> Request:
        start, end = _extend_frames(source_id, direction, other_id)
        frames = _keyframes(options, start, end)
        return Request("POST", self.create_path, json=self._body(prompt, options, default_model, frames))

    def parse_job(self, data: Any) -> VideoJob:
        return parse_job(data)

    def parse_many(self, data: Any) -> list[VideoJob]:
        return parse_list(data)


class UnifiedDialect(_V2Family):
    """`/v2/video/generations`: what the provider serves today. One id per fetch."""

    name = "unified"
    create_path = "/v2/video/generations"

    def _model(self, model: str) -> str:
        return model if model.startswith("luma/") else f"luma/{model}"

    def fetch(self, job_id: str, wait_for: JobStatus | None, wait_seconds: float) -> Request:
        return Request("GET", self.create_path, params=[("generation_id", job_id)])

    def fetch_many(self, job_ids: Sequence[str]) -> Request | None:
        return None


class LumaV2Dialect(_V2Family):
    """`/v2/generate/video/luma-ai/...`: batch fetch and a server-side wait of up to 30 s."""

    name = "luma-v2"
    create_path = "/v2/generate/video/luma-ai/generation"
    capabilities = _V2Family.capabilities.model_copy(update={"batch_fetch": True, "server_wait": True})
    # Luma's own state names, which `state=` takes.
    _WAIT_WORDS = {JobStatus.QUEUED: "queued", JobStatus.RUNNING: "dreaming", JobStatus.COMPLETED: "completed"}

    def _model(self, model: str) -> str:
        return model.removeprefix("luma/")

    def _duration(self, seconds: int) -> Any:
        return f"{seconds}s"

    def fetch(self, job_id: str, wait_for: JobStatus | None, wait_seconds: float) -> Request:
        params = [("generation_id", job_id)]
        if wait_for is not None and wait_for in self._WAIT_WORDS:
            params.append(("state", self._WAIT_WORDS[wait_for]))
            return Request("GET", self.create_path, params=params, server_wait=wait_seconds)
        return Request("GET", self.create_path, params=params)

    def fetch_many(self, job_ids: Sequence[str]) -> Request | None:
        return Request("GET", "/v2/generate/video/luma-ai/generations",
                       params=[("generation_ids", job_id) for job_id in job_ids])


class LegacyDialect:
    """v1 `/luma-ai/...`: prompt and images only; extend continues forward from a clip."""

    name = "legacy"
    capabilities = Capabilities(models=False, resolution=False, duration=False, loop=False, end_image=True,
                                backward_extend=False, interpolate=False, batch_fetch=True, server_wait=False)

    def _body(self, prompt: str, options: VideoOptions) -> dict:
        unsupported = [name for name in ("resolution", "duration", "loop") if getattr(options, name) is not None]
        if unsupported:
            raise UnsupportedByDialect(f"The legacy API does not support: {', '.join(unsupported)}.")
        # The published schema requires all five fields; an empty URL means "no image".
        return {
            "user_prompt": prompt,
            "aspect_ratio": options.aspect_ratio or "16:9",
            "expand_prompt": True,
            "image_url": options.start_image_url or "",
            "image_end_url": options.end_image_url or "",
        }

    def create(self, prompt: str, options: VideoOptions, default_model: str) -> Request:
        return Request("POST", "/luma-ai/generations", json=self._body(prompt, options))

    def extend(self, source_id: str, prompt: str, direction: Direction, options: VideoOptions,
               default_model: str, other_id: str | None = None) -> Request:
        if direction != "forward" or other_id is not None:
            raise UnsupportedByDialect("The legacy API can only extend a clip forward.")
        return Request("POST", f"/luma-ai/generations/{source_id}/extend", json=self._body(prompt, options))

    def fetch(self, job_id: str, wait_for: JobStatus | None, wait_seconds: float) -> Request:
        return Request("GET", "/luma-ai/generation", params=[("ids", job_id)])

    def fetch_many(self, job_ids: Sequence[str]) -> Request | None:
        return Request("GET", "/luma-ai/generation", params=[("ids", job_id) for job_id in job_ids])

    def parse_job(self, data: Any) -> VideoJob:
        # The by-ids endpoint answers a list even for one id.
        if isinstance(data, list):
            if not data:
                raise ValueError("empty answer")
            data = data[0]
        return parse_job(data)

    def parse_many(self, data: Any) -> list[VideoJob]:
        return parse_list(data)


DIALECTS: dict[str, type] = {"unified": UnifiedDialect, "luma-v2": LumaV2Dialect, "legacy": LegacyDialect}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]()
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; choose one of {', '.join(DIALECTS)}") from None
