"""Pure unit tests of bot/api: request building, answer parsing, errors and backoff (no I/O)."""

from __future__ import annotations

import random

import pydantic
import pytest

from bot.api import (
    DURATIONS,
    MODELS,
    RESOLUTIONS,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Capabilities,
    InsufficientCreditsError,
    JobStatus,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    UnsupportedByDialect,
    VideoAPI,
    VideoOptions,
)
from bot.api.client import _error_message, _retry_after
from bot.api.dialects import LegacyDialect, LumaV2Dialect, UnifiedDialect, get_dialect, parse_job, parse_list
from bot.api.errors import error_for_status
from bot.api.models import normalise_status

UUID_A = "0f3ea4aa-10e7-4dae-af0b-263ab4ac45f9"
UUID_B = "7c880e75-9892-4238-8464-49cb0c6deabd"
IMG = "https://example.com/start.png"
END = "https://example.com/end.png"


# -- dialects: requests --------------------------------------------------------------------------------

def test_get_dialect_by_name() -> None:
    assert isinstance(get_dialect("unified"), UnifiedDialect)
    assert isinstance(get_dialect("luma-v2"), LumaV2Dialect)
    assert isinstance(get_dialect("legacy"), LegacyDialect)
    with pytest.raises(ValueError, match="unknown dialect 'v3'"):
        get_dialect("v3")
    with pytest.raises(ValueError):
        VideoAPI("k", dialect="nope")


def test_unified_create_request() -> None:
    d = UnifiedDialect()
    r = d.create("a cat", VideoOptions(), "ray-2")
    assert (r.method, r.path, r.params, r.server_wait) == ("POST", "/v2/video/generations", [], 0.0)
    assert r.json == {"model": "luma/ray-2", "prompt": "a cat"}  # nothing the member did not choose
    r = d.create("a cat", VideoOptions(model="ray-flash-2", aspect_ratio="1:1", resolution="1080p", duration=5,
                                       loop=False, start_image_url=IMG), "ray-2")
    assert r.json == {"model": "luma/ray-flash-2", "prompt": "a cat", "aspect_ratio": "1:1", "loop": False,
                      "resolution": "1080p", "duration": 5, "keyframes": {"frame0": {"type": "image", "url": IMG}}}
    with pytest.raises(UnsupportedByDialect, match="ray-1-6 was retired by the provider on 2026-01-26"):
        d.create("x", VideoOptions(model="luma/ray-1-6"), "ray-2")
    with pytest.raises(UnsupportedByDialect, match="ray-9 is not a model of the unified API"):
        d.create("x", VideoOptions(), "ray-9")
    # ray-2's schema has no hdr / exr_export / type: a False or "video" there is the default, not sent.
    quiet = VideoOptions(hdr=False, exr_export=False, video_type="video")
    assert d.create("x", quiet, "ray-2").json == {"model": "luma/ray-2", "prompt": "x"}
    for refused, words in (({"duration": 10}, "ray-2 makes 5 or 9 second clips, not 10."),
                           ({"hdr": True}, "ray-2 can't make HDR clips; that needs ray-3.2."),
                           ({"video_type": "video_edit", "source_video_url": IMG}, "ray-2 can't edit clips")):
        with pytest.raises(UnsupportedByDialect) as caught:
            d.create("x", VideoOptions(**refused), "ray-2")
        assert caught.value.message.startswith(words)


def test_unified_ray32_create_request() -> None:
    d = UnifiedDialect()
    assert d.create("a cat", VideoOptions(), "ray-3.2").json == {"model": "luma/ray-3.2", "prompt": "a cat"}
    r = d.create("a cat", VideoOptions(model="ray-3.2", resolution="1080p", duration=5, aspect_ratio="21:9",
                                       loop=True, hdr=True, exr_export=True, video_type="video",
                                       start_image_url=IMG, end_image_url=END), "ray-2")
    assert r.json == {"model": "luma/ray-3.2", "prompt": "a cat", "type": "video", "resolution": "1080p",
                      "duration": 5, "aspect_ratio": "21:9", "loop": True, "hdr": True, "exr_export": True,
                      "image_url": IMG, "last_image_url": END}
    edit = d.create("make it snow", VideoOptions(video_type="video_reframe", source_video_url="https://v/1.mp4",
                                                 aspect_ratio="9:16", duration=10), "luma/ray-3.2")
    assert edit.json == {"model": "luma/ray-3.2", "prompt": "make it snow", "type": "video_reframe",
                         "aspect_ratio": "9:16", "duration": 10, "video_url": "https://v/1.mp4"}
    with pytest.raises(UnsupportedByDialect) as caught:
        d.create("x", VideoOptions(resolution="4k", aspect_ratio="9:21"), "ray-3.2")
    assert caught.value.message == ("ray-3.2 goes up to 1080p; 4k needs ray-2 or ray-flash-2. "
                                    "ray-3.2 has no 9:21; pick another shape or ray-2.")
    with pytest.raises(UnsupportedByDialect, match="^HDR needs a 5 second clip at 720p or 1080p.$"):
        d.create("x", VideoOptions(hdr=True, duration=10), "ray-3.2")


