"""Which models each dialect serves, and what each model takes: the one table the bot reads.

Sources (../shared/api-docs):
- unified: the provider's docs as they are today (`current/ray-2.json`, `ray-flash-2.json`,
  `ray-3.2.json`, `ray-3.2.md`); `luma/ray-1-6` was retired there on 2026-01-26.
- luma-v2: the seed page's create payload (`003_…txt`, `LumaAi.v2.CreateGenerationPayload`):
  models ray-1-6, ray-2 (its default) and ray-flash-2; resolution 540p–4k and duration 5 s / 9 s,
  both optional and without a documented default. That payload does not say which model takes
  what, so ray-2 and ray-flash-2 take what they take on the unified endpoint, and ray-1-6 takes
  what its own schema (the same seed page) lists: no resolution, no duration.
- legacy: v1 has no model field at all, so its table is empty (`models_for("legacy") == ()`,
  `has_model_choice` and `Capabilities.models` False, any DEFAULT_MODEL is fine). What its one
  endpoint takes (aspect ratio, start and end image, forward extend) is `FIXED_MODELS["legacy"]`,
  a spec members never pick: `request_model` answers it, so `option_problems` works there too.

A dialect builds its bodies from this table and the checks here (`option_problems`) are the
same ones the dialect enforces, so the bot refuses, in a member's words, exactly what it
would otherwise send wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import ASPECT_RATIOS, RESOLUTIONS, VideoOptions


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model as one dialect serves it."""

    name: str  # what members pick: "ray-2"
    api_name: str  # what this dialect sends: "luma/ray-2" on unified, "ray-2" on luma-v2, "" if none
    label: str  # short choice label
    resolutions: tuple[str, ...]  # () = no resolution field
    default_resolution: str | None  # the API's default, None where undocumented
    durations: tuple[int, ...]  # whole seconds; () = no duration field
    default_duration: int | None
    aspect_ratios: tuple[str, ...]
    default_aspect_ratio: str
    loop: bool
    hdr: bool
    exr_export: bool
    # ("video",) means the schema has no `type` field; more means it has one.
    types: tuple[str, ...]
    # Generation keyframes (extend / interpolate by clip id). A model with them takes its images
    # as keyframes too; one without takes `image_url` / `last_image_url`.
    extend_by_id: bool
    images: bool  # start / end frame images
    dialect: str
    # Where HDR works (ray-3.2: "5s, 720p/1080p only"); empty when the model has no HDR.
    hdr_resolutions: tuple[str, ...] = ()
    hdr_durations: tuple[int, ...] = ()

    @property
    def has_type_field(self) -> bool:
        return len(self.types) > 1


_RAY2_SHAPE = dict(
    resolutions=("540p", "720p", "1080p", "4k"), default_resolution="1080p",
    durations=(5, 9), default_duration=5,
    aspect_ratios=ASPECT_RATIOS, default_aspect_ratio="16:9",
    loop=True, hdr=False, exr_export=False, types=("video",), extend_by_id=True, images=True,
)

MODELS: dict[str, tuple[ModelSpec, ...]] = {
    "unified": (
        ModelSpec(name="ray-2", api_name="luma/ray-2", label="ray-2: best quality", dialect="unified",
                  **_RAY2_SHAPE),
        ModelSpec(name="ray-flash-2", api_name="luma/ray-flash-2", label="ray-flash-2: fastest, cheapest",
                  dialect="unified", **_RAY2_SHAPE),
        ModelSpec(
            name="ray-3.2", api_name="luma/ray-3.2", label="ray-3.2: newest, HDR", dialect="unified",
            resolutions=("360p", "540p", "720p", "1080p"), default_resolution="720p",
            durations=(5, 10), default_duration=5,
            aspect_ratios=tuple(ratio for ratio in ASPECT_RATIOS if ratio != "9:21"), default_aspect_ratio="16:9",
            loop=True, hdr=True, exr_export=True, types=("video", "video_edit", "video_reframe"),
            extend_by_id=False, images=True,
            hdr_resolutions=("720p", "1080p"), hdr_durations=(5,),
        ),
    ),
    "luma-v2": (
        ModelSpec(name="ray-2", api_name="ray-2", label="ray-2: best quality", dialect="luma-v2",
                  **{**_RAY2_SHAPE, "default_resolution": None, "default_duration": None}),
        ModelSpec(name="ray-flash-2", api_name="ray-flash-2", label="ray-flash-2: fastest, cheapest",
                  dialect="luma-v2", **{**_RAY2_SHAPE, "default_resolution": None, "default_duration": None}),
        ModelSpec(name="ray-1-6", api_name="ray-1-6", label="ray-1-6: older, no resolution or length choice",
                  dialect="luma-v2", **{**_RAY2_SHAPE, "resolutions": (), "default_resolution": None,
                     "durations": (), "default_duration": None}),
    ),
    "legacy": (),
}

