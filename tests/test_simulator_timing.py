"""The simulator's run times by option (bot/simulator/timing.py), as a client sees them.

unified and luma-v2 jobs run run_seconds x model x resolution x (clip seconds / 5); legacy jobs,
which have no options, run run_seconds. With the manual clock (3 s queue, run_seconds 20) each
job's completion time is exact, and the answers' status words change exactly then.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.simulator.timing import luma_v2_run_seconds, run_seconds_for, unified_run_seconds
from tests.sim_fixtures import make, manual  # noqa: F401 (fixtures; manual needs make)

UNIFIED = "/v2/video/generations"
V2 = "/v2/generate/video/luma-ai/generation"
LEGACY = "/luma-ai/generations"
QUEUE = 3.0
BASE = 20.0  # SimulatorConfig.run_seconds, the manual fixture's


async def create(session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> str:
    async with session.post(path, json=body) as response:
        assert response.status in (200, 201), await response.text()
        return (await response.json())["id"]


async def status_word(session: aiohttp.ClientSession, dialect: str, job_id: str) -> str:
    if dialect == "unified":
        path, params, word = UNIFIED, {"generation_id": job_id}, "status"
    else:
        path, params, word = V2, {"generation_id": job_id}, "state"
    async with session.get(path, params=params) as response:
        assert response.status == 200
        return (await response.json())[word]


def legacy_body(prompt: str = "a cat surfing") -> dict[str, Any]:
    return {"user_prompt": prompt, "aspect_ratio": "16:9", "expand_prompt": True, "image_url": "", "image_end_url": ""}


# -- the function -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("dialect", "model", "params", "expected"), [
    ("unified", "luma/ray-2", {"resolution": "720p", "duration": 5}, 20.0),
    ("unified", "luma/ray-flash-2", {"resolution": "540p", "duration": 5}, 20 * 0.4 * 0.7),
    ("unified", "luma/ray-flash-2", {"resolution": "1080p", "duration": 9}, 20 * 0.4 * 1.6 * 1.8),
    ("unified", "luma/ray-3.2", {"resolution": "1080p", "duration": 10}, 20 * 1.5 * 1.6 * 2),
    ("unified", "luma/ray-3.2", {"resolution": "540p", "duration": 5}, 20 * 1.5 * 0.7),
    ("luma-v2", "ray-2", {}, 20.0),  # no resolution or duration: the reference
    ("luma-v2", None, {"resolution": "1080p"}, 20 * 1.6),  # the payload's default model is ray-2
    ("luma-v2", "ray-2", {"resolution": "1080p", "duration": "9s"}, 20 * 1.6 * 1.8),
    ("luma-v2", "ray-2", {"resolution": "1080p", "duration": 9}, 20 * 1.6 * 1.8),  # either spelling
    ("luma-v2", "ray-flash-2", {"resolution": "540p", "duration": "5s"}, 20 * 0.4 * 0.7),
    ("luma-v2", "ray-flash-2", {"resolution": "4k", "duration": "9s"}, 20 * 0.4 * 3.0 * 1.8),
    ("luma-v2", "ray-1-6", {}, 20 * 0.8),
    ("legacy", "ray-1-6", {}, 20.0),
    ("legacy", None, {"resolution": "4k", "duration": 9}, 20.0),  # no options there: always run_seconds
])
def test_run_seconds_for(dialect: str, model: str | None, params: dict[str, Any], expected: float) -> None:
    assert run_seconds_for(dialect, BASE, model, params) == pytest.approx(expected)


def test_dialect_functions_agree() -> None:
    for resolution in ("540p", "720p", "1080p", "4k"):
        for duration in (5, 9):
            for model in ("ray-2", "ray-flash-2"):
                assert luma_v2_run_seconds(BASE, model, resolution, f"{duration}s") == pytest.approx(
                    unified_run_seconds(BASE, f"luma/{model}", resolution, duration))


def test_unknown_values_count_as_the_reference() -> None:
    assert unified_run_seconds(BASE, "luma/ray-9", "8k", None) == pytest.approx(BASE)
    assert luma_v2_run_seconds(BASE, "ray-2", None, "soon") == pytest.approx(BASE)
    assert unified_run_seconds(BASE, "luma/ray-2", "720p", 0) == pytest.approx(BASE)


def test_the_option_mix_spreads_several_fold() -> None:
    """What the poller benchmark mixes: the quickest and slowest clips differ well over 4x."""
    unified = {(m, r, d): run_seconds_for("unified", BASE, f"luma/{m}", {"resolution": r, "duration": d})
               for m, durations in (("ray-flash-2", (5, 9)), ("ray-2", (5, 9)), ("ray-3.2", (5, 10)))
               for r in ("540p", "1080p") for d in durations}
    assert unified[("ray-3.2", "1080p", 10)] / unified[("ray-flash-2", "540p", 5)] >= 4
    assert max(unified.values()) / min(unified.values()) >= 10
    # Each axis alone moves the time: model, resolution, duration.
    assert unified[("ray-2", "540p", 5)] > 2 * unified[("ray-flash-2", "540p", 5)]
    assert unified[("ray-2", "1080p", 5)] > 2 * unified[("ray-2", "540p", 5)]
    assert unified[("ray-2", "540p", 9)] > 1.5 * unified[("ray-2", "540p", 5)]
    luma = [run_seconds_for("luma-v2", BASE, m, {"resolution": r, "duration": f"{d}s"})
            for m in ("ray-flash-2", "ray-2") for r in ("540p", "1080p") for d in (5, 9)]
    luma.append(run_seconds_for("luma-v2", BASE, "ray-1-6", {}))
    assert max(luma) / min(luma) >= 4


# -- through the API --------------------------------------------------------------------------------

async def test_unified_jobs_finish_by_option(manual) -> None:
    sim, session, clock = manual
    flash = await create(session, UNIFIED, {"model": "luma/ray-flash-2", "prompt": "x",
                                            "resolution": "540p", "duration": 5})
    big = await create(session, UNIFIED, {"model": "luma/ray-3.2", "prompt": "x",
                                          "resolution": "1080p", "duration": 10})
    bare = await create(session, UNIFIED, {"model": "luma/ray-2", "prompt": "x"})  # 1080p 5 s by default
    assert sim.job(flash).completed_at == pytest.approx(QUEUE + 5.6)
    assert sim.job(big).completed_at == pytest.approx(QUEUE + 96.0)
    assert sim.job(bare).completed_at == pytest.approx(QUEUE + 32.0)
    clock.advance(QUEUE + 5.6)
    assert await status_word(session, "unified", flash) == "completed"
    assert await status_word(session, "unified", bare) == "generating"
    clock.advance(32.0 - 5.6)
    assert await status_word(session, "unified", bare) == "completed"
    assert await status_word(session, "unified", big) == "generating"
    clock.advance(96.0 - 32.0)
    assert await status_word(session, "unified", big) == "completed"


async def test_luma_v2_jobs_finish_by_option(manual) -> None:
    sim, session, clock = manual
    flash = await create(session, V2, {"prompt": "x", "model": "ray-flash-2", "resolution": "540p", "duration": "5s"})
    old = await create(session, V2, {"prompt": "x", "model": "ray-1-6"})
    bare = await create(session, V2, {"prompt": "x"})
    big = await create(session, V2, {"prompt": "x", "model": "ray-2", "resolution": "1080p", "duration": "9s"})
    runs = {flash: 5.6, old: 16.0, bare: 20.0, big: 57.6}
    for job_id, run in runs.items():
        assert sim.job(job_id).completed_at == pytest.approx(QUEUE + run)
    assert runs[big] / runs[flash] > 10
    clock.advance(QUEUE + 5.6)
    assert await status_word(session, "luma-v2", flash) == "completed"
    assert [await status_word(session, "luma-v2", j) for j in (old, bare, big)] == ["dreaming"] * 3
    clock.advance(16.0 - 5.6)
    assert await status_word(session, "luma-v2", old) == "completed"
    assert await status_word(session, "luma-v2", bare) == "dreaming"
    clock.advance(20.0 - 16.0)
    assert await status_word(session, "luma-v2", bare) == "completed"
    assert await status_word(session, "luma-v2", big) == "dreaming"
    clock.advance(57.6 - 20.0)
    assert await status_word(session, "luma-v2", big) == "completed"


async def test_legacy_jobs_all_run_run_seconds(manual) -> None:
    sim, session, _ = manual
    ids = [await create(session, LEGACY, legacy_body(f"clip {i}")) for i in range(3)]
    assert [sim.job(job_id).completed_at for job_id in ids] == [pytest.approx(QUEUE + BASE)] * 3


async def test_jitter_scales_the_option_time(make) -> None:
    sim, session = await make(time_scale=1.0, run_jitter=0.2, seed=7, clock=lambda: 0.0)
    flash = [await create(session, V2, {"prompt": "x", "model": "ray-flash-2", "resolution": "540p",
                                        "duration": "5s"}) for _ in range(20)]
    big = [await create(session, V2, {"prompt": "x", "model": "ray-2", "resolution": "1080p",
                                      "duration": "9s"}) for _ in range(20)]
    flash_runs = [sim.job(j).run_s for j in flash]
    big_runs = [sim.job(j).run_s for j in big]
    assert all(5.6 * 0.8 - 1e-9 <= run <= 5.6 * 1.2 + 1e-9 for run in flash_runs)
    assert all(57.6 * 0.8 - 1e-9 <= run <= 57.6 * 1.2 + 1e-9 for run in big_runs)
    assert len(set(flash_runs)) > 1  # jitter is drawn per job
    assert min(big_runs) > max(flash_runs)
