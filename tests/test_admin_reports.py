"""/dreamadmin report, history and audit: the numbers moderators read must be the ledger's."""

from __future__ import annotations

import io
import re

from PIL import Image

from bot.services import charts
from tests.admin_helpers import (
    COST,
    admin,
    admin_text,
    clip_id,
    dream,
    person,
    posted,
)
from tests.harness import payloads
from tests.world import world

SPENDER = re.compile(r"^\d+\. <@(\d+)>: ([\d,]+) tokens \(([\d.,]+) clips?\); (\d+) requested, (\d+) done, "
                     r"(\d+) failed, ([\d,]+) tokens refunded$")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_spenders(value: str) -> dict[int, tuple[int, int, int, int, int]]:
    """{user_id: (spent, requested, done, failed, refunded)} from a report field."""
    rows = {}
    for line in value.splitlines():
        match = SPENDER.match(line)
        assert match, f"unreadable report line: {line!r}"
        user, spent, clips, requested, done, failed, refunded = match.groups()
        assert float(clips.replace(",", "")) == _int(spent) / COST  # both units agree
        rows[int(user)] = (_int(spent), int(requested), int(done), int(failed), _int(refunded))
    return rows


async def ledger_by_member(w, user_id: int) -> tuple[int, int, int, int, int]:
    """The same five numbers, straight from the ledger rows of the member's generations."""
    spent = refunded = done = failed = 0
    generations = await w.store.recent(w.h.guild_id, user_id=user_id, limit=1000)
    for generation in generations:
        amounts = {e.kind: e.amount for e in await w.store.ledger_entries(generation.id)}
        refunded += amounts.get("refund", 0)
        spent += amounts.get("charge", amounts["reserve"] - amounts.get("refund", 0))
        done += generation.status == "completed"
        failed += generation.status == "failed"
    return spent, len(generations), done, failed, refunded


async def make_clips(w, user, prompts):
    ids = []
    for prompt in prompts:
        generation_id = clip_id(await dream(w, user, prompt))
        await posted(w, generation_id)
        ids.append(generation_id)
    return ids


async def test_report_matches_the_ledger_and_attaches_a_png_chart(tmp_path):
    alice, bob = person("alice"), person("bob")
    async with world(tmp_path, members=[payloads.member(alice), payloads.member(bob)]) as w:
        await make_clips(w, alice, ["a red kite", "a FAIL of a kite", "a blue kite"])
        await make_clips(w, bob, ["FAIL again", "a green field"])

        said = await admin(w, "report")
        embed = said.json["embeds"][0]
        this_month, all_time = embed["fields"]
        assert this_month["name"] == "This month" and all_time["name"] == "All time"
        report = parse_spenders(all_time["value"])
        assert parse_spenders(this_month["value"]) == report
        assert list(report) == [int(alice["id"]), int(bob["id"])]  # biggest spender first
        assert report[int(alice["id"])] == (1_000_000, 3, 2, 1, 500_000)
        assert report[int(bob["id"])] == (500_000, 2, 1, 1, 500_000)
        for user in (alice, bob):
            assert report[int(user["id"])] == await ledger_by_member(w, int(user["id"]))
        totals = await w.store.ledger_totals(w.h.guild_id)
        assert sum(r[0] for r in report.values()) == totals.charged == 1_500_000
        assert sum(r[4] for r in report.values()) == totals.refunded == 1_000_000
        assert sum(r[1] for r in report.values()) == totals.generations == 5
        assert "1. <@{}>: 1,000,000 tokens (2 clips); 3 requested, 2 done, 1 failed, 500,000 tokens refunded".format(
            alice["id"]) in all_time["value"]

        # The chart: a PNG attached to the ephemeral followup, shown in the embed.
        assert len(said.files) == 1
        chart = said.files[0]
        assert chart.filename == "spend.png" and chart.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert embed["image"]["url"] == "attachment://spend.png"
        lifetime = (await admin(w, "report", {"period": "lifetime"})).json["embeds"][0]
        assert [f["name"] for f in lifetime["fields"]] == ["All time"]
        assert parse_spenders(lifetime["fields"][0]["value"]) == report
        image = Image.open(io.BytesIO(chart.data)).convert("RGB")
        assert image.size == (charts.WIDTH, charts.HEIGHT)
        slot = (charts.WIDTH - 2 * charts.MARGIN) / 30
        y = charts.HEIGHT - charts.MARGIN - 3
        today = image.getpixel((int(charts.MARGIN + 29 * slot + slot / 2), y))
        a_month_ago = image.getpixel((int(charts.MARGIN + slot / 2), y))
        assert today == charts.BAR and a_month_ago == charts.BACKGROUND


