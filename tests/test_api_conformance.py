"""Every request body the API module sends must satisfy the provider's published schema.

The schemas are copies of ../shared/api-docs (tests/data/schemas; the unified models' as the
provider documents them today in tests/data/schemas/current): the project stands on its own.

Three kinds of test:
- a recording server captures what the module really puts on the wire, for a few requests;
- every option shape the catalog accepts for a unified model is built by the dialect and checked
  against that model's schema directly (thousands of bodies, no HTTP);
- the rules are derived a second time, from the schema files alone (enums, defaults and the four
  rules ray-3.2's field descriptions state), and compared with `option_problems`, so the catalog
  cannot drift from the schemas in either direction.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from itertools import cycle, product
from pathlib import Path

import pytest
from aiohttp import web
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator

from bot.api import ASPECT_RATIOS, DURATIONS, RESOLUTIONS, UnsupportedByDialect, VideoAPI, VideoOptions
from bot.api.catalog import find_model, models_for, option_problems
from bot.api.dialects import get_dialect

SCHEMAS = Path(__file__).parent / "data" / "schemas"
CURRENT = SCHEMAS / "current"
LUMA_V2 = json.loads((SCHEMAS / "luma-v2-openapi.json").read_text())
LEGACY = json.loads((SCHEMAS / "legacy-v1.json").read_text())


def _create_schema(document: dict) -> dict:
    return document["paths"]["/v2/video/generations"]["post"]["requestBody"]["content"]["application/json"]["schema"]


# model as sent ("luma/ray-3.2") -> its create schema, one file each, as the provider publishes them.
UNIFIED: dict[str, dict] = {}
for _file in sorted(CURRENT.glob("*.json")):
    _schema = _create_schema(json.loads(_file.read_text()))
    UNIFIED[_schema["properties"]["model"]["enum"][0]] = _schema
V2_CREATE = LUMA_V2["POST /v2/generate/video/luma-ai/generation"]

GEN_UUID = "0f3ea4aa-10e7-4dae-af0b-263ab4ac45f9"
OTHER_UUID = "7c880e75-9892-4238-8464-49cb0c6deabd"
IMAGE = "https://cdn.discordapp.com/attachments/1/2/start.png"
END_IMAGE = "https://cdn.discordapp.com/attachments/1/2/end.png"
VIDEO = "https://cdn.aimlapi.com/luma/dream_machine/a/b.mp4"

FLAGS = (None, False, True)
IMAGES = ((None, None), (IMAGE, None), (None, END_IMAGE), (IMAGE, END_IMAGE))
EXTENDS = ("forward", "backward", "bridge")


def schema_for(path: str, body: dict) -> dict:
    """The published schema that governs this request."""
    if path == "/v2/video/generations":
        return UNIFIED[body.get("model")]
    if path == "/v2/generate/video/luma-ai/generation":
        return V2_CREATE
    if path == "/luma-ai/generations":
        return LEGACY["components"]["schemas"]["GenerateVideoDTO"]
    if path.startswith("/luma-ai/generations/") and path.endswith("/extend"):
        return LEGACY["components"]["schemas"]["ExtendVideoDTO"]
    raise AssertionError(f"no published schema for {path}")


def strict(schema):
    """OpenAPI 3.0 ignores a bare `{"nullable": true}`, which would make an anyOf accept anything;
    the authors meant "or null", so read it that way."""
    if isinstance(schema, dict):
        if schema == {"nullable": True}:
            return {"enum": [None]}
        return {key: strict(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@lru_cache(maxsize=None)
def _validator(path: str, model: str | None) -> OAS30Validator:
    schema = schema_for(path, {"model": model})
    return OAS30Validator(strict(schema), format_checker=FormatChecker())


_BRANCHES: dict[int, OAS30Validator] = {}


def _branch_validator(key: int, branch: dict) -> OAS30Validator:
    if key not in _BRANCHES:  # the schemas live as long as the module, so their ids are stable keys
        _BRANCHES[key] = OAS30Validator(strict(branch), format_checker=FormatChecker())
    return _BRANCHES[key]


def extra_properties(schema: dict, value, where: str = "") -> list[str]:
    """Properties of `value` that its schema does not name (the unified schemas do not say
    `additionalProperties: false`, but the live API refuses unknown fields)."""
    if not isinstance(value, dict):
        return []
    if "anyOf" in schema:
        fitting = [branch for branch in schema["anyOf"] if _branch_validator(id(branch), branch).is_valid(value)]
        return min((extra_properties(branch, value, where) for branch in fitting), key=len, default=[])
    properties = schema.get("properties", {})
    extras = [f"{where}{key}" for key in value if key not in properties]
    for key, item in value.items():
        if key in properties:
            extras += extra_properties(properties[key], item, f"{where}{key}.")
    return extras


def validate(path: str, body: dict) -> None:
    _validator(path, body.get("model") if path == "/v2/video/generations" else None).validate(body)
    extras = extra_properties(schema_for(path, body), body)
    assert not extras, f"{path}: {extras} not in the schema"


# What an object schema may say at its top level for `conforms` to be exact.
_FLAT = {"type", "title", "properties", "required", "additionalProperties", "description"}
_FIELD_VALIDATORS: dict[tuple[str, str], OAS30Validator] = {}


@lru_cache(maxsize=None)
def _field_ok(path: str, model: str | None, key: str, value_json: str) -> bool:
    schema = schema_for(path, {"model": model})
    if (path, model, key) not in _FIELD_VALIDATORS:
        _FIELD_VALIDATORS[path, model, key] = OAS30Validator(strict(schema["properties"][key]),
                                                             format_checker=FormatChecker())
    value = json.loads(value_json)
    return _FIELD_VALIDATORS[path, model, key].is_valid(value) and not extra_properties(
        schema["properties"][key], value)


def conforms(path: str, body: dict) -> bool:
    """`validate` for thousands of bodies: an object schema whose top level only lists properties is
    satisfied field by field, so each distinct (field, value) is checked once. Exactly equivalent
    for these schemas (asserted); the bulk tests also run `validate` itself on a sample."""
    model = body.get("model") if path == "/v2/video/generations" else None
    schema = schema_for(path, body)
    assert set(schema) <= _FLAT and schema.get("type") == "object", f"{path}: not a flat object schema"
    if any(key not in body for key in schema.get("required", ())):
        return False
    return all(key in schema["properties"] and _field_ok(path, model, key, json.dumps(value, sort_keys=True))
               for key, value in body.items())


@pytest.fixture
async def recorder():
    """A server that records each request and answers like the dialect would."""
    seen: list[tuple[str, dict]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.path, body))
        if request.path.startswith("/v2/video"):
            return web.json_response({"id": f"{uuid.uuid4()}:{body.get('model')}", "status": "queued"})
        if request.path.startswith("/v2/generate"):
            return web.json_response({"id": str(uuid.uuid4()), "state": "queued"}, status=201)
        return web.json_response({"id": str(uuid.uuid4()), "state": "pending", "prompt": body["user_prompt"],
                                  "created_at": "", "estimate_wait_seconds": "", "liked": "",
                                  "video": {"url": "", "thumbnail": "", "width": 0, "height": 0}})

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


FULL = VideoOptions(aspect_ratio="9:16", resolution="1080p", duration=9, loop=True)
WITH_IMAGES = VideoOptions(start_image_url=IMAGE, end_image_url=END_IMAGE)


# -- through the real client ------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["ray-2", "ray-flash-2"])
async def test_ray2_bodies_on_the_wire(recorder, model):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="unified", default_model=model) as api:
        await api.create("a jellyfish in space")
        await api.create("with images", WITH_IMAGES)
        await api.create("every option", FULL.model_copy(update={"resolution": "4k", "aspect_ratio": "9:21"}))
        await api.extend(f"{GEN_UUID}:luma/ray-2", "forward", "forward")
        await api.extend(f"{GEN_UUID}:luma/ray-2", "backward", "backward")
        await api.extend(GEN_UUID, "bridge", other_id=OTHER_UUID)
    assert len(seen) == 6
    for path, body in seen:
        validate(path, body)
    assert {body["model"] for _, body in seen} == {f"luma/{model}"}
    assert seen[-3][1]["keyframes"] == {"frame0": {"type": "generation", "id": GEN_UUID}}
    assert seen[-2][1]["keyframes"] == {"frame1": {"type": "generation", "id": GEN_UUID}}
    assert seen[-1][1]["keyframes"] == {"frame0": {"type": "generation", "id": GEN_UUID},
                                        "frame1": {"type": "generation", "id": OTHER_UUID}}


async def test_ray32_bodies_on_the_wire(recorder):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="unified", default_model="ray-3.2") as api:
        await api.create("a jellyfish in space")
        await api.create("with images", WITH_IMAGES)
        await api.create("hdr", VideoOptions(resolution="1080p", duration=5, hdr=True, exr_export=True, loop=True,
                                             aspect_ratio="21:9", video_type="video"))
        await api.create("long", VideoOptions(resolution="360p", duration=10))
        await api.create("edit", VideoOptions(video_type="video_edit", source_video_url=VIDEO))
        await api.create("reframe", VideoOptions(video_type="video_reframe", source_video_url=VIDEO,
                                                 aspect_ratio="9:16"))
        for direction in ("forward", "backward"):
            with pytest.raises(UnsupportedByDialect, match="can't be extended yet"):
                await api.extend(f"{GEN_UUID}:luma/ray-3.2", "more", direction)
        with pytest.raises(UnsupportedByDialect, match="can't be extended yet"):
            await api.extend(GEN_UUID, "bridge", other_id=OTHER_UUID)
    assert len(seen) == 6  # the refused extends never left the bot
    for path, body in seen:
        validate(path, body)
        assert "keyframes" not in body
    assert seen[0][1] == {"model": "luma/ray-3.2", "prompt": "a jellyfish in space"}
    assert (seen[1][1]["image_url"], seen[1][1]["last_image_url"]) == (IMAGE, END_IMAGE)
    assert seen[2][1]["duration"] == 5 and seen[2][1]["hdr"] is True and seen[2][1]["type"] == "video"
    assert seen[4][1] == {"model": "luma/ray-3.2", "prompt": "edit", "type": "video_edit", "video_url": VIDEO}


async def test_luma_v2_bodies_match_the_published_schema(recorder):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="luma-v2") as api:
        await api.create("a jellyfish in space")
        await api.create("every option", FULL.model_copy(update={"model": "ray-flash-2"}))
        await api.create("with images", WITH_IMAGES)
        await api.create("the first ray", VideoOptions(model="ray-1-6", loop=True))
        await api.extend(GEN_UUID, "forward", "forward")
        await api.extend(GEN_UUID, "backward", "backward")
        await api.extend(GEN_UUID, "bridge", other_id=OTHER_UUID)
    assert len(seen) == 7
    for path, body in seen:
        validate(path, body)
    assert seen[1][1]["duration"] == "9s" and seen[1][1]["model"] == "ray-flash-2"
    assert seen[3][1]["model"] == "ray-1-6"


async def test_legacy_bodies_match_the_published_schema(recorder):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="legacy") as api:
        await api.create("a jellyfish in space")
        await api.create("with images", WITH_IMAGES.model_copy(update={"aspect_ratio": "1:1"}))
        await api.extend(GEN_UUID, "forward", "forward")
    assert [path for path, _ in seen] == ["/luma-ai/generations", "/luma-ai/generations",
                                         f"/luma-ai/generations/{GEN_UUID}/extend"]
    for path, body in seen:
        validate(path, body)
    assert seen[1][1]["image_url"] == IMAGE and seen[1][1]["image_end_url"] == END_IMAGE


# -- every shape the catalog accepts, built by the dialect ---------------------------------------------

def _options(res, dur, ratio, loop, hdr, exr, vtype, source, images) -> VideoOptions:
    return VideoOptions(resolution=res, duration=dur, aspect_ratio=ratio, loop=loop, hdr=hdr, exr_export=exr,
                        video_type=vtype, source_video_url=source, start_image_url=images[0],
                        end_image_url=images[1])


def accepted_shapes(spec):
    """Every combination of the model's own values (None: left to the API) that option_problems accepts.

    The fields the rules tie together are crossed and filtered first; aspect ratio and images
    (which no rule ties to anything) are then crossed with every survivor, and each result is
    checked again, so none is assumed."""
    coupled = product(
        (None, *spec.resolutions), (None, *spec.durations), FLAGS,
        FLAGS if spec.hdr else (None, False), FLAGS if spec.exr_export else (None, False),
        (None, *spec.types), (None, VIDEO) if spec.has_type_field else (None,),
    )
    survivors = [shape for shape in coupled
                 if not option_problems(spec, _options(*shape[:2], None, *shape[2:], IMAGES[0]))]
    for (res, dur, loop, hdr, exr, vtype, source), ratio, images in product(
            survivors, (None, *spec.aspect_ratios), IMAGES if spec.images else IMAGES[:1]):
        options = _options(res, dur, ratio, loop, hdr, exr, vtype, source, images)
        assert option_problems(spec, options) == [], options
        yield options


def built_bodies(spec, options):
    dialect = get_dialect(spec.dialect)
    yield dialect.create("p", options, spec.name)
    if spec.extend_by_id:
        for how in EXTENDS:
            yield dialect.extend(f"{GEN_UUID}:{spec.api_name}", "p", "backward" if how == "backward" else "forward",
                                 options, spec.name, OTHER_UUID if how == "bridge" else None)


@pytest.mark.parametrize("dialect,name", [(spec.dialect, spec.name) for dialect in ("unified", "luma-v2")
                                          for spec in models_for(dialect)])
def test_every_accepted_shape_makes_a_valid_body(dialect, name):
    spec = find_model(dialect, name)
    seen: set[str] = set()
    shapes = 0
    for options in accepted_shapes(spec):
        shapes += 1
        for request in built_bodies(spec, options):
            key = json.dumps(request.json, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            assert None not in request.json.values(), request.json
            assert conforms(request.path, request.json), f"{options!r} -> {request.json}"
            if len(seen) % 97 == 1:  # the whole validator on a spread-out sample
                validate(request.path, request.json)
    assert shapes > 100 and len(seen) > 100  # guards the enumeration itself
    if name == "ray-3.2":
        assert shapes == len(seen) == 21_840


# -- the rules, derived from the schema files alone ----------------------------------------------------

def _default(schema: dict):
    value = schema.get("default")
    return int(value) if schema.get("type") == "integer" and value is not None else value


def documented_rules(schema: dict) -> list:
    """What ray-3.2's field descriptions say beyond the enums, as predicates over a body (with the
    schema's defaults for what the body leaves out). A rule is only in force when its words are."""
    props = schema["properties"]
    described = {name: prop.get("description", "") for name, prop in props.items()}

    def value(body, name):
        return body[name] if name in body else _default(props[name])

    rules = []
    # "Generate HDR output (5s, 720p/1080p only)."
    hdr = re.search(r"\((\d+)s, ([\w/]+) only\)", described.get("hdr", ""))
    if hdr:
        seconds, resolutions = int(hdr[1]), hdr[2].split("/")
        rules.append(lambda b: not value(b, "hdr") or (value(b, "duration") == seconds
                                                       and value(b, "resolution") in resolutions))
    if "requires hdr" in described.get("exr_export", ""):  # "Export EXR frames (requires hdr)."
        rules.append(lambda b: not value(b, "exr_export") or value(b, "hdr"))
    if "creation only" in described.get("loop", ""):  # "Seamlessly loop the video (creation only)."
        rules.append(lambda b: not value(b, "loop") or value(b, "type") == "video")
    if "for editing or reframing" in described.get("video_url", ""):  # "Source video URL for editing or reframing."
        rules.append(lambda b: ("video_url" in b) == (value(b, "type") in ("video_edit", "video_reframe")))
    return rules


