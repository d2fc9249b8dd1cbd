"""The local simulator of the AI/ML API's Luma video endpoints (bot/simulator)."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import aiohttp
import pytest

from bot.simulator import ManualClock, Simulator, SimulatorConfig
from bot.simulator.schemas import validate_luma_v2
from tests.sim_fixtures import KEY, OTHER_KEY, Factory, make, manual  # noqa: F401 (fixtures)

UNIFIED = "/v2/video/generations"
V2 = "/v2/generate/video/luma-ai/generation"
V2_MANY = "/v2/generate/video/luma-ai/generations"
LEGACY = "/luma-ai/generations"
LEGACY_BY_IDS = "/luma-ai/generation"
VIDEO_URL = re.compile(r"^https://cdn\.aimlapi\.com/luma/dream_machine/[0-9a-f-]{36}/[0-9a-f-]{36}\.mp4$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def legacy_body(prompt: str = "a cat surfing", **overrides: Any) -> dict[str, Any]:
    return {"user_prompt": prompt, "aspect_ratio": "16:9", "expand_prompt": True,
            "image_url": "", "image_end_url": "", **overrides}




async def call(session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, path, **kwargs) as response:
        return response.status, await response.json()


def assert_error_body(body: dict[str, Any], status: int, path: str, message: str | None = None) -> None:
    assert body["statusCode"] == status
    assert body["path"] == path
    assert uuid.UUID(body["requestId"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", body["timestamp"])
    if message is not None:
        assert body["message"] == message


# -- unified ---------------------------------------------------------------------------------------

async def test_unified_create_then_fetch_until_completed(manual) -> None:
    # 720p 5 s on ray-2 is the reference job: it runs exactly run_seconds (20 s) and costs
    # $0.24 x 5 = $1.20 = 2,400,000 credits.
    sim, session, clock = manual
    status, body = await call(session, "POST", UNIFIED,
                              json={"model": "luma/ray-2", "prompt": "a cat", "resolution": "720p"})
    assert status == 200
    assert body == {"id": body["id"], "status": "queued", "video": None, "error": None, "meta": None}
    job_uuid, _, model = body["id"].partition(":")
    assert UUID.match(job_uuid) and model == "luma/ray-2"

    clock.advance(3.5)
    _, fetched = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["status"] == "generating" and fetched["video"] is None and fetched["meta"] is None

    clock.advance(20)
    _, fetched = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["status"] == "completed"
    assert VIDEO_URL.match(fetched["video"]["url"])
    assert fetched["meta"] == {"usage": {"credits_used": 2_400_000, "usd_spent": 1.2}} and fetched["error"] is None
    job = sim.job(body["id"])
    assert job.completed_at == pytest.approx(23.0)
    assert sim.counters.requests["create"] == 1 and sim.counters.requests["fetch_one"] == 2


async def test_unified_failing_prompt_ends_in_error(manual) -> None:
    _, session, clock = manual
    _, body = await call(session, "POST", UNIFIED, json={"model": "luma/ray-flash-2", "prompt": "please FAIL now"})
    clock.advance(30)
    _, fetched = await call(session, "GET", UNIFIED, params={"generation_id": body["id"]})
    assert fetched["status"] == "error"
    assert fetched["video"] is None
    assert fetched["error"]["message"] == "Prompt was flagged by moderation"


@pytest.mark.parametrize(("payload", "field"), [
    ({"model": "luma/ray-2", "prompt": "x", "colour": "red"}, "colour"),
    ({"model": "luma/ray-2", "prompt": "x", "aspect_ratio": "19:9"}, "aspect_ratio"),
    ({"model": "luma/ray-2"}, "prompt"),
    ({"model": "luma/ray-2", "prompt": "x", "duration": "5s"}, "duration"),
    ({"model": "luma/ray-2", "prompt": "x", "resolution": "8k"}, "resolution"),
    ({"model": "luma/ray-9", "prompt": "x"}, "model"),
    ({"prompt": "x"}, "model"),
    ({"model": "luma/ray-2", "prompt": "x", "keyframes": {"frame0": {"type": "generation", "id": "nope"}}},
     "keyframes.frame0"),
    # ray-2's schema says `format: uuid`: the id with its ":model" suffix is not one.
    ({"model": "luma/ray-2", "prompt": "x",
      "keyframes": {"frame0": {"type": "generation", "id": f"{uuid.uuid4()}:luma/ray-2"}}}, "keyframes.frame0"),
])
async def test_unified_rejects_what_the_schema_forbids(make: Factory, payload: dict, field: str) -> None:
    sim, session = await make()
    status, body = await call(session, "POST", UNIFIED, json=payload)
    assert status == 400
    assert_error_body(body, 400, UNIFIED, "Body validation error!")
    assert field in [error["path"] for error in body["errors"]]
    assert sim.jobs() == []


async def test_unified_duration_integer_accepted(make: Factory) -> None:
    _, session = await make()
    status, _ = await call(session, "POST", UNIFIED,
                           json={"model": "luma/ray-2", "prompt": "x", "duration": 9, "resolution": "720p"})
    assert status == 200


async def test_malformed_json_is_400(make: Factory) -> None:
    sim, session = await make()
    async with session.post(UNIFIED, data=b"{not json", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert_error_body(await response.json(), 400, UNIFIED)
    assert sim.jobs() == []


async def test_unified_unknown_id_is_404(make: Factory) -> None:
    _, session = await make()
    status, body = await call(session, "GET", UNIFIED, params={"generation_id": f"{uuid.uuid4()}:luma/ray-2"})
    assert status == 404
    assert_error_body(body, 404, UNIFIED, "Generation not found")
    assert "errors" not in body


# -- auth and credits ------------------------------------------------------------------------------

CREATES = [
    (UNIFIED, {"model": "luma/ray-2", "prompt": "x"}),
    (V2, {"prompt": "x"}),
    (LEGACY, legacy_body()),
]
# What one create of CREATES costs: unified prices by model, resolution and seconds (ray-2 at
# its default 1080p for 5 s: $0.45 x 5 = $2.25); the older families charge a flat 500,000.
COSTS = {UNIFIED: 4_500_000, V2: 500_000, LEGACY: 500_000}


@pytest.mark.parametrize(("path", "payload"), CREATES)
@pytest.mark.parametrize("header", [None, "Bearer wrong-key-9999", "Bearer ", KEY, "Basic " + KEY])
async def test_missing_or_unknown_key_is_401(make: Factory, path: str, payload: dict, header: str | None) -> None:
    sim, session = await make()
    headers = {"Authorization": header} if header is not None else {"Authorization": ""}
    status, body = await call(session, "POST", path, json=payload, headers=headers)
    assert status == 401
    assert_error_body(body, 401, path, "Unauthorized")
    assert sim.jobs() == []


async def test_fetch_without_key_is_401(make: Factory) -> None:
    _, session = await make()
    status, _ = await call(session, "GET", V2_MANY, params={"generation_ids": str(uuid.uuid4())},
                           headers={"Authorization": "Bearer not-a-key"})
    assert status == 401


async def test_demo_mode_accepts_any_non_empty_key(make: Factory) -> None:
    _, session = await make(api_keys=None)
    status, _ = await call(session, "POST", V2, json={"prompt": "x"}, headers={"Authorization": "Bearer anything"})
    assert status == 201
    status, _ = await call(session, "POST", V2, json={"prompt": "x"}, headers={"Authorization": "Bearer"})
    assert status == 401


@pytest.mark.parametrize(("path", "payload"), CREATES)
async def test_out_of_credits_is_403_and_creates_nothing(make: Factory, path: str, payload: dict) -> None:
    cost = COSTS[path]
    sim, session = await make(credits={KEY: cost + 100_000}, run_seconds=10_000)  # jobs stay open
    status, _ = await call(session, "POST", path, json=payload)
    assert status in (200, 201)
    assert sim.balance(KEY) == 100_000
    status, body = await call(session, "POST", path, json=payload)
    assert status == 403
    assert_error_body(body, 403, path, "Insufficient credits")
    assert len(sim.jobs(key=KEY)) == 1 and sim.counters.jobs_per_key[KEY] == 1
    assert sim.balance(OTHER_KEY) is None  # unlimited by default
    sim.set_credits(KEY, cost)
    status, _ = await call(session, "POST", path, json=payload)
    assert status in (200, 201) and sim.balance(KEY) == 0


# -- extend rules (unified and luma-v2) ------------------------------------------------------------

async def test_unified_extend_needs_a_completed_clip_of_the_same_key(manual) -> None:
    sim, session, clock = manual
    _, source = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "a cat"})
    bare = source["id"].split(":")[0]  # generation keyframes take the uuid (the schema says format: uuid)
    extend = {"model": "luma/ray-2", "prompt": "more",
              "keyframes": {"frame0": {"type": "generation", "id": bare}}}

    status, body = await call(session, "POST", UNIFIED, json=extend)
    assert status == 400
    assert body["message"] == f"Generation {bare} is not completed"

    clock.advance(40)  # 3 s queued + 32 s running (1080p)
    status, body = await call(session, "POST", UNIFIED, json=extend,
                              headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert status == 400 and body["message"].endswith("not found")

    status, forward = await call(session, "POST", UNIFIED, json=extend)
    assert status == 200
    backward = {"model": "luma/ray-flash-2", "prompt": "before",
                "keyframes": {"frame1": {"type": "generation", "id": bare}}}
    status, before = await call(session, "POST", UNIFIED, json=backward)
    assert status == 200 and before["id"].endswith(":luma/ray-flash-2")
    assert sim.job(forward["id"]).parents == (source["id"],)
    assert sim.job(before["id"]).parents == (source["id"],)
    assert sim.counters.requests["extend"] == 4 and sim.counters.requests["create"] == 1
    assert len(sim.jobs()) == 3


async def test_luma_v2_extend_and_interpolate(manual) -> None:
    sim, session, clock = manual
    _, first = await call(session, "POST", V2, json={"prompt": "one"})
    _, second = await call(session, "POST", V2, json={"prompt": "two"})
    both = {"prompt": "between", "keyframes": {"frame0": {"type": "generation", "id": first["id"]},
                                               "frame1": {"type": "generation", "id": second["id"]}}}
    status, body = await call(session, "POST", V2, json=both)
    assert status == 400 and "is not completed" in body["message"]
    unknown = str(uuid.uuid4())
    status, body = await call(session, "POST", V2,
                              json={"prompt": "x", "keyframes": {"frame1": {"type": "generation", "id": unknown}}})
    assert status == 400 and body["message"] == f"Generation {unknown} not found"

    clock.advance(30)
    status, body = await call(session, "POST", V2, json=both)
    assert status == 201
    assert sim.job(body["id"]).parents == (first["id"], second["id"])
    assert body["request"]["keyframes"] == both["keyframes"]


# -- luma-v2 ---------------------------------------------------------------------------------------

async def test_luma_v2_create_answers_a_generation_and_completes(manual) -> None:
    _, session, clock = manual
    payload = {"prompt": "a jellyfish", "aspect_ratio": "9:16", "model": "ray-flash-2", "duration": "9s",
               "resolution": "720p", "loop": True, "keyframes": {"frame0": None, "frame1": None}}
    status, body = await call(session, "POST", V2, json=payload)
    assert status == 201
    assert UUID.match(body["id"])
    assert body["state"] == "queued" and body["failure_reason"] is None
    assert body["assets"] == {"video": None, "image": None}
    assert body["model"] == "ray-flash-2" and body["request"] == payload
    assert body["created_at"].endswith("Z")

    clock.advance(4)
    _, fetched = await call(session, "GET", V2, params={"generation_id": body["id"]})
    assert fetched["state"] == "dreaming"
    clock.advance(20)
    _, fetched = await call(session, "GET", V2, params={"generation_id": body["id"]})
    assert fetched["state"] == "completed" and VIDEO_URL.match(fetched["assets"]["video"])


async def test_luma_v2_failing_prompt(manual) -> None:
    _, session, clock = manual
    _, body = await call(session, "POST", V2, json={"prompt": "FAIL please"})
    clock.advance(24)
    _, fetched = await call(session, "GET", V2, params={"generation_id": body["id"]})
    assert fetched["state"] == "failed"
    assert fetched["failure_reason"] == "Prompt was flagged by moderation"
    assert fetched["assets"]["video"] is None


@pytest.mark.parametrize(("payload", "field"), [
    ({"prompt": "x", "duration": 5}, "duration"),
    ({"prompt": "x", "duration": "7s"}, "duration"),
    ({"prompt": "x", "aspect_ratio": "19:9"}, "aspect_ratio"),
    ({"prompt": "x", "seed": 3}, "seed"),
    ({"aspect_ratio": "16:9"}, "prompt"),
    ({"prompt": "x", "model": "luma/ray-2"}, "model"),
    ({"prompt": "x", "keyframes": {"frame0": {"type": "generation", "id": "not-a-uuid"}}}, "keyframes.frame0"),
    ({"prompt": "x", "keyframes": {"frame0": {"type": "image", "url": "relative/path.png"}}}, "keyframes.frame0"),
    ({"prompt": "x", "keyframes": {"frame0": 5}}, "keyframes.frame0"),  # `{"nullable": true}` means null only
])
async def test_luma_v2_rejects_what_the_schema_forbids(make: Factory, payload: dict, field: str) -> None:
    sim, session = await make()
    status, body = await call(session, "POST", V2, json=payload)
    assert status == 400
    assert_error_body(body, 400, V2, "Body validation error!")
    assert field in [error["path"] for error in body["errors"]]
    assert sim.jobs() == []


def test_nullable_branch_means_null_only() -> None:
    assert validate_luma_v2({"prompt": "x", "keyframes": {"frame0": None}}) == []
    assert validate_luma_v2({"prompt": "x", "duration": None, "resolution": None}) == []
    for junk in ("x", 5, [], {"type": "video"}):
        assert validate_luma_v2({"prompt": "x", "keyframes": {"frame1": junk}}) != []


async def test_luma_v2_wait_returns_early_on_completion(make: Factory) -> None:
    # 0.06 s of work, a 3 s (scaled) wait limit.
    _, session = await make(queue_seconds=1, run_seconds=5, max_wait_seconds=300)
    _, body = await call(session, "POST", V2, json={"prompt": "x"})
    started = time.monotonic()
    _, fetched = await call(session, "GET", V2, params={"generation_id": body["id"], "state": "completed"})
    assert fetched["state"] == "completed"
    assert time.monotonic() - started < 1.5


async def test_luma_v2_wait_returns_early_on_failure(make: Factory) -> None:
    _, session = await make(queue_seconds=1, run_seconds=5, max_wait_seconds=300)
    _, body = await call(session, "POST", V2, json={"prompt": "FAIL"})
    started = time.monotonic()
    _, fetched = await call(session, "GET", V2, params={"generation_id": body["id"], "status": "completed"})
    assert fetched["state"] == "failed"
    assert time.monotonic() - started < 1.5


async def test_luma_v2_wait_for_dreaming(make: Factory) -> None:
    _, session = await make(queue_seconds=10, run_seconds=10_000, max_wait_seconds=300)
    _, body = await call(session, "POST", V2, json={"prompt": "x"})
    _, fetched = await call(session, "GET", V2, params={"generation_id": body["id"], "state": "dreaming"})
    assert fetched["state"] == "dreaming"


async def test_luma_v2_wait_times_out_with_the_current_state(make: Factory) -> None:
    # Scaled: the wait limit is 0.3 s, the job runs for 100 s.
    _, session = await make(queue_seconds=0, run_seconds=10_000)
    _, body = await call(session, "POST", V2, json={"prompt": "x"})
    started = time.monotonic()
    status, fetched = await call(session, "GET", V2, params={"generation_id": body["id"], "state": "completed"})
    elapsed = time.monotonic() - started
    assert status == 200 and fetched["state"] == "dreaming"
    assert 0.28 <= elapsed < 2.0


async def test_luma_v2_cannot_wait_for_failed_or_unknown_state(make: Factory) -> None:
    _, session = await make()
    _, body = await call(session, "POST", V2, json={"prompt": "x"})
    status, error = await call(session, "GET", V2, params={"generation_id": body["id"], "state": "failed"})
    assert status == 400 and error["message"] == "cannot wait for failed"
    status, _ = await call(session, "GET", V2, params={"generation_id": body["id"], "state": "streaming"})
    assert status == 400
    status, error = await call(session, "GET", V2, params={"generation_id": str(uuid.uuid4())})
    assert status == 404 and error["message"] == "Generation not found"


async def test_luma_v2_batch_fetch_accepts_three_id_syntaxes(make: Factory) -> None:
    sim, session = await make()
    ids = [(await call(session, "POST", V2, json={"prompt": f"clip {n}"}))[1]["id"] for n in range(3)]
    _, foreign = await call(session, "POST", V2, json={"prompt": "theirs"},
                            headers={"Authorization": f"Bearer {OTHER_KEY}"})
    unknown = str(uuid.uuid4())
    wanted = [ids[0], unknown, ids[2], foreign["id"]]
    for params in ([("generation_ids", i) for i in wanted],
                   [("generation_ids[]", i) for i in wanted],
                   [("generation_ids", ",".join(wanted))]):
        status, body = await call(session, "GET", V2_MANY, params=params)
        assert status == 200
        assert [item["id"] for item in body] == [ids[0], ids[2]]
        assert all(item["state"] in ("queued", "dreaming", "completed") for item in body)
    assert sim.counters.requests["fetch_many"] == 3
    assert sim.counters.ids_fetched == 12
    status, _ = await call(session, "GET", V2_MANY)
    assert status == 400


# -- legacy ----------------------------------------------------------------------------------------

async def test_legacy_create_then_fetch_until_completed(manual) -> None:
    sim, session, clock = manual
    status, body = await call(session, "POST", LEGACY, json=legacy_body(aspect_ratio="9:16"))
    assert status == 200
    assert UUID.match(body["id"])
    assert body["state"] == "pending" and body["prompt"] == "a cat surfing"
    assert body["estimate_wait_seconds"] == "23" and isinstance(body["liked"], str)
    assert body["video"] == {"url": "", "thumbnail": "", "width": 0, "height": 0}

    clock.advance(5)
    _, items = await call(session, "GET", LEGACY_BY_IDS, params={"ids[0]": body["id"]})
    assert [item["state"] for item in items] == ["processing"]
    clock.advance(20)
    _, items = await call(session, "GET", LEGACY_BY_IDS, params={"ids": body["id"]})
    video = items[0]["video"]
    assert items[0]["state"] == "completed" and VIDEO_URL.match(video["url"])
    assert video["thumbnail"].endswith(".jpg") and video["height"] > video["width"] > 0


async def test_legacy_failing_prompt(manual) -> None:
    _, session, clock = manual
    _, body = await call(session, "POST", LEGACY, json=legacy_body("FAIL this"))
    clock.advance(24)
    _, items = await call(session, "GET", LEGACY_BY_IDS, params={"ids": body["id"]})
    assert items[0]["state"] == "failed"
    assert items[0]["failure_reason"] == "Prompt was flagged by moderation"
    assert items[0]["video"]["url"] == ""


@pytest.mark.parametrize(("payload", "field"), [
    ({"user_prompt": "x", "aspect_ratio": "16:9", "expand_prompt": True}, "image_url"),  # the docs' own example
    (legacy_body(aspect_ratio="19:9"), "aspect_ratio"),
    ({k: v for k, v in legacy_body().items() if k != "user_prompt"}, "user_prompt"),
    (legacy_body(expand_prompt="yes"), "expand_prompt"),
    (legacy_body(user_prompt=5), "user_prompt"),
])
async def test_legacy_rejects_what_the_schema_forbids(make: Factory, payload: dict, field: str) -> None:
    sim, session = await make()
    status, body = await call(session, "POST", LEGACY, json=payload)
    assert status == 400
    assert_error_body(body, 400, LEGACY, "Body validation error!")
    assert field in [error["path"] for error in body["errors"]]
    assert sim.jobs() == []


async def test_legacy_fetch_id_syntaxes(make: Factory) -> None:
    _, session = await make()
    a = (await call(session, "POST", LEGACY, json=legacy_body("a")))[1]["id"]
    b = (await call(session, "POST", LEGACY, json=legacy_body("b")))[1]["id"]
    unknown = str(uuid.uuid4())
    for params in ([("ids", a), ("ids", unknown), ("ids", b)],
                   [("ids[]", a), ("ids[]", unknown), ("ids[]", b)],
                   [("ids[0]", a), ("ids[1]", unknown), ("ids[2]", b)],
                   [("ids", f"{a},{unknown},{b}")]):
        status, items = await call(session, "GET", LEGACY_BY_IDS, params=params)
        assert status == 200 and [item["id"] for item in items] == [a, b]


async def test_legacy_extend_and_list(manual) -> None:
    sim, session, clock = manual
    _, source = await call(session, "POST", LEGACY, json=legacy_body("start"))
    path = f"{LEGACY}/{source['id']}/extend"
    status, body = await call(session, "POST", path, json=legacy_body("more"))
    assert status == 400 and body["message"] == f"Generation {source['id']} is not completed"
    status, body = await call(session, "POST", f"{LEGACY}/{uuid.uuid4()}/extend", json=legacy_body("more"))
    assert status == 400 and body["message"].endswith("not found")

    clock.advance(25)
    status, body = await call(session, "POST", path, json=legacy_body("more"))
    assert status == 200 and body["state"] == "pending" and body["prompt"] == "more"
    assert sim.job(body["id"]).parents == (source["id"],)
    assert sim.counters.by_dialect_kind[("legacy", "extend")] == 3

    await call(session, "POST", LEGACY, json=legacy_body("not mine"), headers={"Authorization": f"Bearer {OTHER_KEY}"})
    status, listed = await call(session, "GET", LEGACY)
    assert status == 200
    assert listed == [{"luma_generation_id": source["id"], "prompt": "start"},
                      {"luma_generation_id": body["id"], "prompt": "more"}]


# -- faults ----------------------------------------------------------------------------------------

async def test_scripted_faults_apply_in_order(make: Factory) -> None:
    sim, session = await make(retry_after_seconds=2, slow_seconds=30, credits={KEY: 20_000_000},
                              run_seconds=10_000)  # the job stays open, so its hold stays taken
    sim.script_faults(["429", "500", "accept_then_502", "slow"], kind="create")
    payload = {"model": "luma/ray-2", "prompt": "x"}

    # A fetch in between is not a "create" and passes untouched.
    status, _ = await call(session, "GET", UNIFIED, params={"generation_id": "nope"})
    assert status == 404

    async with session.post(UNIFIED, json=payload) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "0.02"
        assert_error_body(await response.json(), 429, UNIFIED, "Too many requests")
    status, body = await call(session, "POST", UNIFIED, json=payload)
    assert status == 500 and body["message"] == "Internal server error"
    assert sim.jobs() == []

    status, body = await call(session, "POST", UNIFIED, json=payload)
    assert status == 502
    assert len(sim.jobs()) == 1 and sim.balance(KEY) == 15_500_000  # created and charged anyway

    started = time.monotonic()
    status, _ = await call(session, "POST", UNIFIED, json=payload)
    assert status == 200 and time.monotonic() - started >= 0.29

    status, _ = await call(session, "POST", UNIFIED, json=payload)
    assert status == 200 and sim.scripted_faults == []
    assert sim.counters.faults == {"429": 1, "500": 1, "accept_then_502": 1, "slow": 1}
    assert sim.counters.statuses[502] == 1


async def test_scripted_fetch_faults_leave_creates_alone(make: Factory) -> None:
    sim, session = await make()
    sim.script_faults(["503"], kind="fetch")
    status, body = await call(session, "POST", V2, json={"prompt": "x"})
    assert status == 201
    status, _ = await call(session, "GET", V2, params={"generation_id": body["id"]})
    assert status == 503
    status, _ = await call(session, "GET", V2, params={"generation_id": body["id"]})
    assert status == 200


def test_script_rejects_unknown_fault_names() -> None:
    sim = Simulator()
    with pytest.raises(ValueError):
        sim.script_faults(["418"])
    with pytest.raises(ValueError):
        sim.script_faults(["429"], kind="delete")


async def test_random_faults_can_be_changed_at_run_time(make: Factory) -> None:
    sim, session = await make(error_rate=1.0)
    statuses = {(await call(session, "POST", V2, json={"prompt": "x"}))[0] for _ in range(20)}
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    sim.set_faults(error_rate=0.0, rate_limit_rate=1.0)
    async with session.post(V2, json={"prompt": "x"}) as response:
        assert response.status == 429 and float(response.headers["Retry-After"]) > 0
    sim.set_faults(rate_limit_rate=0.0)
    assert (await call(session, "POST", V2, json={"prompt": "x"}))[0] == 201
    assert len(sim.jobs()) == 1
    with pytest.raises(AttributeError):
        sim.set_faults(eror_rate=1.0)


def test_random_faults_are_reproducible_with_a_seed() -> None:
    def draws(seed: int) -> list[str | None]:
        sim = Simulator(SimulatorConfig(seed=seed, error_rate=0.3, rate_limit_rate=0.2, slow_rate=0.1,
                                        accept_then_fail_rate=0.1))
        return [sim.next_fault("create") for _ in range(200)]

    first = draws(7)
    assert first == draws(7)
    assert {"429", "slow", "accept_then_502"} <= set(first) and None in first
    assert first != draws(8)


async def test_accept_then_fail_rate_creates_and_answers_502(make: Factory) -> None:
    sim, session = await make(accept_then_fail_rate=1.0)
    status, _ = await call(session, "POST", LEGACY, json=legacy_body())
    assert status == 502 and len(sim.jobs()) == 1
    status, _ = await call(session, "GET", LEGACY)  # not a create: never a lost answer
    assert status == 200


# -- bookkeeping -----------------------------------------------------------------------------------

def test_ten_thousand_jobs_are_cheap() -> None:
    clock = ManualClock()
    sim = Simulator(SimulatorConfig(clock=clock))
    started = time.perf_counter()
    for n in range(10_000):
        sim.create_job(KEY if n % 2 else OTHER_KEY, "luma-v2", model="ray-2", prompt="x", request={})
    assert len(sim.jobs(key=KEY)) == 5_000
    clock.advance(23)
    assert all(sim.phase(job) == "completed" for job in sim.jobs())
    assert time.perf_counter() - started < 2.0
    assert sim.counters.jobs_per_key == {KEY: 5_000, OTHER_KEY: 5_000}


def test_finish_now_and_jitter() -> None:
    clock = ManualClock(100.0)
    sim = Simulator(SimulatorConfig(clock=clock, run_jitter=0.5, seed=1))
    reference = {"resolution": "720p", "duration": 5}  # ray-2 720p 5 s runs run_seconds, before jitter
    runs = {sim.create_job(KEY, "unified", model="luma/ray-2", prompt="x", request=reference).run_s
            for _ in range(5)}
    assert len(runs) == 5 and all(10.0 <= run <= 30.0 for run in runs)
    job = sim.jobs()[0]
    clock.advance(1)
    sim.finish_now(job.id, failed=True, reason="boom")
    assert sim.phase(job) == "failed" and job.completed_at == 101.0 and job.failure_reason == "boom"
    assert sim.job(job.uuid) is job


async def test_unknown_route_answers_json_404(make: Factory) -> None:
    _, session = await make()
    status, body = await call(session, "GET", "/v1/nothing")
    assert status == 404 and body["statusCode"] == 404


# -- standalone CLI --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_cli_serves_every_dialect() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.simulator", "--port", str(_free_port()), "--time-scale", "0.001",
        "--api-key", KEY, "--log-level", "DEBUG",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        match = re.fullmatch(r"Simulator listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        async with aiohttp.ClientSession(match.group(1), headers={"Authorization": f"Bearer {KEY}"}) as session:
            _, body = await call(session, "POST", UNIFIED, json={"model": "luma/ray-2", "prompt": "x"})
            _, v2 = await call(session, "POST", V2, json={"prompt": "x"})
            _, legacy = await call(session, "POST", LEGACY, json=legacy_body())
            await asyncio.sleep(0.05)  # 23 ms of simulated work
            assert (await call(session, "GET", UNIFIED, params={"generation_id": body["id"]}))[1]["status"] == "completed"
            assert (await call(session, "GET", V2, params={"generation_id": v2["id"]}))[1]["state"] == "completed"
            assert (await call(session, "GET", LEGACY_BY_IDS, params={"ids": legacy["id"]}))[1][0]["state"] == "completed"
            assert (await call(session, "POST", V2, json={"prompt": "x"}, headers={"Authorization": "Bearer x"}))[0] == 401
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    assert proc.returncode == 0
    assert KEY not in (await proc.stderr.read()).decode()
