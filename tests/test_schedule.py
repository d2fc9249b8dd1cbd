"""The poll schedule learns run times per option, borrows for an option never seen, and starts warm."""

from __future__ import annotations

from bot.services.schedule import OptionKey, PollSchedule, option_key

FLASH = option_key("unified", "ray-flash-2", {"resolution": "540p", "duration": 5})
RAY32 = option_key("unified", "ray-3.2", {"resolution": "1080p", "duration": 10})


def test_keys_fill_in_the_models_defaults():
    assert option_key("unified", "ray-2", {}) == OptionKey("unified", "ray-2", "1080p", 5, "video")
    assert option_key("unified", None, {}, default_model="ray-3.2") == OptionKey("unified", "ray-3.2", "720p", 5, "video")
    assert OptionKey.parse(RAY32.text()) == RAY32 and RAY32.text() == "unified|ray-3.2|1080p|10|video"
    assert OptionKey.parse("not a key") is None


def test_each_option_is_planned_by_its_own_run_times():
    schedule = PollSchedule(min_interval=1, max_interval=600, default_interval=5)
    for seconds in (20, 21, 22, 23, 24):
        schedule.learn(seconds, FLASH)
    for seconds in (280, 290, 300, 310, 320):
        schedule.learn(seconds, RAY32)
    # First look just before the earliest usual finish: 0.9 x p5.
    assert schedule.checked(1, started_at=0, now=0, key=FLASH) == 18.0
    assert schedule.checked(2, started_at=0, now=0, key=RAY32) == 252.0
    # Then a steady step across the option's spread (an eighth of p5..p95), not a fixed second.
    assert schedule.checked(2, started_at=0, now=252, key=RAY32) == 252 + 40 / 8
    assert schedule.checked(1, started_at=0, now=18, key=FLASH) == 19.0  # min_interval: its spread is 4 s
    assert schedule.typical(RAY32) == 300 and schedule.typical(FLASH) == 22


def test_an_option_never_seen_borrows_its_models_times_scaled_by_length():
    schedule = PollSchedule(min_interval=1, max_interval=600, default_interval=5)
    five = option_key("unified", "ray-2", {"duration": 5})
    for seconds in (100, 100, 100):
        schedule.learn(seconds, five)
    assert schedule.typical(option_key("unified", "ray-2", {"duration": 9})) == 180.0
    # Another model of the dialect borrows the dialect's clips; nothing learned at all: the default.
    assert schedule.typical(RAY32) == 200.0
    assert PollSchedule(default_interval=5).checked(1, 0, 0, RAY32) == 5


def test_loaded_run_times_plan_like_learned_ones():
    learned, loaded = PollSchedule(), PollSchedule()
    rows = [(RAY32, 300.0), (RAY32, 310.0), (RAY32, 290.0)]
    for key, seconds in rows:
        learned.learn(seconds, key)
    loaded.load(rows)
    assert loaded.checked(1, 0, 0, RAY32) == learned.checked(1, 0, 0, RAY32) != 5.0