def naive_body(schema: dict, options: VideoOptions, extend: str | None) -> dict:
    """Every chosen option as the field the schemas name, without asking the catalog what fits."""
    body = {"model": schema["properties"]["model"]["enum"][0], "prompt": "p"}
    for name, chosen in (("resolution", options.resolution), ("duration", options.duration),
                         ("aspect_ratio", options.aspect_ratio), ("loop", options.loop), ("hdr", options.hdr),
                         ("exr_export", options.exr_export), ("type", options.video_type),
                         ("video_url", options.source_video_url)):
        if chosen is not None:
            body[name] = chosen
    frames = {}
    if extend in ("forward", "bridge"):
        frames["frame0"] = {"type": "generation", "id": GEN_UUID}
    if extend in ("backward", "bridge"):
        frames["frame1"] = {"type": "generation", "id": OTHER_UUID if extend == "bridge" else GEN_UUID}
    if "keyframes" in schema["properties"]:
        if options.start_image_url:
            frames.setdefault("frame0", {"type": "image", "url": options.start_image_url})
        if options.end_image_url:
            frames.setdefault("frame1", {"type": "image", "url": options.end_image_url})
    else:
        for name, url in (("image_url", options.start_image_url), ("last_image_url", options.end_image_url)):
            if url:
                body[name] = url
    if frames:
        body["keyframes"] = frames  # where the schema has no keyframes, an extend by id has nowhere to go
    return body


