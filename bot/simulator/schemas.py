"""Request-body validation against the provider's published schemas.

The JSON files next to this module are verbatim copies of what the provider publishes
(see each file's `_source`). They are OpenAPI 3.0 schemas, so they are checked with
`OAS30Validator` (which understands `nullable`), after two normalisations that make the
validator read them the way the provider's server evidently means them (see `_normalise`).

The unified endpoint validates each model against its own current schema (ray-2.json,
ray-flash-2.json, ray-3.2.json), closed to unknown fields (`_closed`), then applies the
cross-field rules ray-3.2's descriptions state (`_ray_3_2_rules`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

SCHEMA_DIR = Path(__file__).with_name("schemas")

# Aspect ratios the provider accepts everywhere (the legacy schema leaves the field a free string,
# but the service behind it rejects anything else).
ASPECT_RATIOS: tuple[str, ...] = ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")

# Where the request schema sits inside a whole OpenAPI document.
_CREATE_SCHEMA: tuple[str, ...] = ("paths", "/v2/video/generations", "post", "requestBody", "content",
                                   "application/json", "schema")
# Unified endpoint: model name -> (file, keys down to the request schema in that file).
UNIFIED_MODELS: dict[str, tuple[str, ...]] = {
    "luma/ray-2": ("ray-2.json", *_CREATE_SCHEMA),
    "luma/ray-flash-2": ("ray-flash-2.json", *_CREATE_SCHEMA),
    "luma/ray-3.2": ("ray-3.2.json", *_CREATE_SCHEMA),
}
# ray-3.2 kinds that transform a source video, and so need `video_url`.
_VIDEO_SOURCE_TYPES: frozenset[str] = frozenset({"video_edit", "video_reframe"})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of the error body's `errors` list."""

    path: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def _is_uri(value: object) -> bool:
    # jsonschema only checks "uri" when rfc3987 is installed; a light check catches relative
    # paths and junk. `data:` URIs are fine: the docs allow Base64-encoded images there.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme == "data")


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers = dict(oas30_format_checker.checkers)
    checker.checkers["uri"] = (_is_uri, ())
    return checker


FORMAT_CHECKER = _format_checker()


def _normalise(node: Any) -> Any:
    """Make two OpenAPI 3.0 idioms mean what the provider's server means by them.

    * `{"nullable": true}` alone (an anyOf branch for "or null") has no `type`, so a plain
      OAS 3.0 validator lets *anything* through it; it must accept null only.
    * `nullable: true` next to an `enum` that lacks null: OAS 3.0.3 says null stays invalid,
      but the field is plainly optional-or-null (e.g. `duration`), so null joins the enum.
    """
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    meaningful = {k for k in node if k not in ("description", "title", "example", "default")}
    if meaningful == {"nullable"} and node["nullable"] is True:
        return {"enum": [None], "nullable": True}
    out = {key: _normalise(value) for key, value in node.items()}
    if out.get("nullable") is True and isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