# Dialects whose requests carry no model: what their endpoint takes, used whatever DEFAULT_MODEL says.
FIXED_MODELS: dict[str, ModelSpec] = {
    "legacy": ModelSpec(
        name="legacy", api_name="", label="the legacy API's own model", dialect="legacy",
        resolutions=(), default_resolution=None, durations=(), default_duration=None,
        aspect_ratios=ASPECT_RATIOS, default_aspect_ratio="16:9",
        loop=False, hdr=False, exr_export=False, types=("video",), extend_by_id=True, images=True,
    ),
}

RETIRED: dict[str, dict[str, str]] = {
    "unified": {"ray-1-6": "retired by the provider on 2026-01-26"},
    "luma-v2": {},
    "legacy": {},
}

# What a member reads when the configured dialect has no such thing at all.
_SERVICE = "This bot's video service"
_SERVICE_LACKS = {
    "model": f"{_SERVICE} doesn't let you choose a model.",
    "resolution": f"{_SERVICE} doesn't let you choose a resolution.",
    "duration": f"{_SERVICE} doesn't let you choose a clip length.",
    "loop": f"{_SERVICE} can't make looping clips.",
    "hdr": f"{_SERVICE} can't make HDR clips.",
    "exr_export": f"{_SERVICE} can't export EXR frames.",
    "edit": f"{_SERVICE} can't edit or reframe clips.",
    "images": f"{_SERVICE} can't start or end a clip on an image.",
}
_TYPE_WORDS = {"video_edit": ("edit", "Editing"), "video_reframe": ("reframe", "Reframing")}


def models_for(dialect: str) -> tuple[ModelSpec, ...]:
    """The dialect's current models, the usual default first; () where there is no choice (legacy)."""
    try:
        return MODELS[dialect]
    except KeyError:
        raise ValueError(f"unknown dialect {dialect!r}; choose one of {', '.join(MODELS)}") from None


def _bare(name: str) -> str:
    return name.strip().lower().removeprefix("luma/")


def find_model(dialect: str, name: str) -> ModelSpec | None:
    """The current model called `name` ("ray-2" or "luma/ray-2") on this dialect, else None."""
    wanted = _bare(name)
    return next((spec for spec in models_for(dialect) if spec.name == wanted), None)


def retired_reason(dialect: str, name: str) -> str | None:
    """Why a model this dialect once served is gone ("retired by the provider on ..."), else None."""
    models_for(dialect)  # an unknown dialect is a bug, not a retired model
    return RETIRED.get(dialect, {}).get(_bare(name))


def has_model_choice(dialect: str) -> bool:
    """False where requests carry no model (legacy)."""
    return bool(models_for(dialect))


def _served(dialect: str) -> tuple[ModelSpec, ...]:
    """What the dialect can make: its models, or its fixed one."""
    return models_for(dialect) or (FIXED_MODELS[dialect],)


def _names(dialect: str) -> str:
    return ", ".join(spec.name for spec in models_for(dialect))


def _model_problem(dialect: str, name: str) -> str | None:
    """Why `name` can't be used on this dialect, without a subject prefix or a full stop."""
    if not has_model_choice(dialect) or find_model(dialect, name) is not None:
        return None
    name = _bare(name)
    reason = retired_reason(dialect, name)
    if reason is not None:
        return f"{name} was {reason}; choose one of {_names(dialect)}"
    return f"{name} is not a model of the {dialect} API; choose one of {_names(dialect)}"


