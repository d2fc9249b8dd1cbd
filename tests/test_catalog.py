"""The model table (bot/api/catalog.py): its facts, the start-up check, defaults for pricing, and
the sentences a member reads when a choice does not fit the model. (Whether the table agrees
with the provider's schemas is tests/test_api_conformance.py's job.)"""

from __future__ import annotations

import dataclasses

import pytest

from bot.api import (
    ModelSpec,
    VideoOptions,
    check_default_model,
    effective_params,
    find_model,
    has_model_choice,
    models_for,
    option_problems,
    request_model,
    request_problems,
    retired_reason,
)
from bot.api.catalog import FIXED_MODELS, MODELS, RETIRED

VIDEO = "https://cdn.aimlapi.com/luma/dream_machine/a/b.mp4"
IMAGE = "https://example.com/start.png"


def spec(name: str, dialect: str = "unified") -> ModelSpec:
    found = find_model(dialect, name)
    assert found is not None, name
    return found


def problems(name: str, dialect: str = "unified", *, extending: bool = False, **options) -> list[str]:
    return option_problems(spec(name, dialect), VideoOptions(**options), extending=extending)


# -- the table -------------------------------------------------------------------------------------------

def test_unified_models_and_their_order() -> None:
    assert [m.name for m in models_for("unified")] == ["ray-2", "ray-flash-2", "ray-3.2"]
    assert [m.api_name for m in models_for("unified")] == ["luma/ray-2", "luma/ray-flash-2", "luma/ray-3.2"]
    assert [m.label for m in models_for("unified")] == ["ray-2: best quality", "ray-flash-2: fastest, cheapest",
                                                        "ray-3.2: newest, HDR"]
    assert all(len(m.label) <= 100 for d in MODELS for m in models_for(d))  # a Discord choice name's limit
    assert all(m.dialect == d for d in MODELS for m in models_for(d))


def test_ray32_facts() -> None:
    ray32 = spec("ray-3.2")
    assert ray32.resolutions == ("360p", "540p", "720p", "1080p") and "4k" not in ray32.resolutions
    assert ray32.default_resolution == "720p"
    assert ray32.durations == (5, 10) and ray32.default_duration == 5
    assert "9:21" not in ray32.aspect_ratios and len(ray32.aspect_ratios) == 6
    assert (ray32.loop, ray32.hdr, ray32.exr_export) == (True, True, True)
    assert ray32.types == ("video", "video_edit", "video_reframe")
    assert ray32.extend_by_id is False and ray32.images is True
    assert (ray32.hdr_durations, ray32.hdr_resolutions) == ((5,), ("720p", "1080p"))


@pytest.mark.parametrize("name", ["ray-2", "ray-flash-2"])
def test_ray2_facts(name) -> None:
    ray2 = spec(name)
    assert ray2.resolutions == ("540p", "720p", "1080p", "4k") and ray2.default_resolution == "1080p"
    assert ray2.durations == (5, 9) and ray2.default_duration == 5
    assert ray2.aspect_ratios == ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21")
    assert ray2.default_aspect_ratio == "16:9"
    assert (ray2.loop, ray2.hdr, ray2.exr_export, ray2.types) == (True, False, False, ("video",))
    assert ray2.extend_by_id and ray2.images


def test_specs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec("ray-2").hdr = True  # type: ignore[misc]


def test_luma_v2_keeps_its_seed_models() -> None:
    assert [m.name for m in models_for("luma-v2")] == ["ray-2", "ray-flash-2", "ray-1-6"]
    assert [m.api_name for m in models_for("luma-v2")] == ["ray-2", "ray-flash-2", "ray-1-6"]
    ray16 = spec("ray-1-6", "luma-v2")
    assert (ray16.resolutions, ray16.durations, ray16.loop, ray16.extend_by_id) == ((), (), True, True)
    # The payload lists them, but documents no default for either.
    assert (spec("ray-2", "luma-v2").default_resolution, spec("ray-2", "luma-v2").default_duration) == (None, None)
    assert find_model("luma-v2", "ray-3.2") is None