def test_unified_ray32_cannot_extend_by_id() -> None:
    d = UnifiedDialect()
    polite = "Extending by clip needs ray-2 or ray-flash-2; clips made with ray-3.2 can't be extended yet."
    for direction, other in (("forward", None), ("backward", None), ("forward", UUID_B)):
        with pytest.raises(UnsupportedByDialect) as caught:
            d.extend(f"{UUID_A}:luma/ray-3.2", "on", direction, VideoOptions(), "ray-3.2", other)
        assert caught.value.message == polite
    # The member's choice of model counts, not only DEFAULT_MODEL.
    with pytest.raises(UnsupportedByDialect):
        d.extend(UUID_A, "on", "forward", VideoOptions(model="ray-3.2"), "ray-2")
    assert d.extend(UUID_A, "on", "forward", VideoOptions(model="ray-2"), "ray-3.2").json["model"] == "luma/ray-2"


def test_luma_v2_create_request() -> None:
    d = LumaV2Dialect()
    r = d.create("a cat", VideoOptions(duration=9, end_image_url=END), "luma/ray-2")
    assert (r.method, r.path) == ("POST", "/v2/generate/video/luma-ai/generation")
    assert r.json == {"model": "ray-2", "prompt": "a cat", "duration": "9s",
                      "keyframes": {"frame1": {"type": "image", "url": END}}}
    # luma-v2 still serves ray-1-6 (its seed schema); that model has no resolution or duration field.
    assert d.create("x", VideoOptions(model="ray-1-6", loop=True), "ray-2").json == {
        "model": "ray-1-6", "prompt": "x", "loop": True}
    with pytest.raises(UnsupportedByDialect, match="ray-1-6 has no resolution choice"):
        d.create("x", VideoOptions(model="ray-1-6", resolution="720p"), "ray-2")
    with pytest.raises(UnsupportedByDialect, match="ray-3.2 is not a model of the luma-v2 API"):
        d.create("x", VideoOptions(), "ray-3.2")
    with pytest.raises(UnsupportedByDialect, match="can't make HDR clips"):
        d.create("x", VideoOptions(hdr=False), "ray-2")  # nothing on luma-v2 has the field


def test_legacy_create_request() -> None:
    d = LegacyDialect()
    r = d.create("a cat", VideoOptions(), "ray-2")
    assert (r.method, r.path) == ("POST", "/luma-ai/generations")
    assert r.json == {"user_prompt": "a cat", "aspect_ratio": "16:9", "expand_prompt": True,
                      "image_url": "", "image_end_url": ""}
    r = d.create("a cat", VideoOptions(aspect_ratio="9:16", start_image_url=IMG, end_image_url=END), "ray-2")
    assert r.json["aspect_ratio"] == "9:16" and r.json["image_url"] == IMG and r.json["image_end_url"] == END
    for option, named in (({"resolution": "720p"}, "resolution"), ({"duration": 5}, "duration"),
                          ({"loop": False}, "loop"), ({"hdr": False}, "HDR"), ({"exr_export": True}, "EXR export"),
                          ({"source_video_url": IMG}, "a source video"),
                          ({"video_type": "video_edit"}, "editing or reframing")):
        with pytest.raises(UnsupportedByDialect, match=named):
            d.create("a cat", VideoOptions(**option), "ray-2")
    assert d.create("a cat", VideoOptions(video_type="video"), "ray-2").json["user_prompt"] == "a cat"