@lru_cache(maxsize=None)
def _schema_accepts(model: str, body_json: str) -> bool:
    body = json.loads(body_json)
    schema = UNIFIED[model]
    return conforms("/v2/video/generations", body) and all(rule(body) for rule in documented_rules(schema))


def universe():
    """Every option shape VideoOptions admits, for any model. The fields the rules tie together are
    fully crossed; aspect ratio, images and the kind of extend take turns (each value many times)."""
    loose = cycle(product((None, *ASPECT_RATIOS), IMAGES, (None, *EXTENDS)))
    for res, dur, loop, hdr, exr, vtype, source, extending in product(
            (None, *RESOLUTIONS), (None, *DURATIONS), FLAGS, FLAGS, FLAGS,
            (None, "video", "video_edit", "video_reframe"), (None, VIDEO), (False, True)):
        ratio, images, extend = next(loose)
        yield _options(res, dur, ratio, loop, hdr, exr, vtype, source, images), (extend if extending else None)
    for ratio, images, extend in product((None, *ASPECT_RATIOS), IMAGES, (None, *EXTENDS)):
        yield _options(None, None, ratio, None, None, None, None, None, images), extend


@pytest.mark.parametrize("model", sorted(UNIFIED))
def test_the_catalog_refuses_exactly_what_the_schema_refuses(model):
    """Refused by option_problems => refused by the schema or a documented rule; accepted by both
    => nothing to say. Where only the schema refuses, the option is one the dialect leaves out
    (a False for a field the model lacks, "video" where there is no `type`): its real body must pass."""
    spec = find_model("unified", model)
    assert spec is not None, f"{model} has a schema but no entry in the catalog"
    schema = UNIFIED[model]
    dialect = get_dialect("unified")
    left_out = 0
    for options, extend in universe():
        problems = option_problems(spec, options, extending=extend is not None)
        naive = naive_body(schema, options, extend)
        documented = _schema_accepts(model, json.dumps(naive, sort_keys=True))
        if problems:
            assert not documented, f"{model} refuses {options!r} ({problems}) but the schema accepts {naive}"
            continue
        if not documented:
            left_out += 1
            assert options.hdr is not True and options.exr_export is not True, options
            assert options.video_type in (None, "video") and options.source_video_url is None, options
            request = (dialect.create("p", options, model) if extend is None else
                       dialect.extend(f"{GEN_UUID}:{model}", "p", "backward" if extend == "backward" else "forward",
                                      options, model, OTHER_UUID if extend == "bridge" else None))
            assert conforms(request.path, request.json), request.json
    if spec.hdr:
        assert left_out == 0  # ray-3.2 has every field: nothing to leave out
    else:
        assert left_out > 0