def test_legacy_has_no_model_choice() -> None:
    assert models_for("legacy") == () and has_model_choice("legacy") is False
    assert find_model("legacy", "ray-2") is None
    # What its endpoint takes, for the checks; members never pick it, whatever is asked for.
    fixed = FIXED_MODELS["legacy"]
    assert (fixed.api_name, fixed.resolutions, fixed.durations, fixed.loop, fixed.hdr) == ("", (), (), False, False)
    assert fixed.images and fixed.extend_by_id
    assert request_model("legacy", None, "ray-2") is fixed and request_model("legacy", "ray-9", "ray-2") is fixed


def test_find_model_spellings() -> None:
    assert find_model("unified", "luma/ray-2") is spec("ray-2") and find_model("unified", " Ray-2 ") is spec("ray-2")
    assert find_model("luma-v2", "luma/ray-flash-2") is spec("ray-flash-2", "luma-v2")
    assert find_model("unified", "ray-1-6") is None and find_model("unified", "luma/ray-1-6") is None
    with pytest.raises(ValueError, match="unknown dialect 'v3'"):
        find_model("v3", "ray-2")


def test_retired_models() -> None:
    assert RETIRED["unified"] == {"ray-1-6": "retired by the provider on 2026-01-26"}
    assert retired_reason("unified", "ray-1-6") == retired_reason("unified", "luma/ray-1-6") == \
        "retired by the provider on 2026-01-26"
    assert retired_reason("unified", "ray-2") is None and retired_reason("luma-v2", "ray-1-6") is None
    for dialect in MODELS:  # a retired model is never also a current one
        assert not set(RETIRED[dialect]) & {m.name for m in models_for(dialect)}


# -- DEFAULT_MODEL at start-up -----------------------------------------------------------------------------

@pytest.mark.parametrize("dialect,name,expected", [
    ("unified", "ray-1-6",
     "DEFAULT_MODEL ray-1-6 was retired by the provider on 2026-01-26; choose one of ray-2, ray-flash-2, ray-3.2"),
    ("unified", "ray-9", "DEFAULT_MODEL ray-9 is not a model of the unified API; choose one of ray-2, ray-flash-2, "
                         "ray-3.2"),
    ("unified", "ray-2", None), ("unified", "ray-3.2", None), ("unified", "luma/ray-flash-2", None),
    ("luma-v2", "ray-1-6", None), ("luma-v2", "ray-2", None),
    ("luma-v2", "ray-3.2", "DEFAULT_MODEL ray-3.2 is not a model of the luma-v2 API; choose one of ray-2, "
                           "ray-flash-2, ray-1-6"),
    ("legacy", "ray-2", None), ("legacy", "ray-1-6", None), ("legacy", "anything", None),  # never sent there
])
def test_check_default_model(dialect, name, expected) -> None:
    assert check_default_model(dialect, name) == expected


# -- defaults for pricing ------------------------------------------------------------------------------------

def test_effective_params_fill_in_the_model_defaults() -> None:
    assert effective_params(spec("ray-3.2"), VideoOptions()) == {
        "resolution": "720p", "duration": 5, "aspect_ratio": "16:9", "loop": False, "hdr": False, "type": "video"}
    assert effective_params(spec("ray-2"), VideoOptions()) == {
        "resolution": "1080p", "duration": 5, "aspect_ratio": "16:9", "loop": False}
    chosen = VideoOptions(resolution="360p", duration=10, aspect_ratio="9:16", loop=True, hdr=False,
                          video_type="video_edit", source_video_url=VIDEO)
    assert effective_params(spec("ray-3.2"), chosen) == {
        "resolution": "360p", "duration": 10, "aspect_ratio": "9:16", "loop": True, "hdr": False,
        "type": "video_edit"}
    # Only the fields the model has: ray-flash-2 has no hdr or type, whatever was chosen.
    assert set(effective_params(spec("ray-flash-2"), VideoOptions(hdr=False, video_type="video"))) == {
        "resolution", "duration", "aspect_ratio", "loop"}