@pytest.mark.parametrize("dialect", [UnifiedDialect(), LumaV2Dialect()], ids=["unified", "luma-v2"])
def test_extend_keyframes(dialect) -> None:
    source = f"{UUID_A}:luma/ray-2"  # a unified id: the keyframe takes the bare uuid
    gen_a = {"type": "generation", "id": UUID_A}
    gen_b = {"type": "generation", "id": UUID_B}

    forward = dialect.extend(source, "on", "forward", VideoOptions(), "ray-2")
    assert forward.path == dialect.create_path and forward.json["keyframes"] == {"frame0": gen_a}
    backward = dialect.extend(source, "before", "backward", VideoOptions(), "ray-2")
    assert backward.json["keyframes"] == {"frame1": gen_a}
    bridge = dialect.extend(source, "between", "forward", VideoOptions(), "ray-2", UUID_B)
    assert bridge.json["keyframes"] == {"frame0": gen_a, "frame1": gen_b}
    # An image fills the free end; the generation keeps its end.
    fwd_img = dialect.extend(UUID_A, "on", "forward", VideoOptions(start_image_url=IMG, end_image_url=END), "ray-2")
    assert fwd_img.json["keyframes"] == {"frame0": gen_a, "frame1": {"type": "image", "url": END}}
    back_img = dialect.extend(UUID_A, "x", "backward", VideoOptions(start_image_url=IMG), "ray-2")
    assert back_img.json["keyframes"] == {"frame0": {"type": "image", "url": IMG}, "frame1": gen_a}
    assert forward.json["prompt"] == "on"


def test_legacy_extend() -> None:
    d = LegacyDialect()
    r = d.extend(UUID_A, "on", "forward", VideoOptions(), "ray-2")
    assert (r.method, r.path) == ("POST", f"/luma-ai/generations/{UUID_A}/extend")
    assert r.json["user_prompt"] == "on"
    with pytest.raises(UnsupportedByDialect):
        d.extend(UUID_A, "on", "backward", VideoOptions(), "ray-2")
    with pytest.raises(UnsupportedByDialect):
        d.extend(UUID_A, "on", "forward", VideoOptions(), "ray-2", UUID_B)


def test_fetch_requests() -> None:
    r = UnifiedDialect().fetch("id1", JobStatus.COMPLETED, 30.0)
    assert (r.method, r.path, r.params, r.server_wait) == ("GET", "/v2/video/generations",
                                                           [("generation_id", "id1")], 0.0)
    v2 = LumaV2Dialect()
    r = v2.fetch("id1", None, 30.0)
    assert r.params == [("generation_id", "id1")] and r.server_wait == 0.0
    for status, word in ((JobStatus.QUEUED, "queued"), (JobStatus.RUNNING, "dreaming"),
                         (JobStatus.COMPLETED, "completed")):
        r = v2.fetch("id1", status, 12.5)
        assert r.params == [("generation_id", "id1"), ("state", word)] and r.server_wait == 12.5
    r = v2.fetch("id1", JobStatus.FAILED, 12.5)  # the API refuses to wait for `failed`
    assert r.params == [("generation_id", "id1")] and r.server_wait == 0.0
    r = LegacyDialect().fetch("id1", JobStatus.COMPLETED, 30.0)
    assert (r.path, r.params, r.server_wait) == ("/luma-ai/generation", [("ids", "id1")], 0.0)


def test_fetch_many_requests() -> None:
    assert UnifiedDialect().fetch_many(["a", "b"]) is None
    r = LumaV2Dialect().fetch_many(["a", "b"])
    assert (r.method, r.path, r.params) == ("GET", "/v2/generate/video/luma-ai/generations",
                                            [("generation_ids", "a"), ("generation_ids", "b")])
    r = LegacyDialect().fetch_many(["a", "b"])
    assert (r.path, r.params) == ("/luma-ai/generation", [("ids", "a"), ("ids", "b")])


def test_capabilities() -> None:
    u, v2, legacy = UnifiedDialect.capabilities, LumaV2Dialect.capabilities, LegacyDialect.capabilities
    assert (u.batch_fetch, u.server_wait, u.backward_extend, u.interpolate) == (False, False, True, True)
    assert (v2.batch_fetch, v2.server_wait, v2.backward_extend, v2.interpolate) == (True, True, True, True)
    assert (legacy.batch_fetch, legacy.backward_extend, legacy.interpolate, legacy.models) == (True, False, False,
                                                                                                  False)
    assert VideoAPI("k", dialect="luma-v2").capabilities == v2
    # Derived from the catalog now; the same values as when they were written out by hand.
    assert u == Capabilities(models=True, resolution=True, duration=True, loop=True, end_image=True,
                             backward_extend=True, interpolate=True, batch_fetch=False, server_wait=False)
    assert v2 == u.model_copy(update={"batch_fetch": True, "server_wait": True})
    assert legacy == Capabilities(models=False, resolution=False, duration=False, loop=False, end_image=True,
                                  backward_extend=False, interpolate=False, batch_fetch=True, server_wait=False)