async def test_history_lists_a_members_clips_with_their_costs(tmp_path):
    alice, bob = person("alice"), person("bob")
    async with world(tmp_path, members=[payloads.member(alice), payloads.member(bob)]) as w:
        ok, failed = await make_clips(w, alice, ["a *bold* owl", "FAIL: an owl"])
        await make_clips(w, bob, ["not alice's"])
        said = await admin_text(w, "history", {"member": alice})
        lines = said.splitlines()
        assert lines[0] == "**alice**"
        assert lines[1] == f"#{failed} ❌ failed · 0 tokens (0 clips) (500,000 tokens refunded) · FAIL: an owl"
        assert lines[2] == f"#{ok} ✅ done · 500,000 tokens (1 clip) · a \\*bold\\* owl"
        assert len(lines) == 3
        assert await admin_text(w, "history", {"member": person("nobody")}) == "**nobody**\nNo clips yet."


async def test_report_fits_discord_limits_with_many_spenders(tmp_path):
    async with world(tmp_path) as w:
        # Twelve members with big, long numbers (seeded through the store: the report is what is tested).
        for index in range(12):
            user_id = 10**18 + index
            for _ in range(index + 1):
                generation = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=user_id,
                                                   kind="dream", prompt="p", cost=COST)
                await w.store.mark_submitted(generation.id, f"job-{generation.id}")
                await w.store.complete(generation.id, "https://example.invalid/v.mp4", credits_used=COST + 123_457)
        said = await admin(w, "report", {"period": "week"})
        embed = said.json["embeds"][0]
        for field in embed["fields"]:
            assert 0 < len(field["value"]) <= 1024, len(field["value"])
            lines = field["value"].splitlines()
            assert lines[0].startswith(f"1. <@{10**18 + 11}>: 7,481,484 tokens (15.0 clips); 12 requested")
            assert re.fullmatch(r"… and \d+ more", lines[-1]), lines[-1]
        assert embed["fields"][0]["name"] == "This week"
        assert said.files[0].data[:4] == b"\x89PNG"


async def test_audit_lists_each_change_with_who_made_it_newest_first(tmp_path):
    alice = person("alice")
    dave = person("dave")
    async with world(tmp_path, members=[payloads.member(alice), payloads.member(dave)]) as w:
        me = w.h.user["id"]
        channel = w.h.channel_id
        await admin_text(w, "cap set", {"amount": 2, "period": "day", "member": alice})
        await admin_text(w, "limits", {"per_member": 3, "per_server": 10}, user=dave)
        await admin_text(w, "block", {"member": alice})
        await admin_text(w, "channels allow", {"channel": w.fake.channels[channel]}, user=dave)
        await admin_text(w, "cap set", {"amount": 2_000_000, "unit": "tokens", "period": "week"})
        await admin_text(w, "cap set", {"amount": 3, "period": "month", "member": alice}, user=dave)
        await admin_text(w, "limits", {"cooldown_seconds": 90})

        said = await admin_text(w, "audit")
        lines = said.splitlines()
        expected = [
            (me, "set the cooldown to 90 s (was 0 s)"),
            (dave["id"], f"set <@{alice['id']}>'s cap to 1,500,000 tokens (3 clips) per month "
                         "(was 1,000,000 tokens (2 clips) per day)"),
            (me, "set the default cap to 2,000,000 tokens (4 clips) per week"),
            (dave["id"], f"allowed clips in <#{channel}>"),
            (me, f"blocked <@{alice['id']}>"),
            (dave["id"], "set clips running at once to 3 per member, 10 for the server"),
            (me, f"set <@{alice['id']}>'s cap to 1,000,000 tokens (2 clips) per day (was the server default)"),
        ]
        assert len(lines) == len(expected)
        for line, (actor, what) in zip(lines, expected):
            assert re.fullmatch(rf"<t:\d+:f> <@{actor}> " + re.escape(what), line), line
        stored = await w.store.audit_log(w.h.guild_id)
        assert [e.actor_id for e in stored] == [int(a) for a, _ in expected]

        assert len((await admin_text(w, "audit", {"limit": 2})).splitlines()) == 2