@lru_cache(maxsize=None)
def load_schema_file(name: str) -> dict[str, Any]:
    with (SCHEMA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def _schema_at(file: str, *keys: str) -> Any:
    schema: Any = load_schema_file(file)
    for key in keys:
        schema = schema[key]
    return schema


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """The current unified schemas omit `additionalProperties: false`, but the server refuses
    unknown fields ("Body validation error!"), as the seed schema of the same endpoint says."""
    return {**schema, "additionalProperties": False}


@lru_cache(maxsize=None)
def _validator(file: str, *keys: str, closed: bool = False) -> OAS30Validator:
    schema = copy.deepcopy(_schema_at(file, *keys))
    if closed:
        schema = _closed(schema)
    return OAS30Validator(_normalise(schema), format_checker=FORMAT_CHECKER)


@lru_cache(maxsize=None)
def _defaults(model: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, prop in _schema_at(*UNIFIED_MODELS[model]).get("properties", {}).items():
        if "default" not in prop:
            continue
        value = prop["default"]
        # The published schemas give `duration` (an integer) the default "5": read it as the
        # integer it stands for, or prices and run times would multiply a string.
        if prop.get("type") == "integer" and isinstance(value, str):
            value = int(value)
        out[name] = value
    return out


def with_defaults(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """The request as the server runs it: schema defaults for every field left out or null."""
    return {**_defaults(model), **{name: value for name, value in body.items() if value is not None}}


def _field_errors(error: ValidationError) -> list[FieldError]:
    """One validation error as API-style entries, pointing at the offending field."""
    base = ".".join(str(part) for part in error.absolute_path)

    def join(name: str) -> str:
        return f"{base}.{name}" if base else name

    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return [FieldError(join(name), f"'{name}' is a required property") for name in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = [name for name in error.instance if name not in known]
        return [FieldError(join(name), f"property '{name}' should not exist") for name in extra]
    if error.context:
        # anyOf/oneOf: say which branch came closest, or the message is useless.
        # The closest branch has the fewest errors, and the deepest (right type, bad id).
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
        best = max(branches.values(), key=lambda subs: (-len(subs), max(len(s.relative_path) for s in subs)))
        closest = max(best, key=lambda sub: len(sub.relative_path))
        return [FieldError(base, f"{error.message} (closest: {closest.message})")]
    return [FieldError(base, error.message)]


def validate(validator: OAS30Validator, body: Any) -> list[FieldError]:
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    # dict keeps order and drops repeats (jsonschema reports each missing property separately).
    entries = {entry: None for error in errors for entry in _field_errors(error)}
    return list(entries)


def _ray_3_2_rules(body: dict[str, Any]) -> list[FieldError]:
    """What ray-3.2's field descriptions require of each other (the schema cannot say it)."""
    run = with_defaults("luma/ray-3.2", body)
    errors: list[FieldError] = []
    if run.get("hdr") is True:
        if run.get("duration") != 5:
            errors.append(FieldError("hdr", f"hdr is only available with duration 5 (got {run.get('duration')})"))
        if run.get("resolution") not in ("720p", "1080p"):
            errors.append(FieldError("hdr", f"hdr is only available at 720p or 1080p (got {run.get('resolution')})"))
    if run.get("exr_export") is True and run.get("hdr") is not True:
        errors.append(FieldError("exr_export", "exr_export requires hdr"))
    kind = run.get("type")
    if run.get("loop") is True and kind != "video":
        errors.append(FieldError("loop", f"loop is only available with type 'video' (got {kind!r})"))
    if kind in _VIDEO_SOURCE_TYPES and not run.get("video_url"):
        errors.append(FieldError("video_url", f"'video_url' is required with type {kind!r}"))
    if "last_image_url" in run and kind != "video":
        errors.append(FieldError("last_image_url", f"last_image_url is only available with type 'video' (got {kind!r})"))
    return errors


def validate_unified(body: Any) -> list[FieldError]:
    """The unified endpoint picks its schema by `model`; unknown or missing model is an error.

    A retired model (see `catalogue.RETIRED_MODELS`) is the caller's to answer with 404 first.
    """
    if not isinstance(body, dict):
        return [FieldError("", "body must be a JSON object")]
    model = body.get("model")
    if model not in UNIFIED_MODELS:
        allowed = ", ".join(UNIFIED_MODELS)
        if model is None:
            return [FieldError("model", f"'model' is a required property (one of {allowed})")]
        return [FieldError("model", f"{model!r} is not one of [{allowed}]")]
    errors = validate(_validator(*UNIFIED_MODELS[model], closed=True), body)
    if not errors and model == "luma/ray-3.2":  # the rules read typed values: only once the types hold
        errors = _ray_3_2_rules(body)
    return errors


def validate_luma_v2(body: Any) -> list[FieldError]:
    return validate(_validator("luma-v2-create.json", "components", "schemas", "LumaAi.v2.CreateGenerationPayload"),
                    body)


def validate_legacy(body: Any, *, extend: bool = False) -> list[FieldError]:
    name = "ExtendVideoDTO" if extend else "GenerateVideoDTO"
    errors = validate(_validator("legacy-v1.json", "components", "schemas", name), body)
    ratio = body.get("aspect_ratio") if isinstance(body, dict) else None
    if isinstance(ratio, str) and ratio not in ASPECT_RATIOS:
        errors.append(FieldError("aspect_ratio", f"{ratio!r} is not one of {list(ASPECT_RATIOS)}"))
    return errors