def test_effective_params_on_the_older_dialects() -> None:
    assert effective_params(spec("ray-2", "luma-v2"), VideoOptions()) == {"aspect_ratio": "16:9", "loop": False}
    assert effective_params(spec("ray-2", "luma-v2"), VideoOptions(resolution="4k", duration=9)) == {
        "resolution": "4k", "duration": 9, "aspect_ratio": "16:9", "loop": False}
    assert effective_params(spec("ray-1-6", "luma-v2"), VideoOptions()) == {"aspect_ratio": "16:9", "loop": False}
    assert effective_params(FIXED_MODELS["legacy"], VideoOptions(aspect_ratio="1:1")) == {"aspect_ratio": "1:1"}


# -- what a member reads ----------------------------------------------------------------------------------------

def test_what_fits_says_nothing() -> None:
    assert problems("ray-2", resolution="4k", duration=9, aspect_ratio="9:21", loop=True, start_image_url=IMAGE) == []
    assert problems("ray-3.2", resolution="1080p", duration=5, hdr=True, exr_export=True, loop=True) == []
    assert problems("ray-3.2", hdr=True) == []  # 720p and 5 s are its defaults
    assert problems("ray-3.2", video_type="video_edit", source_video_url=VIDEO, loop=False) == []
    assert problems("ray-2", extending=True) == [] and problems("ray-flash-2", extending=True) == []
    assert problems("ray-2", hdr=False, exr_export=False, video_type="video") == []  # "off" is what ray-2 does


@pytest.mark.parametrize("name,options,expected", [
    ("ray-2", {"duration": 10}, ["ray-2 makes 5 or 9 second clips, not 10."]),
    ("ray-flash-2", {"duration": 10}, ["ray-flash-2 makes 5 or 9 second clips, not 10."]),
    ("ray-3.2", {"duration": 9}, ["ray-3.2 makes 5 or 10 second clips, not 9."]),
    ("ray-3.2", {"resolution": "4k"}, ["ray-3.2 goes up to 1080p; 4k needs ray-2 or ray-flash-2."]),
    ("ray-2", {"resolution": "360p"}, ["ray-2 starts at 540p; 360p needs ray-3.2."]),
    ("ray-3.2", {"aspect_ratio": "9:21"}, ["ray-3.2 has no 9:21; pick another shape or ray-2."]),
    ("ray-3.2", {"hdr": True, "duration": 10}, ["HDR needs a 5 second clip at 720p or 1080p."]),
    ("ray-3.2", {"hdr": True, "resolution": "540p"}, ["HDR needs a 5 second clip at 720p or 1080p."]),
    ("ray-3.2", {"exr_export": True}, ["EXR export needs HDR."]),
    ("ray-3.2", {"exr_export": True, "hdr": False}, ["EXR export needs HDR."]),
    ("ray-3.2", {"loop": True, "video_type": "video_edit", "source_video_url": VIDEO},
     ["Looping works only when creating a clip."]),
    ("ray-3.2", {"loop": True, "video_type": "video_reframe", "source_video_url": VIDEO},
     ["Looping works only when creating a clip."]),
    ("ray-3.2", {"video_type": "video_edit"}, ["Editing needs a source video."]),
    ("ray-3.2", {"video_type": "video_reframe"}, ["Reframing needs a source video."]),
    ("ray-3.2", {"source_video_url": VIDEO}, ["A source video is used only for editing or reframing."]),
    ("ray-2", {"hdr": True}, ["ray-2 can't make HDR clips; that needs ray-3.2."]),
    ("ray-2", {"exr_export": True}, ["ray-2 can't export EXR frames; that needs ray-3.2."]),
    ("ray-2", {"video_type": "video_edit", "source_video_url": VIDEO}, ["ray-2 can't edit clips; that needs ray-3.2."]),
    ("ray-2", {"video_type": "video_reframe", "source_video_url": VIDEO},
     ["ray-2 can't reframe clips; that needs ray-3.2."]),
    ("ray-2", {"source_video_url": VIDEO}, ["ray-2 can't edit or reframe clips; that needs ray-3.2."]),
    ("ray-3.2", {"resolution": "4k", "aspect_ratio": "9:21", "duration": 9}, [
        "ray-3.2 goes up to 1080p; 4k needs ray-2 or ray-flash-2.",
        "ray-3.2 makes 5 or 10 second clips, not 9.",
        "ray-3.2 has no 9:21; pick another shape or ray-2.",
    ]),
])
def test_option_problems_sentences(name, options, expected) -> None:
    assert problems(name, **options) == expected