def test_the_derived_rules_are_the_four_documented_ones():
    """Guards the test above: the rules it derives from ray-3.2's schema are in force, and bite."""
    schema = UNIFIED["luma/ray-3.2"]
    assert len(documented_rules(schema)) == 4
    assert all(documented_rules(UNIFIED[m]) == [] for m in ("luma/ray-2", "luma/ray-flash-2"))

    def accepts(**fields):
        return _schema_accepts("luma/ray-3.2", json.dumps({"model": "luma/ray-3.2", "prompt": "p", **fields}))

    assert accepts(hdr=True) and accepts(hdr=True, resolution="1080p", duration=5, exr_export=True)
    assert not accepts(hdr=True, duration=10) and not accepts(hdr=True, resolution="540p")
    assert not accepts(exr_export=True) and accepts(exr_export=False)
    assert not accepts(loop=True, type="video_edit", video_url=VIDEO) and accepts(loop=False, type="video_edit",
                                                                                   video_url=VIDEO)
    assert not accepts(type="video_reframe") and not accepts(video_url=VIDEO)
    assert not accepts(resolution="4k") and not accepts(aspect_ratio="9:21") and not accepts(duration=9)
    assert not accepts(keyframes={"frame0": {"type": "generation", "id": GEN_UUID}})


# -- the table against the schemas ---------------------------------------------------------------------

