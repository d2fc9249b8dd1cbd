"""Fault campaign, part 4: bad input. Each kind gets a clear, private refusal and costs nothing;
mentions in prompts are accepted but never ping; bad settings stop start-up with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.simulator import SimulatorConfig
from tests.bot_flows import PLAIN_CLIP
from tests.fault_tools import EPHEMERAL, result_footer_ids, speed_up, wait_settled
from tests.world import API_KEY, world

ROOT = Path(__file__).resolve().parents[1]
# What each clip here costs: a plain /dream is reserved and billed a default ray-2 clip's price
# (see tests/bot_flows.py); the foreign clip, made straight in the store, is given the same.
COST = PLAIN_CLIP


async def answer_of(w, iid: int) -> dict:
    """The member's answer: an immediate message, or the followup after a deferral."""
    callback = await w.fake.wait_callback(iid)
    if callback.json["type"] == 4:
        return callback.json["data"]
    assert callback.json["type"] == 5 and callback.json["data"]["flags"] & EPHEMERAL
    return (await w.fake.wait_followup(iid)).json


async def test_bad_prompts_and_attachments_are_refused_privately_and_free(tmp_path):
    async with world(tmp_path) as w:
        h = w.h
        cases = [
            ({"prompt": ""}, "prompt is empty"),
            ({"prompt": "    \t  "}, "prompt is empty"),
            ({"prompt": "\x00\x07\x1b\u200b\u202e"}, "prompt is empty"),
            ({"prompt": "x" * 10_000}, "10,000 characters"),
            ({"prompt": "y" * 1_001}, "1,001 characters"),
            ({"prompt": "ok", "start_image": h.attachment("notes.txt", b"hello", content_type="text/plain")},
             "not a PNG, JPEG or WebP"),
            ({"prompt": "ok", "start_image": h.attachment("movie.mp4", b"\x00" * 16, content_type="video/mp4")},
             "not a PNG, JPEG or WebP"),
            ({"prompt": "ok", "end_image": h.attachment("x`y\nz.png", content_type=None)}, "not a PNG"),
            ({"prompt": "ok", "start_image": h.attachment("huge.png", size=50 * 1024 * 1024)}, "50.0 MiB"),
        ]
        for options, expected in cases:
            iid = await h.slash("dream", options)
            answer = await answer_of(w, iid)
            assert answer["flags"] & EPHEMERAL, (options, answer)
            assert expected in answer["content"], (expected, answer["content"])
            assert "`" not in answer["content"].replace("`", "", 2)  # file names can't break the code span
        totals = await w.store.ledger_totals()
        assert totals.generations == 0 and totals.reserved == 0
        assert w.sim.counters.requests["create"] == 0
        public = [m for m in w.fake.channel_messages(h.channel_id) if not int(m.get("flags", 0)) & EPHEMERAL]
        assert public == []


async def test_clip_ids_that_are_missing_foreign_or_unfinished_are_refused(tmp_path, monkeypatch):
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.005, seed=4)
    async with world(tmp_path, sim_config=config) as w:
        speed_up(monkeypatch, w.bot)
        store = w.store
        other_guild = w.h.guild_id + 1
        # A finished clip of another server, and one of ours still being made.
        foreign = await store.reserve(guild_id=other_guild, channel_id=1, user_id=2, kind="dream", prompt="theirs",
                                      cost=COST, model="ray-2", dialect="unified")
        await store.mark_submitted(foreign.id, "elsewhere")
        await store.complete(foreign.id, "https://cdn.example/theirs.mp4")
        await store.mark_posted(foreign.id, None, None)
        w.sim.set_faults(queue_seconds=2000.0)  # 10 s queued
        iid = await w.h.slash("dream", {"prompt": "a slow sunrise"})
        assert "Clip #2 is on its way" in (await answer_of(w, iid))["content"]

        cases = [
            ({"clip": 999_999, "prompt": "more"}, "can't find clip #999999"),
            ({"clip": foreign.id, "prompt": "more"}, f"can't find clip #{foreign.id}"),
            ({"clip": 2, "prompt": "more"}, "not finished yet"),
            ({"clip": -5, "prompt": "more"}, "can't find clip #-5"),
            ({"clip": 2**62, "prompt": "more"}, "can't find clip"),
            ({"clip": 2, "prompt": "   "}, "prompt is empty"),
        ]
        for options, expected in cases:
            answer = await answer_of(w, await w.h.slash("extend", options))
            assert answer["flags"] & EPHEMERAL and expected in answer["content"], (options, answer)
        # A reroll button of a clip that does not exist here.
        status = await w.fake.wait_message(w.h.channel_id, lambda m: "asked for clip #2" in m["content"])
        forged = {**status, "components": [{"type": 1, "id": 1, "components": [
            {"type": 2, "id": 2, "style": 2, "label": "Re-roll", "custom_id": f"dream:reroll:{foreign.id}"}]}]}
        answer = await answer_of(w, await w.h.click(f"dream:reroll:{foreign.id}", forged))
        assert answer["flags"] & EPHEMERAL and "can't find clip" in answer["content"]

        w.sim.finish_now(w.sim.jobs()[0].id)
        await wait_settled(store, timeout=5)
        totals = await store.ledger_totals()
        assert totals.generations == 2 and totals.charged == 2 * COST and totals.balanced
        assert w.sim.counters.requests["create"] == 1 and w.sim.counters.requests["extend"] == 0