def check_default_model(dialect: str, name: str) -> str | None:
    """None if DEFAULT_MODEL works with this dialect, else one plain sentence for a start-up error.
    On a dialect without model choice (legacy) nothing is sent, so any name is fine."""
    problem = _model_problem(dialect, name)
    return None if problem is None else f"DEFAULT_MODEL {problem}"


def request_model(dialect: str, chosen: str | None, default_model: str) -> ModelSpec | None:
    """The model a request uses: the member's choice, else DEFAULT_MODEL; on a dialect without
    model choice its one spec (a choice there is refused by `option_problems`). None if unknown."""
    if not has_model_choice(dialect):
        return FIXED_MODELS[dialect]
    return find_model(dialect, chosen or default_model)


def request_problems(dialect: str, options: VideoOptions, default_model: str, *,
                     extending: bool = False) -> list[str]:
    """`option_problems` for the model the request will use, or why that model can't be used."""
    spec = request_model(dialect, options.model, default_model)
    if spec is None:
        return [f"{_model_problem(dialect, options.model or default_model)}."]
    return option_problems(spec, options, extending=extending)


def _either(names: list[str]) -> str:
    """Join names: "a", "a or b", "a, b or c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _others(spec: ModelSpec, has) -> list[str]:
    return [other.name for other in _served(spec.dialect) if other.name != spec.name and has(other)]


def _needs(what: str, others: list[str]) -> str:
    return f"; {what} needs {_either(others)}." if others else "."


def _resolution_problem(spec: ModelSpec, resolution: str) -> str:
    others = _needs(resolution, _others(spec, lambda m: resolution in m.resolutions))
    if not spec.resolutions:
        return f"{spec.name} has no resolution choice{others}"
    rank = RESOLUTIONS.index
    if rank(resolution) > max(map(rank, spec.resolutions)):
        return f"{spec.name} goes up to {spec.resolutions[-1]}{others}"
    if rank(resolution) < min(map(rank, spec.resolutions)):
        return f"{spec.name} starts at {spec.resolutions[0]}{others}"
    return f"{spec.name} has no {resolution}; choose {_either(list(spec.resolutions))}."


def _duration_problem(spec: ModelSpec, duration: int) -> str:
    if not spec.durations:
        return f"{spec.name} has no clip length choice" + _needs(
            f"a {duration} second clip", _others(spec, lambda m: duration in m.durations))
    return f"{spec.name} makes {_either([str(d) for d in spec.durations])} second clips, not {duration}."


def _feature(spec: ModelSpec, what: str, has) -> str:
    """`what` is a verb phrase: "make HDR clips"."""
    others = _others(spec, has)
    return f"{spec.name} can't {what}" + (f"; that needs {_either(others)}." if others else ".")


def option_problems(spec: ModelSpec, options: VideoOptions, *, extending: bool = False) -> list[str]:
    """Why these options won't work with this model, one sentence a member can read per problem;
    empty when they will. `extending`: the request extends or bridges clips by their ids.

    What the dialect has nowhere is refused whatever its value (as `Capabilities` always did);
    what only this model lacks is refused when asked for (a False there means "off", and is not sent).
    """
    specs = _served(spec.dialect)
    problems: list[str] = []

    def lacks(feature: str) -> None:
        problems.append(_SERVICE_LACKS[feature])

    if options.model is not None and not has_model_choice(spec.dialect):
        lacks("model")

    if options.resolution is not None:
        if not any(m.resolutions for m in specs):
            lacks("resolution")
        elif options.resolution not in spec.resolutions:
            problems.append(_resolution_problem(spec, options.resolution))

    if options.duration is not None:
        if not any(m.durations for m in specs):
            lacks("duration")
        elif options.duration not in spec.durations:
            problems.append(_duration_problem(spec, options.duration))

    if options.aspect_ratio is not None and options.aspect_ratio not in spec.aspect_ratios:
        other = _others(spec, lambda m: options.aspect_ratio in m.aspect_ratios)
        problems.append(f"{spec.name} has no {options.aspect_ratio}; pick another shape"
                        + (f" or {other[0]}." if other else "."))

    if (options.start_image_url or options.end_image_url) and not spec.images:
        if not any(m.images for m in specs):
            lacks("images")
        else:
            problems.append(_feature(spec, "start or end a clip on an image", lambda m: m.images))

    video_type = options.video_type or "video"
    editing = video_type in _TYPE_WORDS
    if editing or options.source_video_url is not None:
        if not any(kind in m.types for m in specs for kind in _TYPE_WORDS):
            lacks("edit")
        elif editing and video_type not in spec.types:
            verb = _TYPE_WORDS[video_type][0]
            problems.append(_feature(spec, f"{verb} clips", lambda m: video_type in m.types))
        elif not editing and not any(kind in spec.types for kind in _TYPE_WORDS):
            problems.append(_feature(spec, "edit or reframe clips",
                                     lambda m: any(kind in m.types for kind in _TYPE_WORDS)))
        elif editing and options.source_video_url is None:
            problems.append(f"{_TYPE_WORDS[video_type][1]} needs a source video.")
        elif not editing:
            problems.append("A source video is used only for editing or reframing.")

    if options.loop is not None:
        if not any(m.loop for m in specs):
            lacks("loop")
        elif options.loop and not spec.loop:
            problems.append(_feature(spec, "make looping clips", lambda m: m.loop))
        elif options.loop and video_type != "video" and video_type in spec.types:
            problems.append("Looping works only when creating a clip.")

    if options.hdr is not None:
        if not any(m.hdr for m in specs):
            lacks("hdr")
        elif options.hdr and not spec.hdr:
            problems.append(_feature(spec, "make HDR clips", lambda m: m.hdr))
        elif options.hdr:
            params = effective_params(spec, options)
            if params.get("duration") not in spec.hdr_durations or params.get("resolution") not in spec.hdr_resolutions:
                durations = _either([str(d) for d in spec.hdr_durations])
                problems.append(f"HDR needs a {durations} second clip at {_either(list(spec.hdr_resolutions))}.")

    if options.exr_export is not None:
        if not any(m.exr_export for m in specs):
            lacks("exr_export")
        elif options.exr_export and not spec.exr_export:
            problems.append(_feature(spec, "export EXR frames", lambda m: m.exr_export))
        elif options.exr_export and not options.hdr:
            problems.append("EXR export needs HDR.")

    if extending and not spec.extend_by_id:
        others = _others(spec, lambda m: m.extend_by_id)
        problems.append(f"Extending by clip needs {_either(others)}; clips made with {spec.name} can't be extended yet."
                        if others else f"{_SERVICE} can't extend clips.")

    return list(dict.fromkeys(problems))


def effective_params(spec: ModelSpec, options: VideoOptions) -> dict[str, Any]:
    """The request's API field values with the model's defaults filled in, for pricing. Keys:
    resolution, duration (whole seconds on every dialect), aspect_ratio, loop, hdr, type, only
    those the model has; a field whose default is undocumented (luma-v2) is left out unless chosen."""
    params: dict[str, Any] = {}
    if spec.resolutions and (options.resolution or spec.default_resolution):
        params["resolution"] = options.resolution or spec.default_resolution
    if spec.durations and (options.duration or spec.default_duration):
        params["duration"] = options.duration or spec.default_duration
    params["aspect_ratio"] = options.aspect_ratio or spec.default_aspect_ratio
    if spec.loop:
        params["loop"] = bool(options.loop)
    if spec.hdr:
        params["hdr"] = bool(options.hdr)
    if spec.has_type_field:
        params["type"] = options.video_type or "video"
    return params


def dialect_features(dialect: str) -> dict[str, bool]:
    """The `Capabilities` fields that follow from the table: what some model of the dialect has."""
    specs = _served(dialect)
    return {
        "models": has_model_choice(dialect),
        "resolution": any(spec.resolutions for spec in specs),
        "duration": any(spec.durations for spec in specs),
        "loop": any(spec.loop for spec in specs),
        "end_image": any(spec.images for spec in specs),
        # Clip ids as keyframes, at either end: as far as the endpoint lets (legacy only appends).
        "backward_extend": any(spec.extend_by_id for spec in specs),
        "interpolate": any(spec.extend_by_id for spec in specs),
    }