# -- dialects: answers ---------------------------------------------------------------------------------

def test_parse_unified_answers() -> None:
    queued = parse_job({"id": "a:luma/ray-2", "status": "queued", "video": None, "error": None, "meta": None})
    assert (queued.id, queued.status, queued.raw_status, queued.video_url) == ("a:luma/ray-2", JobStatus.QUEUED,
                                                                               "queued", None)
    done = parse_job({"id": "a", "status": "completed", "video": {"url": "https://v/1.mp4"},
                      "meta": {"usage": {"credits_used": 120000}}})
    assert (done.status, done.video_url, done.credits_used) == (JobStatus.COMPLETED, "https://v/1.mp4", 120000)
    failed = parse_job({"id": "a", "status": "error", "error": {"name": "E", "message": "flagged"}})
    assert (failed.status, failed.failure_reason, failed.video_url) == (JobStatus.FAILED, "flagged", None)


def test_parse_luma_v2_and_legacy_answers() -> None:
    v2 = parse_job({"id": "a", "state": "completed", "assets": {"video": "https://v/2.mp4", "image": "i"}})
    assert (v2.status, v2.video_url, v2.credits_used) == (JobStatus.COMPLETED, "https://v/2.mp4", None)
    v2_failed = parse_job({"id": "a", "state": "failed", "failure_reason": "no", "assets": {"video": None}})
    assert (v2_failed.status, v2_failed.failure_reason) == (JobStatus.FAILED, "no")
    legacy = LegacyDialect()
    pending = legacy.parse_job([{"id": "a", "state": "pending", "video": {"url": "", "thumbnail": ""}}])
    assert (pending.status, pending.video_url) == (JobStatus.QUEUED, None)
    done = legacy.parse_job([{"id": "a", "state": "completed", "video": {"url": "https://v/3.mp4"}}])
    assert done.video_url == "https://v/3.mp4"
    with pytest.raises(ValueError):
        legacy.parse_job([])


def test_url_and_reason_only_in_their_state() -> None:
    running = parse_job({"id": "a", "status": "generating", "video": {"url": "https://early"},
                         "error": {"message": "not yet"}})
    assert running.status is JobStatus.RUNNING and running.video_url is None and running.failure_reason is None
    failed = parse_job({"id": "a", "state": "failed", "assets": {"video": "https://v"}})
    assert failed.video_url is None and failed.failure_reason is None


def test_parse_rejects_answers_without_an_id() -> None:
    for bad in (None, "text", [], {}, {"id": ""}, {"status": "queued"}):
        with pytest.raises(ValueError):
            parse_job(bad)


def test_parse_list_shapes() -> None:
    item = {"id": "a", "state": "queued"}
    for data in ([item], {"generations": [item]}, {"data": [item]}, {"items": [item]}):
        assert [j.id for j in parse_list(data)] == ["a"]
    assert parse_list({"generations": []}) == [] and parse_list([]) == []
    with pytest.raises(ValueError):
        parse_list("nope")


@pytest.mark.parametrize("raw,expected", [
    ("queued", JobStatus.QUEUED), ("pending", JobStatus.QUEUED), (" Queued ", JobStatus.QUEUED),
    ("dreaming", JobStatus.RUNNING), ("generating", JobStatus.RUNNING), ("processing", JobStatus.RUNNING),
    ("completed", JobStatus.COMPLETED), ("COMPLETED", JobStatus.COMPLETED), ("succeeded", JobStatus.COMPLETED),
    ("failed", JobStatus.FAILED), ("error", JobStatus.FAILED), ("cancelled", JobStatus.FAILED),
    ("something-new", JobStatus.RUNNING), ("", JobStatus.RUNNING), (None, JobStatus.RUNNING),
])
def test_normalise_status(raw, expected) -> None:
    assert normalise_status(raw) is expected


def test_job_status_finished() -> None:
    assert [s for s in JobStatus if s.finished] == [JobStatus.COMPLETED, JobStatus.FAILED]


