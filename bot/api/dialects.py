"""The three endpoint families of the AI/ML API's Luma models, behind one shape.

A dialect only builds requests and parses answers; it never does I/O. That keeps the
HTTP concerns (auth, retries, timeouts) in one place, `client.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from .catalog import ModelSpec, dialect_features, request_model, request_problems
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


def _capabilities(dialect: str, *, batch_fetch: bool, server_wait: bool, extend_both_ways: bool) -> Capabilities:
    """What the catalog says the dialect's models can do, plus what its endpoints can."""
    features = dialect_features(dialect)
    if not extend_both_ways:  # legacy's extend endpoint only appends
        features.update(backward_extend=False, interpolate=False)
    return Capabilities(**features, batch_fetch=batch_fetch, server_wait=server_wait)


class _V2Family:
    """What unified and luma-v2 share: the Luma v2 payload (prompt, keyframes, loop, ...).

    Which fields a body carries follows the model's entry in catalog.py; options that entry
    refuses raise `UnsupportedByDialect` with the member-readable reasons, so nothing the
    model's schema lacks is ever sent.
    """

    name = ""
    create_path = ""

    def _duration(self, seconds: int) -> Any:
        return seconds

    def _spec(self, options: VideoOptions, default_model: str, *, extending: bool) -> ModelSpec:
        problems = request_problems(self.name, options, default_model, extending=extending)
        if problems:
            raise UnsupportedByDialect(" ".join(problems))
        spec = request_model(self.name, options.model, default_model)
        assert spec is not None  # request_problems said why otherwise
        return spec

    def _body(self, prompt: str, spec: ModelSpec, options: VideoOptions, keyframes: dict | None) -> dict:
        body: dict[str, Any] = {"model": spec.api_name, "prompt": prompt}
        if options.video_type is not None and spec.has_type_field:
            body["type"] = options.video_type
        if options.aspect_ratio:
            body["aspect_ratio"] = options.aspect_ratio
        if options.loop is not None and spec.loop:
            body["loop"] = options.loop
        if options.resolution:
            body["resolution"] = options.resolution
        if options.duration:
            body["duration"] = self._duration(options.duration)
        if options.hdr is not None and spec.hdr:
            body["hdr"] = options.hdr
        if options.exr_export is not None and spec.exr_export:
            body["exr_export"] = options.exr_export
        if spec.extend_by_id:
            if keyframes:
                body["keyframes"] = keyframes
        else:
            # No keyframes in this model's schema: images are plain URLs (no clip ids, see _spec).
            if options.start_image_url:
                body["image_url"] = options.start_image_url
            if options.end_image_url:
                body["last_image_url"] = options.end_image_url
        if options.source_video_url:
            body["video_url"] = options.source_video_url
        return body

    def create(self, prompt: str, options: VideoOptions, default_model: str) -> Request:
        spec = self._spec(options, default_model, extending=False)
        return Request("POST", self.create_path, json=self._body(prompt, spec, options, _keyframes(options)))

    def extend(self, source_id: str, prompt: str, direction: Direction, options: VideoOptions,
               default_model: str, other_id: str | None = None) -> Request:
        spec = self._spec(options, default_model, extending=True)
        start, end = _extend_frames(source_id, direction, other_id)
        frames = _keyframes(options, start, end)
        return Request("POST", self.create_path, json=self._body(prompt, spec, options, frames))

    def parse_job(self, data: Any) -> VideoJob:
        return parse_job(data)

    def parse_many(self, data: Any) -> list[VideoJob]:
        return parse_list(data)


class UnifiedDialect(_V2Family):
    """`/v2/video/generations`: what the provider serves today. One id per fetch."""

    name = "unified"
    create_path = "/v2/video/generations"
    capabilities = _capabilities("unified", batch_fetch=False, server_wait=False, extend_both_ways=True)

    def fetch(self, job_id: str, wait_for: JobStatus | None, wait_seconds: float) -> Request:
        return Request("GET", self.create_path, params=[("generation_id", job_id)])

    def fetch_many(self, job_ids: Sequence[str]) -> Request | None:
        return None


class LumaV2Dialect(_V2Family):
    """`/v2/generate/video/luma-ai/...`: batch fetch and a server-side wait of up to 30 s."""

    name = "luma-v2"
    create_path = "/v2/generate/video/luma-ai/generation"
    capabilities = _capabilities("luma-v2", batch_fetch=True, server_wait=True, extend_both_ways=True)
    # Luma's own state names, which `state=` takes.
    _WAIT_WORDS = {JobStatus.QUEUED: "queued", JobStatus.RUNNING: "dreaming", JobStatus.COMPLETED: "completed"}

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
    capabilities = _capabilities("legacy", batch_fetch=True, server_wait=False, extend_both_ways=False)
    # Options v1 has no field for, and how a member would name them.
    _UNSUPPORTED = (("resolution", "resolution"), ("duration", "duration"), ("loop", "loop"), ("hdr", "HDR"),
                    ("exr_export", "EXR export"), ("source_video_url", "a source video"))

    def _body(self, prompt: str, options: VideoOptions) -> dict:
        unsupported = [words for name, words in self._UNSUPPORTED if getattr(options, name) is not None]
        if options.video_type not in (None, "video"):
            unsupported.append("editing or reframing")
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