def test_the_unified_table_is_the_schemas():
    """One entry per published schema, and each entry says what its schema says."""
    assert {spec.api_name for spec in models_for("unified")} == set(UNIFIED)
    for spec in models_for("unified"):
        props = UNIFIED[spec.api_name]["properties"]
        assert set(spec.resolutions) == set(props["resolution"]["enum"]), spec.name
        assert spec.default_resolution == props["resolution"]["default"]
        assert set(spec.durations) == set(props["duration"]["enum"]) and props["duration"]["type"] == "integer"
        assert spec.default_duration == _default(props["duration"])
        assert set(spec.aspect_ratios) == set(props["aspect_ratio"]["enum"])
        assert spec.default_aspect_ratio == props["aspect_ratio"]["default"]
        assert (spec.loop, spec.hdr, spec.exr_export) == ("loop" in props, "hdr" in props, "exr_export" in props)
        assert spec.types == (tuple(props["type"]["enum"]) if "type" in props else ("video",))
        assert spec.extend_by_id == ("keyframes" in props)
        assert spec.images == ("keyframes" in props or "image_url" in props)


def test_the_luma_v2_table_is_in_its_payload_schema():
    props = V2_CREATE["properties"]
    specs = models_for("luma-v2")
    assert {spec.api_name for spec in specs} == set(props["model"]["enum"])
    assert specs[0].api_name == props["model"]["default"]
    for spec in specs:
        assert set(spec.resolutions) <= set(props["resolution"]["enum"])
        assert {f"{d}s" for d in spec.durations} <= set(props["duration"]["enum"])
        assert set(spec.aspect_ratios) == set(props["aspect_ratio"]["enum"])
        assert not (spec.hdr or spec.exr_export or spec.has_type_field)