def test_video_options_are_checked() -> None:
    with pytest.raises(pydantic.ValidationError):
        VideoOptions(aspect_ratio="19:9")
    with pytest.raises(pydantic.ValidationError):
        VideoOptions(duration=7)
    with pytest.raises(pydantic.ValidationError):
        VideoOptions(colour="red")
    with pytest.raises(pydantic.ValidationError):
        VideoOptions(video_type="remix")
    with pytest.raises(pydantic.ValidationError):
        VideoOptions(resolution="2k")
    every = VideoOptions(resolution="360p", duration=10, hdr=True, exr_export=True, video_type="video_edit",
                         source_video_url="https://v/1.mp4")
    assert every.resolution == "360p" and every.duration == 10
    with pytest.raises(pydantic.ValidationError):
        every.hdr = False  # frozen


def test_option_constants_follow_the_types() -> None:
    assert RESOLUTIONS == ("360p", "540p", "720p", "1080p", "4k") and DURATIONS == (5, 9, 10)
    assert MODELS == ("ray-2", "ray-flash-2", "ray-3.2")  # the unified endpoint's, from the catalog


# -- errors ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status,cls", [
    (400, BadRequestError), (422, BadRequestError), (401, AuthenticationError), (403, InsufficientCreditsError),
    (404, NotFoundError), (429, RateLimitError), (500, ServerError), (502, ServerError), (503, ServerError),
    (504, ServerError), (418, APIStatusError),
])
def test_error_for_status(status, cls) -> None:
    error = error_for_status(status, "words", body={"a": 1}, request_id="r")
    assert type(error) is cls
    assert (error.status, error.message, str(error), error.body, error.request_id) == (status, "words", "words",
                                                                                        {"a": 1}, "r")
    assert error.maybe_accepted is False


def test_timeout_is_a_connection_error() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert APIConnectionError("x").maybe_accepted is False
    assert APITimeoutError("x", maybe_accepted=True).maybe_accepted is True


def test_error_message_uses_the_apis_words() -> None:
    assert _error_message("  plain text  ") == "plain text"
    assert _error_message({"message": "Unauthorized"}) == "Unauthorized"
    assert _error_message({"message": ["a is bad", "b is bad"]}) == "a is bad; b is bad"
    assert _error_message({"error": {"message": "nested"}}) == "nested"
    assert _error_message({"message": "Body validation error!",
                           "errors": [{"path": "prompt", "message": "must be a string"}]}) == \
        "Body validation error! prompt: must be a string"
    assert _error_message(None) == "" and _error_message([1]) == ""
    assert len(_error_message("x" * 2000)) == 500


@pytest.mark.parametrize("value,expected", [
    ("2", 2.0), ("0.25", 0.25), ("0", 0.0), ("-3", 0.0), (None, None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("", None),
])
def test_retry_after_header(value, expected) -> None:
    assert _retry_after(value) == expected


def test_may_retry_rules() -> None:
    may = VideoAPI._may_retry
    server = ServerError("x", status=500)
    limited = RateLimitError("x", status=429)
    refused = APIConnectionError("x")
    dropped = APIConnectionError("x", maybe_accepted=True)
    timeout = APITimeoutError("x", maybe_accepted=True)
    bad = BadRequestError("x", status=400)
    # Fetch: 5xx, 429 and network trouble.
    assert [may(e, True) for e in (server, limited, refused, dropped, timeout, bad)] == [True] * 5 + [False]
    # Create: only what surely did not arrive.
    assert [may(e, False) for e in (server, limited, refused, dropped, timeout, bad)] == \
        [False, True, True, False, False, False]


# -- backoff ---------------------------------------------------------------------------------------------

def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    rng = random.Random(1)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (20, 8.0)):
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
        assert len(set(delays)) > 1  # jitter
    assert 0.25 <= RetryPolicy(base_delay=0.5).delay(1) <= 0.5  # works without an rng


def test_retry_after_overrides_backoff_within_limits() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, max_retry_after=30.0)
    assert policy.delay(1, 3.0) == 3.0
    assert policy.delay(4, 0.0) == 0.0
    assert policy.delay(1, -5.0) == 0.0
    assert policy.delay(1, 120.0) == 30.0


def test_repr_hides_the_key() -> None:
    api = VideoAPI("sk-very-secret-123", base_url="https://api.example.com/", dialect="legacy")
    assert "sk-very-secret-123" not in repr(api) and "secret" not in str(api)
    assert api.base_url == "https://api.example.com"
