"""The simulator as the provider serves its API today (shared/api-docs/current): per-model schemas,
prices, run times, the catalogue, tracing headers, usage logs, and creates whose answer is lost.

Every test talks to a simulator on a real port through a real aiohttp client and asserts what
that client sees: status, body, headers.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest

from bot.simulator import (
    DEFAULT_PRICES,
    FAULTS,
    LOSE_ANSWER,
    Simulator,
    SimulatorConfig,
    run_simulator,
    unified_run_seconds,
)
from bot.simulator.logs import LogBook
from tests.sim_fixtures import KEY, OTHER_KEY, Factory, make, manual  # noqa: F401 (fixtures)

UNIFIED = "/v2/video/generations"
LOGS = "/v2/logs"
MODELS = "/v1/models"
IMAGE = "https://example.com/start.jpg"
VIDEO = "https://example.com/source.mp4"
ETAG = re.compile(r'^W/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$')
INFERENCE_HEADERS = {"x-inference-id", "x-client-request-id", "x-aimlapi-credits-used", "x-aimlapi-usd-spent"}



async def call(session: aiohttp.ClientSession, method: str, path: str,
               **kwargs: Any) -> tuple[int, Any, Any]:
    async with session.request(method, path, **kwargs) as response:
        return response.status, await response.json(), response.headers


def row_count(body: dict[str, Any]) -> int:
    return body["pagination"]["total"]


def assert_error_body(body: dict[str, Any], status: int, path: str) -> None:
    assert set(body) >= {"statusCode", "message", "path", "requestId", "timestamp"}
    assert body["statusCode"] == status and body["path"] == path
    assert uuid.UUID(body["requestId"])


# -- per-model schemas -----------------------------------------------------------------------------

VALID_BODIES = [
    {"model": "luma/ray-2", "prompt": "x"},
    {"model": "luma/ray-2", "prompt": "x", "resolution": "4k", "duration": 9, "aspect_ratio": "9:21", "loop": True,
     "keyframes": {"frame0": {"type": "image", "url": IMAGE}, "frame1": None}},
    {"model": "luma/ray-flash-2", "prompt": "x", "resolution": "540p", "duration": 5, "aspect_ratio": "1:1"},
    {"model": "luma/ray-3.2", "prompt": "x"},
    {"model": "luma/ray-3.2", "prompt": "x", "type": "video", "resolution": "360p", "duration": 10,
     "aspect_ratio": "21:9", "loop": True, "image_url": IMAGE, "last_image_url": IMAGE},
    {"model": "luma/ray-3.2", "prompt": "x", "hdr": True, "resolution": "1080p", "duration": 5, "exr_export": True},
    {"model": "luma/ray-3.2", "prompt": "x", "hdr": True},  # defaults 720p, 5 s: HDR is allowed
    {"model": "luma/ray-3.2", "prompt": "x", "type": "video_edit", "video_url": VIDEO},
    {"model": "luma/ray-3.2", "prompt": "x", "type": "video_reframe", "video_url": VIDEO, "aspect_ratio": "9:16"},
]


@pytest.mark.parametrize("payload", VALID_BODIES)
async def test_each_model_accepts_its_own_valid_bodies(make: Factory, payload: dict) -> None:
    sim, session = await make()
    status, body, headers = await call(session, "POST", UNIFIED, json=payload)
    assert status == 200, body
    assert body["id"].endswith(f":{payload['model']}") and body["status"] == "queued"
    assert sim.job(body["id"]).model == payload["model"]


@pytest.mark.parametrize(("payload", "field"), [
    # Fields of another model: the server refuses unknown fields on every unified model.
    ({"model": "luma/ray-2", "prompt": "x", "hdr": True}, "hdr"),
    ({"model": "luma/ray-2", "prompt": "x", "type": "video"}, "type"),
    ({"model": "luma/ray-flash-2", "prompt": "x", "image_url": IMAGE}, "image_url"),
    ({"model": "luma/ray-flash-2", "prompt": "x", "video_url": VIDEO}, "video_url"),
    ({"model": "luma/ray-3.2", "prompt": "x", "keyframes": {"frame0": {"type": "image", "url": IMAGE}}}, "keyframes"),
    ({"model": "luma/ray-3.2", "prompt": "x",
      "keyframes": {"frame0": {"type": "generation", "id": str(uuid.uuid4())}}}, "keyframes"),
    ({"model": "luma/ray-3.2", "prompt": "x", "colour": "red"}, "colour"),
    # Each model's own enums.
    ({"model": "luma/ray-2", "prompt": "x", "duration": 10}, "duration"),
    ({"model": "luma/ray-2", "prompt": "x", "resolution": "360p"}, "resolution"),
    ({"model": "luma/ray-3.2", "prompt": "x", "duration": 9}, "duration"),
    # The docs' examples send duration "5"; the schemas say integer.
    ({"model": "luma/ray-2", "prompt": "x", "duration": "5"}, "duration"),
    ({"model": "luma/ray-flash-2", "prompt": "x", "duration": "5"}, "duration"),
    ({"model": "luma/ray-3.2", "prompt": "x", "duration": "5", "image_url": IMAGE}, "duration"),
    ({"model": "ray-2", "prompt": "x"}, "model"),  # the alias is the catalogue's, not the endpoint's
    ({"model": "luma/ray-3", "prompt": "x"}, "model"),
])
async def test_each_model_refuses_what_its_schema_does_not_allow(make: Factory, payload: dict, field: str) -> None:
    sim, session = await make()
    status, body, _ = await call(session, "POST", UNIFIED, json=payload)
    assert status == 400
    assert_error_body(body, 400, UNIFIED)
    assert body["message"] == "Body validation error!"
    assert field in [error["path"] for error in body["errors"]]
    assert sim.jobs() == []


@pytest.mark.parametrize(("extra", "field"), [
    ({"resolution": "4k"}, "resolution"),
    ({"aspect_ratio": "9:21"}, "aspect_ratio"),
    ({"hdr": True, "duration": 10}, "hdr"),
    ({"hdr": True, "resolution": "540p"}, "hdr"),
    ({"hdr": True, "resolution": "360p"}, "hdr"),
    ({"exr_export": True}, "exr_export"),
    ({"exr_export": True, "hdr": False}, "exr_export"),
    ({"loop": True, "type": "video_edit", "video_url": VIDEO}, "loop"),
    ({"loop": True, "type": "video_reframe", "video_url": VIDEO}, "loop"),
    ({"type": "video_edit"}, "video_url"),
    ({"type": "video_reframe", "image_url": IMAGE}, "video_url"),
    ({"type": "video_edit", "video_url": VIDEO, "last_image_url": IMAGE}, "last_image_url"),
])
async def test_ray_3_2_cross_field_rules(make: Factory, extra: dict, field: str) -> None:
    sim, session = await make(credits={KEY: 100_000_000})
    status, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-3.2", "prompt": "x", **extra})
    assert status == 400
    assert body["message"] == "Body validation error!"
    assert field in [error["path"] for error in body["errors"]]
    assert sim.jobs() == [] and sim.balance(KEY) == 100_000_000


async def test_ray_1_6_is_retired_with_404(make: Factory) -> None:
    sim, session = await make(credits={KEY: 10_000_000})
    status, body, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-1-6", "prompt": "x"})
    assert status == 404
    assert set(body) == {"statusCode", "message", "path", "requestId", "timestamp"}
    assert_error_body(body, 404, UNIFIED)
    assert body["message"] == "Model luma/ray-1-6 is no longer supported"
    assert body["timestamp"].endswith("Z")
    assert sim.jobs() == [] and sim.balance(KEY) == 10_000_000
    assert headers["x-aimlapi-credits-used"] == "0"


async def test_fetch_works_for_every_model(manual) -> None:
    sim, session, clock = manual
    ids = [(await call(session, "POST", UNIFIED, json={"model": model, "prompt": "x"}))[1]["id"]
           for model in ("luma/ray-2", "luma/ray-flash-2", "luma/ray-3.2")]
    clock.advance(200)
    for job_id in ids:
        for given in (job_id, job_id.split(":")[0]):
            status, body, _ = await call(session, "GET", UNIFIED, params={"generation_id": given})
            assert status == 200 and body["id"] == job_id and body["status"] == "completed"


async def test_generation_keyframes_take_a_bare_uuid_of_a_completed_job(manual) -> None:
    sim, session, clock = manual
    _, source, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-flash-2", "prompt": "x"})
    clock.advance(100)
    frames = {"frame0": {"type": "generation", "id": source["id"].split(":")[0]}}
    status, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "y",
                                                                  "keyframes": frames})
    assert status == 200 and sim.job(body["id"]).parents == (source["id"],)


# -- prices, credits and balance -------------------------------------------------------------------

def test_default_prices_are_the_catalogue_blocks() -> None:
    ray_3_2 = {(v["when"]["resolution"], v["when"]["hdr"]): v["price"] for v in DEFAULT_PRICES["luma/ray-3.2"]["variants"]}
    assert ray_3_2 == {("360p", False): 0.13, ("540p", False): 0.26, ("720p", False): 0.39,
                       ("1080p", False): 0.65, ("720p", True): 0.78, ("1080p", True): 1.30}
    assert DEFAULT_PRICES["luma/ray-flash-2"] == {"kind": "fixed", "currency": "USD",
                                                  "units": [{"name": "second", "price": 0.06, "per": 1}]}
    sim = Simulator()
    assert sim.quote("luma/ray-2", {}).credits == 4_500_000  # default 1080p, 5 s
    assert sim.quote("luma/ray-2", {"resolution": "4k", "duration": 9}).credits == 16_200_000
    assert sim.quote("luma/ray-flash-2", {"duration": 9}).credits == 1_080_000
    assert sim.quote("luma/ray-3.2", {}).credits == 3_900_000  # default 720p, 5 s, no HDR
    assert sim.quote("luma/ray-3.2", {"hdr": True, "resolution": "1080p"}).credits == 13_000_000


@pytest.mark.parametrize(("extra", "credits", "usd"), [
    ({"resolution": "1080p"}, 6_500_000, "3.250000000"),  # the docs' example: $0.65 x 5 s
    ({"resolution": "1080p", "duration": 10}, 13_000_000, "6.500000000"),
])
async def test_completed_job_reports_its_price(manual, extra: dict, credits: int, usd: str) -> None:
    sim, session, clock = manual
    sim.set_credits(KEY, 20_000_000)
    status, body, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-3.2", "prompt": "x", **extra})
    assert status == 200 and body["meta"] is None
    assert headers["x-aimlapi-credits-used"] == "0" and headers["x-aimlapi-usd-spent"] == "0.000000000"
    assert sim.balance(KEY) == 20_000_000 - credits  # held at create
    clock.advance(200)
    _, fetched, headers = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["status"] == "completed"
    assert fetched["meta"] == {"usage": {"credits_used": credits, "usd_spent": float(usd)}}
    assert headers["x-aimlapi-credits-used"] == str(credits) and headers["x-aimlapi-usd-spent"] == usd
    assert sim.balance(KEY) == 20_000_000 - credits


@pytest.mark.parametrize(("report", "in_body", "in_header"), [
    ("both", True, True), ("body", True, False), ("header", False, True), ("none", False, False),
])
async def test_report_credits_chooses_where_the_cost_appears(manual, report: str, in_body: bool,
                                                             in_header: bool) -> None:
    sim, session, clock = manual
    sim.set_faults(report_credits=report)
    _, body, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-flash-2", "prompt": "x"})
    assert ("x-aimlapi-credits-used" in headers) is in_header
    clock.advance(100)
    _, fetched, headers = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["status"] == "completed"
    assert fetched["meta"] == ({"usage": {"credits_used": 600_000, "usd_spent": 0.3}} if in_body else None)
    assert headers.get("x-aimlapi-credits-used") == ("600000" if in_header else None)
    assert headers.get("x-aimlapi-usd-spent") == ("0.300000000" if in_header else None)
    assert "x-inference-id" in headers  # the correlation headers stay


@pytest.mark.parametrize("delta", [1_000, -250_000])
async def test_credits_used_delta_bills_more_or_less_than_quoted(manual, delta: int) -> None:
    sim, session, clock = manual
    sim.set_faults(credits_used_delta=delta)
    sim.set_credits(KEY, 10_000_000)
    _, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-3.2", "prompt": "x",
                                                            "resolution": "1080p"})
    assert sim.balance(KEY) == 10_000_000 - 6_500_000  # the quote is held
    clock.advance(200)
    _, fetched, headers = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["meta"]["usage"]["credits_used"] == 6_500_000 + delta
    assert headers["x-aimlapi-credits-used"] == str(6_500_000 + delta)
    assert sim.balance(KEY) == 10_000_000 - 6_500_000 - delta  # the bill settles on completion
    assert sim.log_rows(KEY)[0]["cost"]["credits"] == 6_500_000 + delta


async def test_credits_used_override_still_wins_the_report(manual) -> None:
    sim, session, clock = manual
    sim.set_faults(credits_used=120_000)
    _, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    clock.advance(100)
    _, fetched, headers = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["meta"] == {"usage": {"credits_used": 120_000, "usd_spent": 0.06}}
    assert headers["x-aimlapi-credits-used"] == "120000"


async def test_balance_holds_and_a_failed_job_is_billed_nothing(manual) -> None:
    sim, session, clock = manual
    sim.set_credits(KEY, 5_000_000)
    _, failing, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "FAIL this"})
    assert sim.balance(KEY) == 500_000
    status, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    assert status == 403 and body["message"] == "Insufficient credits"
    clock.advance(100)
    _, fetched, headers = await call(session, "GET", UNIFIED, params={"generation_id": failing["id"]})
    assert fetched["status"] == "error" and fetched["meta"] is None
    assert headers["x-aimlapi-credits-used"] == "0"
    assert sim.balance(KEY) == 5_000_000  # the hold came back
    status, _, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    assert status == 200 and sim.balance(KEY) == 500_000


async def test_finish_now_failed_refunds_the_hold(manual) -> None:
    sim, session, clock = manual
    sim.set_credits(KEY, 5_000_000)
    _, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    clock.advance(1)
    sim.finish_now(body["id"], failed=True)
    assert sim.balance(KEY) == 5_000_000


# -- run times -------------------------------------------------------------------------------------

def test_run_time_function() -> None:
    assert unified_run_seconds(20, "luma/ray-2", "720p", 5) == pytest.approx(20)
    assert unified_run_seconds(20, "luma/ray-flash-2", "540p", 5) == pytest.approx(5.6)
    assert unified_run_seconds(20, "luma/ray-3.2", "1080p", 10) == pytest.approx(96)
    assert unified_run_seconds(20, "luma/ray-2", "4k", 9) == pytest.approx(108)
    assert unified_run_seconds(20, "luma/ray-3.2", "360p", 5) == pytest.approx(15)


async def test_flash_540p_finishes_well_before_ray_3_2_1080p_10s(make: Factory) -> None:
    # Scaled by 0.01: flash is done after 0.03 + 0.056 s, ray-3.2 needs 0.03 + 0.96 s.
    _, session = await make()
    _, slow, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-3.2", "prompt": "x",
                                                            "resolution": "1080p", "duration": 10})
    _, fast, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-flash-2", "prompt": "x",
                                                            "resolution": "540p", "duration": 5})
    await asyncio.sleep(0.3)
    assert (await call(session, "GET", UNIFIED, params={"generation_id": fast["id"]}))[1]["status"] == "completed"
    assert (await call(session, "GET", UNIFIED, params={"generation_id": slow["id"]}))[1]["status"] == "generating"


async def test_luma_v2_runs_by_option_and_keeps_its_flat_price(manual) -> None:
    # luma-v2 now times its jobs per option too (tests/test_simulator_timing.py has the table):
    # ray-2 4k 9 s runs 20 x 3.0 x 9/5 = 108 s; a bare request is the reference, run_seconds.
    sim, session, clock = manual
    _, body, _ = await call(session, "POST", "/v2/generate/video/luma-ai/generation",
                            json={"prompt": "x", "resolution": "4k", "duration": "9s"})
    _, bare, _ = await call(session, "POST", "/v2/generate/video/luma-ai/generation", json={"prompt": "x"})
    assert sim.job(body["id"]).completed_at == pytest.approx(3.0 + 108.0)
    assert sim.job(bare["id"]).completed_at == pytest.approx(23.0)
    assert sim.job(body["id"]).cost == sim.job(bare["id"]).cost == 500_000


# -- catalogue -------------------------------------------------------------------------------------

async def test_catalogue_needs_no_key_and_lists_live_models() -> None:
    async with run_simulator(SimulatorConfig(api_keys={KEY})) as (sim, url):
        async with aiohttp.ClientSession(url) as anonymous:
            status, body, headers = await call(anonymous, "GET", MODELS)
            keyed = await call(anonymous, "GET", MODELS, headers={"Authorization": f"Bearer {KEY}"})
    assert status == 200 and body["object"] == "list"
    ids = [item["id"] for item in body["data"]]
    assert {"luma/ray-2", "luma/ray-flash-2", "luma/ray-3.2"} <= set(ids) and len(ids) >= 5
    assert "luma/ray-1-6" not in ids
    for item in body["data"]:
        assert {"id", "aliases", "type", "info", "tags"} <= set(item)
        assert {"name", "developer"} <= set(item["info"])
        assert "pricing" not in item and "modalities" not in item and "capabilities" not in item
    ray = next(item for item in body["data"] if item["id"] == "luma/ray-2")
    assert ray["aliases"] == ["ray-2"] and ray["info"]["developer"] == "Luma AI"
    assert ETAG.match(headers["ETag"])
    assert keyed[0] == 200 and keyed[1] == body  # a key is accepted too
    assert sim.counters.catalogue_requests == 2


@pytest.mark.parametrize(("params", "expected"), [
    ({"id": "RAY-2"}, ["luma/ray-2"]),
    ({"id": "Luma/Ray-3.2"}, ["luma/ray-3.2"]),
    ({"id": "ray-2,gpt-4o"}, ["luma/ray-2", "openai/gpt-4o"]),
    ([("id", "ray-flash-2"), ("id", "veo-2.0-generate-001")], ["luma/ray-flash-2", "google/veo-2.0-generate-001"]),
    ({"id": "luma/ray-1-6"}, []),
    ({"id": "nothing"}, []),
    ({"output_modalities": "video", "capabilities": "hdr"}, ["luma/ray-3.2"]),
    ({"tags": "playground:chat"}, ["openai/gpt-4o"]),
])
async def test_catalogue_id_and_filters(make: Factory, params: Any, expected: list[str]) -> None:
    _, session = await make()
    status, body, _ = await call(session, "GET", MODELS, params=params)
    assert status == 200 and [item["id"] for item in body["data"]] == expected


async def test_catalogue_include_sections(make: Factory) -> None:
    _, session = await make()
    _, body, _ = await call(session, "GET", MODELS, params={"id": "ray-3.2", "include": "pricing,bogus"})
    (item,) = body["data"]
    assert item["pricing"] == DEFAULT_PRICES["luma/ray-3.2"]
    assert "modalities" not in item and "capabilities" not in item
    _, body, _ = await call(session, "GET", MODELS, params=[("id", "ray-2"), ("include", "modalities"),
                                                            ("include", "capabilities")])
    assert set(body["data"][0]) == {"id", "aliases", "type", "info", "tags", "modalities", "capabilities"}
    for params in ({"id": "ray-2", "include": "all"}, {"id": "ray-2", "details": "true"}):
        _, body, _ = await call(session, "GET", MODELS, params=params)
        assert {"pricing", "modalities", "capabilities"} <= set(body["data"][0])


async def test_catalogue_etag_then_304_then_new_etag_after_a_price_change(make: Factory) -> None:
    sim, session = await make()
    params = {"id": "ray-2", "include": "pricing"}
    async with session.get(MODELS, params=params) as response:
        first = response.headers["ETag"]
        assert response.status == 200 and ETAG.match(first)
    async with session.get(MODELS, params=params, headers={"If-None-Match": first}) as response:
        assert response.status == 304 and await response.read() == b""
    assert sim.counters.catalogue_not_modified == 1
    async with session.get(MODELS, params={"id": "ray-flash-2"}, headers={"If-None-Match": first}) as response:
        assert response.status == 200 and response.headers["ETag"] != first  # the ETag covers the body

    new_block = {"kind": "variants", "currency": "USD", "dimensions": ["resolution"],
                 "variants": [{"when": {"resolution": r}, "price": 0.5, "unit": "second", "per": 1}
                              for r in ("540p", "720p", "1080p", "4k")]}
    sim.set_price("luma/ray-2", new_block)
    async with session.get(MODELS, params=params, headers={"If-None-Match": first}) as response:
        assert response.status == 200 and response.headers["ETag"] != first
        assert (await response.json())["data"][0]["pricing"] == new_block
    status, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    assert status == 200 and sim.job(body["id"]).cost == 5_000_000  # $0.50 x 5 s
    with pytest.raises(KeyError):
        sim.set_price("luma/ray-9", new_block)
    with pytest.raises(ValueError):
        sim.set_price("luma/ray-2", {"kind": "flat"})


async def test_model_lookup_route(make: Factory) -> None:
    _, session = await make()
    status, body, headers = await call(session, "GET", "/model/luma/ray-3.2", params={"include": "pricing"})
    assert status == 200 and body["object"] == "model" and body["data"]["id"] == "luma/ray-3.2"
    assert "pricing" in body["data"] and ETAG.match(headers["ETag"])
    status, body, _ = await call(session, "GET", "/model/RAY-2")
    assert status == 200 and body["data"]["id"] == "luma/ray-2" and "pricing" not in body["data"]
    status, body, _ = await call(session, "GET", "/model/luma/ray-1-6")
    assert status == 404 and body["statusCode"] == 404
    status, _, _ = await call(session, "GET", "/v1/model/luma/ray-2")  # not under /v1
    assert status == 404


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_catalogue_fault_makes_it_unreachable(make: Factory, fault: str) -> None:
    sim, session = await make(catalogue_fault=fault)
    for path in (MODELS, "/model/luma/ray-2"):
        status, body, _ = await call(session, "GET", path)
        assert status == int(fault) and body["statusCode"] == int(fault)
    assert sim.counters.catalogue_requests == 2
    sim.set_faults(catalogue_fault=None)
    assert (await call(session, "GET", MODELS))[0] == 200


async def test_catalogue_fault_drop_closes_the_connection(make: Factory) -> None:
    _, session = await make(catalogue_fault="drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(session, "GET", MODELS)


# -- tracing headers -------------------------------------------------------------------------------

async def test_tracing_headers_on_create_and_fetch(manual) -> None:
    sim, session, clock = manual
    sent = {"X-Client-Request-Id": "order-8f21c4:a.b_c"}
    status, body, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"},
                                       headers=sent)
    assert status == 200
    assert headers["x-inference-id"] == body["id"]
    assert headers["x-client-request-id"] == "order-8f21c4:a.b_c"
    assert headers["x-aimlapi-credits-used"] == "0"
    assert set(h.strip() for h in headers["Access-Control-Expose-Headers"].split(",")) == INFERENCE_HEADERS
    assert sim.job(body["id"]).client_request_id == "order-8f21c4:a.b_c"

    _, _, polled = await call(session, "GET", UNIFIED, params={"generation_id": body["id"].split(":")[0]})
    assert polled["x-inference-id"] == body["id"]  # a submit and its polls share one id
    assert "x-client-request-id" not in polled  # none sent with the poll

    status, _, refused = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2"}, headers=sent)
    assert status == 400
    assert refused["x-inference-id"] and refused["x-inference-id"] != body["id"]  # a fresh one
    assert refused["x-client-request-id"] == "order-8f21c4:a.b_c"

    status, _, malformed = await call(session, "GET", UNIFIED, params={"generation_id": "not an id"})
    assert status == 404 and "x-inference-id" not in malformed  # a malformed poll id: left out


@pytest.mark.parametrize("client_id", ["has space", "x" * 129, "order#1", "ünïcode", ""])
async def test_invalid_client_request_id_is_silently_dropped(make: Factory, client_id: str) -> None:
    sim, session = await make()
    status, body, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"},
                                       headers={"X-Client-Request-Id": client_id})
    assert status == 200  # never a reason to fail
    assert "x-client-request-id" not in headers and headers["x-inference-id"] == body["id"]
    assert sim.job(body["id"]).client_request_id is None
    _, logs, _ = await call(session, "GET", LOGS, params={"period": "1h"})
    assert [row["client_request_id"] for row in logs["data"]] == [None]


async def test_longest_valid_client_request_id_is_echoed(make: Factory) -> None:
    _, session = await make()
    client_id = "A" * 128
    _, _, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"},
                               headers={"X-Client-Request-Id": client_id})
    assert headers["x-client-request-id"] == client_id


# -- usage logs ------------------------------------------------------------------------------------

async def test_logs_need_a_key(make: Factory) -> None:
    _, session = await make()
    status, body, _ = await call(session, "GET", LOGS, params={"period": "1h"}, headers={"Authorization": ""})
    assert status == 401 and body["statusCode"] == 401


async def test_log_rows_follow_the_schema_and_show_cost_after_completion(manual) -> None:
    sim, session, clock = manual
    _, body, _ = await call(session, "POST", UNIFIED, json={"model": "luma/ray-3.2", "prompt": "x",
                                                            "resolution": "1080p"},
                            headers={"X-Client-Request-Id": "job-1"})
    await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x", "duration": "5"})
    await call(session, "GET", UNIFIED, params={"generation_id": body["id"]}, headers={"Authorization": "Bearer no"})

    status, logs, _ = await call(session, "GET", LOGS, params={"period": "24h"})
    assert status == 200
    refused, poll, create = logs["data"]  # newest first; the 401 left no row
    for row in logs["data"]:
        assert set(row) == {"created", "status", "origin", "model", "cost", "tokens", "request_id",
                            "inference_id", "client_request_id"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["created"])
        assert row["origin"] == "api" and row["tokens"] == {"input": 0, "output": 0, "total": 0}
    assert create["status"] == "succeeded" and create["model"] == "luma/ray-3.2"
    assert create["inference_id"] == body["id"] and create["client_request_id"] == "job-1"
    assert create["cost"] == {"usd": 0.0, "credits": 0}  # not completed yet
    assert poll["inference_id"] == body["id"] and poll["client_request_id"] is None
    assert refused["status"] == "failed" and refused["model"] == "luma/ray-2" and refused["cost"]["credits"] == 0
    assert logs["pagination"] == {"limit": 50, "offset": 0, "total": 3, "has_more": False}

    clock.advance(200)
    _, logs, _ = await call(session, "GET", LOGS, params={"period": "24h"})
    assert logs["data"][2]["cost"] == {"usd": 3.25, "credits": 6_500_000}
    assert logs["data"][1]["cost"]["credits"] == 0  # a poll costs nothing


async def test_a_failed_job_logs_failed_with_zero_cost(manual) -> None:
    _, session, clock = manual
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "FAIL"})
    clock.advance(100)
    _, logs, _ = await call(session, "GET", LOGS, params={"period": "1h", "status": "failed"})
    assert [(row["status"], row["cost"]["credits"]) for row in logs["data"]] == [("failed", 0)]


@pytest.mark.parametrize("params", [
    {},
    {"period": "1d", "start": "2026-07-01T00:00:00Z", "end": "2026-07-02T00:00:00Z"},
    {"period": "1d", "start": "2026-07-01T00:00:00Z"},
    {"start": "2026-07-01T00:00:00Z"},
    {"end": "2026-07-01T00:00:00Z"},
    {"period": "7w"},
    {"period": "0d"},
    {"period": "-1h"},
    {"period": "93d"},
    {"period": "2209h"},
    {"start": "2026-07-02T00:00:00Z", "end": "2026-07-01T00:00:00Z"},
    {"start": "2026-01-01T00:00:00Z", "end": "2026-04-03T00:00:01Z"},
    {"start": "yesterday", "end": "2026-07-01T00:00:00Z"},
    {"period": "1h", "status": "succeeded,failed"},
    {"period": "1h", "status": "ok"},
    {"period": "1h", "limit": "0"},
    {"period": "1h", "limit": "101"},
    {"period": "1h", "limit": "ten"},
    {"period": "1h", "offset": "-1"},
])
async def test_logs_refuse_bad_parameters(make: Factory, params: dict) -> None:
    _, session = await make()
    status, body, _ = await call(session, "GET", LOGS, params=params)
    assert status == 400 and body["statusCode"] == 400 and body["path"] == LOGS


@pytest.mark.parametrize("params", [
    {"period": "92d"},
    {"start": "2026-01-01T00:00:00Z", "end": "2026-04-03T00:00:00Z"},  # exactly 92 days
    {"start": "2026-07-01", "end": "2026-07-01"},  # no offset: UTC; end may equal start
])
async def test_logs_accept_the_edges(make: Factory, params: dict) -> None:
    _, session = await make()
    status, body, _ = await call(session, "GET", LOGS, params=params)
    assert status == 200 and body["data"] == []


async def test_logs_window_without_offset_is_utc(make: Factory) -> None:
    _, session = await make()
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    around = {"start": (now - timedelta(minutes=5)).isoformat(), "end": (now + timedelta(minutes=5)).isoformat()}
    _, body, _ = await call(session, "GET", LOGS, params=around)
    assert row_count(body) == 1
    earlier = {"start": (now - timedelta(hours=3)).isoformat(), "end": (now - timedelta(hours=2)).isoformat()}
    _, body, _ = await call(session, "GET", LOGS, params=earlier)
    assert row_count(body) == 0


async def test_logs_pagination_newest_first(make: Factory) -> None:
    _, session = await make()
    for n in range(7):
        await call(session, "POST", UNIFIED, json={"model": "luma/ray-flash-2", "prompt": "x"},
                   headers={"X-Client-Request-Id": f"req-{n}"})
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "theirs"},
               headers={"Authorization": f"Bearer {OTHER_KEY}"})
    seen: list[str] = []
    pages = []
    for offset in (0, 3, 6):
        _, body, _ = await call(session, "GET", LOGS, params={"period": "1h", "limit": "3", "offset": str(offset)})
        pages.append(body["pagination"])
        seen += [row["client_request_id"] for row in body["data"]]
    assert seen == [f"req-{n}" for n in reversed(range(7))]  # newest first, no overlap, only our key's
    assert pages == [{"limit": 3, "offset": 0, "total": 7, "has_more": True},
                     {"limit": 3, "offset": 3, "total": 7, "has_more": True},
                     {"limit": 3, "offset": 6, "total": 7, "has_more": False}]
    _, body, _ = await call(session, "GET", LOGS, params={"period": "1h", "offset": "10"})
    assert body["data"] == [] and body["pagination"]["has_more"] is False


async def test_logs_model_and_status_filters(make: Factory) -> None:
    _, session = await make()
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-flash-2", "prompt": "x"})
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-3.2", "prompt": "x", "hdr": True, "duration": 10})

    async def models(params: Any) -> list[str]:
        status, body, _ = await call(session, "GET", LOGS, params=params)
        assert status == 200
        return [row["model"] for row in body["data"]]

    assert await models([("period", "1h"), ("model", "luma/ray-2"), ("model", "luma/ray-flash-2")]) == [
        "luma/ray-flash-2", "luma/ray-2"]
    assert await models({"period": "1h", "model": "luma/ray-2,luma/ray-flash-2"}) == []  # one odd name
    assert await models({"period": "1h", "model": "ray-3.2"}) == ["luma/ray-3.2"]  # a bare alias
    assert await models({"period": "1h", "status": "failed"}) == ["luma/ray-3.2"]
    assert await models([("period", "1h"), ("status", "succeeded"), ("status", "failed")]) == [
        "luma/ray-3.2", "luma/ray-flash-2", "luma/ray-2"]


async def test_logs_key_prefix(make: Factory) -> None:
    _, session = await make()
    assert (await call(session, "GET", LOGS, params={"period": "1h", "key_prefix": KEY[:8]}))[0] == 200
    assert (await call(session, "GET", LOGS, params={"period": "1h", "key_prefix": OTHER_KEY}))[0] == 403
    assert (await call(session, "GET", LOGS, params={"period": "1h", "key_prefix": "zzzz"}))[0] == 404


async def test_logs_rate_limit_429_after_200_a_minute(make: Factory) -> None:
    # time_scale 1: the window is a real minute, so no call leaves it during the test.
    _, session = await make(time_scale=1.0)
    for _ in range(200):
        assert (await call(session, "GET", LOGS, params={"period": "1h"}))[0] == 200
    status, body, headers = await call(session, "GET", LOGS, params={"period": "1h"})
    assert status == 429 and body["statusCode"] == 429 and body["message"] == "Too many requests"
    assert 0 < float(headers["Retry-After"]) <= 60
    status, _, _ = await call(session, "GET", LOGS, params={"period": "1h"},
                              headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert status == 200  # per key


def test_logs_rate_window_slides() -> None:
    book = LogBook()
    assert all(book.admit(KEY, now=float(n) / 10, window=60.0) is None for n in range(200))  # 0.0 .. 19.9 s
    assert book.admit(KEY, now=30.0, window=60.0) == pytest.approx(30.0)  # the first call leaves at 60 s
    assert book.admit(KEY, now=60.05, window=60.0) is None  # one slot came free
    assert book.admit(KEY, now=60.06, window=60.0) == pytest.approx(0.04)


async def test_logs_delay_hides_a_fresh_row(manual) -> None:
    sim, session, clock = manual
    sim.set_faults(logs_delay_seconds=30)
    await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    _, body, _ = await call(session, "GET", LOGS, params={"period": "1h"})
    assert body["data"] == [] and len(sim.log_rows(KEY)) == 1
    clock.advance(31)
    _, body, _ = await call(session, "GET", LOGS, params={"period": "1h"})
    assert row_count(body) == 1


async def test_injected_faults_log_failed_rows(make: Factory) -> None:
    sim, session = await make()
    sim.script_faults(["429", "503"])
    assert (await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"}))[0] == 429
    assert (await call(session, "GET", UNIFIED, params={"generation_id": str(uuid.uuid4())}))[0] == 503
    assert [row["status"] for row in sim.log_rows(KEY)] == ["failed", "failed"]


# -- creates whose answer is lost --------------------------------------------------------------------

async def _lost_create(session: aiohttp.ClientSession, fault: str) -> None:
    """Send a create that the simulator will lose; assert the client got nothing usable."""
    payload = {"model": "luma/ray-2", "prompt": "x", "resolution": "720p"}
    headers = {"X-Client-Request-Id": f"lost-{fault}"}
    if fault == "accept_then_drop":
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await call(session, "POST", UNIFIED, json=payload, headers=headers)
    elif fault == "accept_then_hang":
        with pytest.raises(asyncio.TimeoutError):
            await call(session, "POST", UNIFIED, json=payload, headers=headers,
                       timeout=aiohttp.ClientTimeout(total=0.3))
    elif fault == "accept_then_garbage":
        async with session.post(UNIFIED, json=payload, headers=headers) as response:
            assert response.status == 200 and response.content_type == "text/html"
            assert "x-inference-id" not in response.headers
            with pytest.raises(aiohttp.ContentTypeError):
                await response.json()
    else:
        async with session.post(UNIFIED, json=payload, headers=headers) as response:
            assert response.status == 502 and "x-inference-id" not in response.headers


@pytest.mark.parametrize("fault", LOSE_ANSWER)
async def test_lost_answers_still_make_charge_and_log_the_job(make: Factory, fault: str) -> None:
    # 720p ray-2: $1.20 = 2,400,000 credits, done 0.23 s after create (scaled 0.01).
    sim, session = await make(credits={KEY: 10_000_000}, hang_seconds=200)
    assert fault in FAULTS
    sim.script_faults([fault], kind="create")
    await _lost_create(session, fault)
    (job,) = sim.jobs()
    assert job.client_request_id == f"lost-{fault}"
    assert sim.balance(KEY) == 7_600_000  # held
    (row,) = sim.log_rows(KEY)
    assert row["status"] == "succeeded" and row["inference_id"] == job.id
    assert row["client_request_id"] == f"lost-{fault}"

    await asyncio.sleep(0.35)
    status, fetched, headers = await call(session, "GET", UNIFIED, params={"generation_id": job.id})
    assert status == 200 and fetched["status"] == "completed"
    assert fetched["meta"]["usage"]["credits_used"] == 2_400_000
    assert sim.balance(KEY) == 7_600_000
    _, logs, _ = await call(session, "GET", LOGS, params={"period": "1h"})
    create = next(row for row in logs["data"] if row["client_request_id"] == f"lost-{fault}")
    assert create["inference_id"] == job.id and create["cost"] == {"usd": 1.2, "credits": 2_400_000}
    assert sim.counters.faults[fault] == 1


async def test_hang_answers_late_when_the_client_waits(make: Factory) -> None:
    sim, session = await make(hang_seconds=30)  # 0.3 real seconds
    sim.script_faults(["accept_then_hang"], kind="create")
    started = time.monotonic()
    status, body, headers = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
    assert status == 200 and time.monotonic() - started >= 0.29
    assert headers["x-inference-id"] == body["id"]


def test_lose_answer_rate_picks_among_the_four() -> None:
    def draws() -> list[str | None]:
        sim = Simulator(SimulatorConfig(seed=3, lose_answer_rate=1.0))
        return [sim.next_fault("create") for _ in range(200)]

    first = draws()
    assert set(first) == set(LOSE_ANSWER) and first == draws()  # all four, reproducibly
    sim = Simulator(SimulatorConfig(seed=3, lose_answer_rate=1.0))
    assert {sim.next_fault("fetch_one") for _ in range(50)} == {None}  # only creates lose answers