def test_the_validator_rejects_what_the_schema_forbids():
    """Guards the test itself: a validator that accepted everything would prove nothing."""
    bad_unified = (
        {"model": "luma/ray-2", "prompt": "x", "aspect_ratio": "19:9"},
        {"model": "luma/ray-2", "prompt": "x", "duration": "5"},
        {"model": "luma/ray-2", "prompt": "x", "duration": 10},
        {"model": "luma/ray-2", "prompt": "x", "hdr": False},  # not in its properties
        {"model": "luma/ray-2", "prompt": "x", "keyframes": {"frame0": {"type": "generation", "id": "nope"}}},
        {"model": "luma/ray-2", "prompt": "x", "keyframes": {"frame0": {"type": "image", "url": IMAGE, "id": "1"}}},
        {"model": "luma/ray-3.2", "prompt": "x", "resolution": "4k"},
        {"model": "luma/ray-3.2", "prompt": "x", "aspect_ratio": "9:21"},
        {"model": "luma/ray-3.2", "prompt": "x", "keyframes": {}},
    )
    for body in bad_unified:
        with pytest.raises(Exception):
            validate("/v2/video/generations", body)
    with pytest.raises(Exception):
        validate("/v2/generate/video/luma-ai/generation", {"prompt": "x", "surprise": 1})
    with pytest.raises(Exception):
        validate("/v2/generate/video/luma-ai/generation",
                 {"prompt": "x", "keyframes": {"frame0": {"type": "generation", "id": "not-a-uuid"}}})
    with pytest.raises(Exception):
        validate("/luma-ai/generations", {"user_prompt": "x"})
    with pytest.raises(KeyError):
        validate("/v2/video/generations", {"model": "luma/ray-1-6", "prompt": "x"})  # retired: no schema today
