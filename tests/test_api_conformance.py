"""Every request body the API module sends must satisfy the provider's published schema.

The schemas are copies of ../shared/api-docs (tests/data/schemas): the project stands on its
own. A recording server captures what the module really puts on the wire.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from aiohttp import web
from openapi_schema_validator import OAS30Validator
from jsonschema import FormatChecker

from bot.api import VideoAPI, VideoOptions

SCHEMAS = Path(__file__).parent / "data" / "schemas"
UNIFIED = json.loads((SCHEMAS / "unified-v2-video.json").read_text())
LUMA_V2 = json.loads((SCHEMAS / "luma-v2-openapi.json").read_text())
LEGACY = json.loads((SCHEMAS / "legacy-v1.json").read_text())

GEN_UUID = "0f3ea4aa-10e7-4dae-af0b-263ab4ac45f9"
OTHER_UUID = "7c880e75-9892-4238-8464-49cb0c6deabd"
IMAGE = "https://cdn.discordapp.com/attachments/1/2/start.png"
END_IMAGE = "https://cdn.discordapp.com/attachments/1/2/end.png"


def schema_for(path: str, body: dict) -> dict:
    """The published schema that governs this request."""
    if path == "/v2/video/generations":
        model = body.get("model")
        if model == "luma/ray-1-6":
            return LUMA_V2["POST /v2/video/generations (model luma/ray-1-6)"]
        return UNIFIED[f"POST /v2/video/generations (model {model})"]
    if path == "/v2/generate/video/luma-ai/generation":
        return LUMA_V2["POST /v2/generate/video/luma-ai/generation"]
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


def validate(path: str, body: dict) -> None:
    OAS30Validator(strict(schema_for(path, body)), format_checker=FormatChecker()).validate(body)


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
IMAGES = VideoOptions(start_image_url=IMAGE, end_image_url=END_IMAGE)


@pytest.mark.parametrize("model", ["ray-2", "ray-flash-2", "ray-1-6"])
async def test_unified_bodies_match_the_published_schema(recorder, model):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="unified", default_model=model) as api:
        await api.create("a jellyfish in space")
        await api.create("with images", IMAGES)
        if model != "ray-1-6":
            await api.create("every option", FULL)
        await api.extend(f"{GEN_UUID}:luma/ray-2", "forward", "forward")
        await api.extend(f"{GEN_UUID}:luma/ray-2", "backward", "backward")
        await api.extend(GEN_UUID, "bridge", other_id=OTHER_UUID)
    assert len(seen) == (6 if model != "ray-1-6" else 5)
    for path, body in seen:
        validate(path, body)
    assert seen[-3][1]["keyframes"] == {"frame0": {"type": "generation", "id": GEN_UUID}}
    assert seen[-2][1]["keyframes"] == {"frame1": {"type": "generation", "id": GEN_UUID}}
    assert seen[-1][1]["keyframes"] == {"frame0": {"type": "generation", "id": GEN_UUID},
                                        "frame1": {"type": "generation", "id": OTHER_UUID}}


async def test_luma_v2_bodies_match_the_published_schema(recorder):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="luma-v2") as api:
        await api.create("a jellyfish in space")
        await api.create("every option", FULL.model_copy(update={"model": "ray-flash-2"}))
        await api.create("with images", IMAGES)
        await api.extend(GEN_UUID, "forward", "forward")
        await api.extend(GEN_UUID, "backward", "backward")
        await api.extend(GEN_UUID, "bridge", other_id=OTHER_UUID)
    assert len(seen) == 6
    for path, body in seen:
        validate(path, body)
    assert seen[1][1]["duration"] == "9s" and seen[1][1]["model"] == "ray-flash-2"


async def test_legacy_bodies_match_the_published_schema(recorder):
    url, seen = recorder
    async with VideoAPI("key", base_url=url, dialect="legacy") as api:
        await api.create("a jellyfish in space")
        await api.create("with images", IMAGES.model_copy(update={"aspect_ratio": "1:1"}))
        await api.extend(GEN_UUID, "forward", "forward")
    assert [path for path, _ in seen] == ["/luma-ai/generations", "/luma-ai/generations",
                                         f"/luma-ai/generations/{GEN_UUID}/extend"]
    for path, body in seen:
        validate(path, body)
    assert seen[1][1]["image_url"] == IMAGE and seen[1][1]["image_end_url"] == END_IMAGE


def test_the_validator_rejects_what_the_schema_forbids():
    """Guards the test itself: a validator that accepted everything would prove nothing."""
    with pytest.raises(Exception):
        validate("/v2/video/generations", {"model": "luma/ray-2", "prompt": "x", "aspect_ratio": "19:9"})
    with pytest.raises(Exception):
        validate("/v2/video/generations", {"model": "luma/ray-2", "prompt": "x", "duration": "5s"})
    with pytest.raises(Exception):
        validate("/v2/generate/video/luma-ai/generation", {"prompt": "x", "surprise": 1})
    with pytest.raises(Exception):
        validate("/v2/generate/video/luma-ai/generation",
                 {"prompt": "x", "keyframes": {"frame0": {"type": "generation", "id": "not-a-uuid"}}})
    with pytest.raises(Exception):
        validate("/luma-ai/generations", {"user_prompt": "x"})
