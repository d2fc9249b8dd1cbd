"""The model catalogue, `GET /v1/models` and `GET /model/{id}` (complete-model-list.md, models.json).

Pure: the entries, the filters, the projections and the ETag. The Luma entries take their
`pricing` from the simulator's price table, so `Simulator.set_price` moves the ETag. The
unrelated entries are there so that filters have something to filter out; their prices are
illustrative only. `luma/ray-1-6` is not listed: it was retired on 2026-01-26.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

Query = Mapping[str, list[str]]  # every value of every parameter, in order

# Retired unified models: a create with one answers 404 (model -> date it stopped working).
RETIRED_MODELS: dict[str, str] = {"luma/ray-1-6": "2026-01-26"}

SECTIONS: tuple[str, ...] = ("pricing", "modalities", "capabilities")
_VIDEO_TYPE = "internal/video-generations/submit"  # as the docs' video example (Veo 2) shows it


def _luma(model_id: str, name: str, description: str, docs_page: str, *, inputs: list[str],
          capabilities: list[str], released: str | None = None) -> dict[str, Any]:
    alias = model_id.split("/", 1)[1]
    quoted = model_id.replace("/", "%2F")
    info: dict[str, Any] = {"name": name, "developer": "Luma AI", "description": description}
    if released:
        info["releasedAt"] = released
    info.update({
        "url": f"https://aimlapi.com/models/luma-{alias}-api",
        "docsUrl": f"https://docs.aimlapi.com/api-references/video-models/luma-ai/{docs_page}",
        "docsJson": f"https://api.aimlapi.com/docs-json?model={quoted}&endpoint=internal%2Fvideo-generations%2Fsubmit",
    })
    return {"id": model_id, "info": info, "type": _VIDEO_TYPE, "aliases": [alias],
            "tags": ["playground:video", "tier:tier_2"],
            "modalities": {"input": inputs, "output": ["video"]}, "capabilities": capabilities}


# Every entry carries all sections; a request sees only those it asked for.
ENTRIES: tuple[dict[str, Any], ...] = (
    _luma("luma/ray-2", "Ray 2", "Luma's Ray 2: up to 9-second clips at up to 4K, from text or images.",
          "luma-ray-2", inputs=["image", "text"],
          capabilities=["image_to_video", "text_to_video", "video_extension", "video_loop"]),
    _luma("luma/ray-flash-2", "Ray Flash 2", "A faster, cheaper Ray 2.", "luma-ray-flash-2",
          inputs=["image", "text"], capabilities=["image_to_video", "text_to_video", "video_extension", "video_loop"]),
    _luma("luma/ray-3.2", "Ray 3.2", "Generates, edits and reframes videos, with HDR output and looping.",
          "ray-3.2", inputs=["image", "text", "video"], released="2026-07-01",
          capabilities=["hdr", "image_to_video", "text_to_video", "video_edit", "video_loop", "video_reframe"]),
    {
        "id": "google/veo-2.0-generate-001",
        "info": {
            "releasedAt": "2025-11-25", "name": "Veo 2 Text-to-Video", "developer": "Google",
            "description": "Veo2: Google's advanced text-to-video model",
            "url": "https://aimlapi.com/models/veo-2-text-to-video-api",
            "docsUrl": "https://docs.aimlapi.com/api-references/video-models/google/veo2-text-to-video",
            "docsJson": "https://api.aimlapi.com/docs-json?model=google%2Fveo-2.0-generate-001"
                        "&endpoint=internal%2Fvideo-generations%2Fsubmit",
        },
        "type": _VIDEO_TYPE, "aliases": ["veo-2.0-generate-001"], "tags": ["playground:video", "tier:tier_2"],
        "modalities": {"input": ["text"], "output": ["video"]}, "capabilities": ["text_to_video"],
        "pricing": {"kind": "fixed", "currency": "USD", "units": [{"name": "second", "price": 0.5, "per": 1}]},
    },
    {
        "id": "openai/gpt-4o",
        "info": {
            "releasedAt": "2025-08-07", "name": "GPT-4o", "developer": "Open AI",
            "description": "Multimodal AI model by OpenAI enhancing human-computer interaction.",
            "contextLength": 128000, "outputMax": 16384, "cutoffAt": "2023-10-01",
            "url": "https://aimlapi.com/models/gpt-4o-2024-08-06-api",
            "docsUrl": "https://docs.aimlapi.com/api-references/text-models-llm/openai/gpt-4o",
            "docsJson": "https://api.aimlapi.com/docs-json?model=openai%2Fgpt-4o&endpoint=openai%2Fchat-completions",
        },
        "type": "openai/chat-completions", "aliases": ["gpt-4o"], "tags": ["playground:chat", "tier:tier_2"],
        "modalities": {"input": ["image", "text"], "output": ["text"]},
        "capabilities": ["file_input", "parallel_tool_calls", "streaming", "structured_output", "tools", "vision"],
        "pricing": {"kind": "fixed", "currency": "USD",
                    "units": [{"name": "token", "measure": "output", "price": 3.25, "per": 1000000}]},
    },
)
MODEL_IDS: frozenset[str] = frozenset(entry["id"] for entry in ENTRIES)


def values(query: Query, name: str) -> list[str]:
    """A parameter's values, comma-separated or repeated (both merge), lowercased, blanks dropped."""
    return [part.strip().lower() for value in query.get(name, []) for part in value.split(",") if part.strip()]