async def test_mentions_in_prompts_never_ping(tmp_path, monkeypatch):
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.005, seed=4)
    async with world(tmp_path, sim_config=config) as w:
        speed_up(monkeypatch, w.bot)
        role_id = w.h.guild_id + 7
        prompt = f"@everyone @here <@&{role_id}> <@{w.h.owner_id}> look at this FAIL"
        for text in (prompt.replace(" FAIL", ""), prompt):
            answer = await answer_of(w, await w.h.slash("dream", {"prompt": text}))
            assert "is on its way" in answer["content"]
        await wait_settled(w.store, timeout=5)
        sent = [r for r in w.fake.requests if r.method in ("POST", "PATCH") and isinstance(r.json, dict)
                and r.route in ("create_message", "channel_message", "followup", "callback", "webhook_message")]
        assert sent
        for request in sent:
            body = request.json.get("data", request.json) if request.route == "callback" else request.json
            if "content" not in body and "embeds" not in body:
                continue
            mentions = body.get("allowed_mentions")
            assert mentions is not None, (request.route, body)
            assert not {"everyone", "roles"} & set(mentions.get("parse", [])), mentions
            assert not mentions.get("roles"), mentions
            assert {int(u) for u in mentions.get("users", [])} <= {int(w.h.user["id"])}, mentions
            content = body.get("content") or ""
            assert "@everyone" not in content and "@here" not in content and f"<@&{role_id}>" not in content
        results = [m for m in w.fake.channel_messages(w.h.channel_id) if result_footer_ids(m)]
        assert len(results) == 2
        assert {m["content"].split("\n")[-1].split(" ")[0] for m in results} <= {"✅", "❌"}
        totals = await w.store.ledger_totals()
        assert totals.charged == COST and totals.refunded == COST and totals.balanced


# Start-up with bad settings: one line naming the setting, no traceback, no secret, non-zero exit.
TOKEN = "STARTUP-discord-token-5Gk2Pq8Wn3Lx"
KEY = "sk-STARTUP-aimlapi-key-9Jr4Tm6Zc1Vb"
BAD_SETTINGS = [
    ({"AIMLAPI_DIALECT": "klingon"}, "AIMLAPI_DIALECT"),
    ({"AIMLAPI_DIALECT": "Unified "}, "AIMLAPI_DIALECT"),
    ({"POLL_INTERVAL_SECONDS": "soon"}, "POLL_INTERVAL_SECONDS"),
    ({"POLL_INTERVAL_SECONDS": "-1"}, "POLL_INTERVAL_SECONDS"),
    ({"GENERATION_COST_TOKENS": "1e99x"}, "GENERATION_COST_TOKENS"),
    ({"AIMLAPI_BASE_URL": "ftp://api.example"}, "AIMLAPI_BASE_URL"),
    ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
    ({"COMMAND_SYNC": "guild"}, "DEV_GUILD_ID"),
    ({"DEV_GUILD_ID": "my-server"}, "DEV_GUILD_ID"),
    ({"DEFAULT_MODEL": "ray-9"}, "DEFAULT_MODEL"),
    ({"JOB_TIMEOUT_MINUTES": "nan"}, "JOB_TIMEOUT_MINUTES"),
    ({"DISCORD_TOKEN": None}, "DISCORD_TOKEN"),
    ({"AIMLAPI_KEY": None}, "AIMLAPI_KEY"),
]


def run_bot(tmp: Path, changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AIMLAPI_", "DREAMBOT"))}
    env.update(DISCORD_TOKEN=TOKEN, AIMLAPI_KEY=KEY, PYTHONPATH=str(ROOT))
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    # cwd: an empty folder, so no .env is read.
    return subprocess.run([sys.executable, "-m", "bot"], cwd=tmp, env=env, capture_output=True, text=True,
                          timeout=30)


def test_bad_settings_stop_startup_with_one_line(tmp_path):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: run_bot(tmp_path, case[0]), BAD_SETTINGS))
    for (changes, name), result in zip(BAD_SETTINGS, results):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode != 0, (changes, result.stderr)
        assert len(lines) == 1 and name in lines[0], (changes, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert TOKEN not in result.stderr and KEY not in result.stderr
        assert not any(value and value in lines[0] for value in changes.values() if value and len(value) > 6), \
            "the bad value itself is echoed"


def test_settings_error_names_only_the_setting_not_the_value(tmp_path):
    # A secret pasted into the wrong variable must not be printed back.
    result = run_bot(tmp_path, {"POLL_INTERVAL_SECONDS": KEY})
    assert result.returncode == 2 and KEY not in result.stderr and "POLL_INTERVAL_SECONDS" in result.stderr