def test_extending_a_ray32_clip() -> None:
    assert problems("ray-3.2", extending=True) == [
        "Extending by clip needs ray-2 or ray-flash-2; clips made with ray-3.2 can't be extended yet."]


def test_sentences_on_the_older_dialects() -> None:
    assert problems("ray-1-6", "luma-v2", resolution="720p", duration=9) == [
        "ray-1-6 has no resolution choice; 720p needs ray-2 or ray-flash-2.",
        "ray-1-6 has no clip length choice; a 9 second clip needs ray-2 or ray-flash-2.",
    ]
    assert problems("ray-2", "luma-v2", resolution="360p") == ["ray-2 starts at 540p."]  # nobody there has 360p
    assert problems("ray-2", "luma-v2", duration=10) == ["ray-2 makes 5 or 9 second clips, not 10."]
    assert problems("ray-2", "luma-v2", hdr=True) == ["This bot's video service can't make HDR clips."]
    legacy = FIXED_MODELS["legacy"]
    assert option_problems(legacy, VideoOptions(model="ray-2", resolution="720p", duration=5, loop=False)) == [
        "This bot's video service doesn't let you choose a model.",
        "This bot's video service doesn't let you choose a resolution.",
        "This bot's video service doesn't let you choose a clip length.",
        "This bot's video service can't make looping clips.",
    ]
    assert option_problems(legacy, VideoOptions(video_type="video_edit", source_video_url=VIDEO)) == [
        "This bot's video service can't edit or reframe clips."]
    assert option_problems(legacy, VideoOptions(aspect_ratio="9:21", start_image_url=IMAGE), extending=True) == []


def test_request_problems_resolve_the_model_first() -> None:
    assert request_problems("unified", VideoOptions(), "ray-2") == []
    assert request_problems("unified", VideoOptions(model="ray-1-6"), "ray-2") == [
        "ray-1-6 was retired by the provider on 2026-01-26; choose one of ray-2, ray-flash-2, ray-3.2."]
    assert request_problems("unified", VideoOptions(duration=10), "ray-3.2") == []
    assert request_problems("unified", VideoOptions(model="ray-2", duration=10), "ray-3.2") == [
        "ray-2 makes 5 or 9 second clips, not 10."]
    assert request_problems("unified", VideoOptions(), "ray-3.2", extending=True) == [
        "Extending by clip needs ray-2 or ray-flash-2; clips made with ray-3.2 can't be extended yet."]
    assert request_problems("luma-v2", VideoOptions(model="ray-1-6"), "ray-2") == []
    assert request_problems("legacy", VideoOptions(model="ray-2"), "ray-2") == [
        "This bot's video service doesn't let you choose a model."]
    assert request_problems("legacy", VideoOptions(loop=True, hdr=True), "ray-1-6") == [
        "This bot's video service can't make looping clips.", "This bot's video service can't make HDR clips."]
    assert request_problems("legacy", VideoOptions(aspect_ratio="1:1", end_image_url=IMAGE), "ray-2",
                            extending=True) == []
    assert request_model("unified", None, "ray-3.2") is spec("ray-3.2")
    assert request_model("unified", "ray-flash-2", "ray-3.2") is spec("ray-flash-2")
    assert request_model("unified", None, "ray-1-6") is None