def sections(query: Query) -> set[str]:
    """Which optional sections to attach: `include` (unknown words ignored), `all`, `details=true`."""
    wanted = set(values(query, "include"))
    if "all" in wanted or any(value in ("true", "1") for value in values(query, "details")):
        return set(SECTIONS)
    return wanted & set(SECTIONS)


def _names(entry: Mapping[str, Any]) -> set[str]:
    return {entry["id"].lower(), *(alias.lower() for alias in entry.get("aliases", []))}


def _any(wanted: list[str], have: Iterable[str]) -> bool:
    return not wanted or bool(set(wanted) & {item.lower() for item in have})


def matches(entry: Mapping[str, Any], query: Query) -> bool:
    """Several values of one filter: OR. Several filters: AND. An omitted filter: everything."""
    modalities = entry.get("modalities", {})
    inputs, outputs = modalities.get("input", []), modalities.get("output", [])
    return (_any(values(query, "id"), _names(entry))
            and _any(values(query, "type"), [entry["type"]])
            and _any(values(query, "tags"), entry.get("tags", []))
            and _any(values(query, "modalities"), [*inputs, *outputs])
            and _any(values(query, "input_modalities"), inputs)
            and _any(values(query, "output_modalities"), outputs)
            and _any(values(query, "capabilities"), entry.get("capabilities", [])))


def _entry_with_price(entry: Mapping[str, Any], prices: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(dict(entry))
    if entry["id"] in prices:
        out["pricing"] = copy.deepcopy(dict(prices[entry["id"]]))
    return out


def project(entry: Mapping[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The identity every item carries, plus the sections asked for."""
    out = {name: entry[name] for name in ("id", "info", "type", "aliases", "tags")}
    out.update({name: entry[name] for name in SECTIONS if name in wanted and name in entry})
    return out


def list_body(prices: Mapping[str, Mapping[str, Any]], query: Query) -> dict[str, Any]:
    wanted = sections(query)
    data = [project(_entry_with_price(entry, prices), wanted) for entry in ENTRIES if matches(entry, query)]
    return {"object": "list", "data": data}


def model_body(prices: Mapping[str, Mapping[str, Any]], name: str, query: Query) -> dict[str, Any] | None:
    """`GET /model/{id}`: one model by id or alias, case-insensitive; None if neither matches."""
    for entry in ENTRIES:
        if name.lower() in _names(entry):
            return {"object": "model", "data": project(_entry_with_price(entry, prices), sections(query))}
    return None


def etag(body: bytes) -> str:
    """A weak ETag over the whole body, shaped as the provider's: W/"<length hex>-<27 chars of sha1>"."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def not_modified(if_none_match: str | None, current: str) -> bool:
    """If-None-Match names the current ETag (weakly compared), or is `*`."""
    if not if_none_match:
        return False
    bare = current.removeprefix("W/")
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in tags)
