"""/dreamadmin report, history and audit: the numbers moderators read must be the ledger's."""

from __future__ import annotations

import io
import re
import time

from PIL import Image

from bot.prices import format_usd
from bot.services import charts
from tests.admin_helpers import (
    COST,
    admin,
    admin_text,
    clip_id,
    dream,
    number,
    person,
    posted,
    use_prices,
)
from tests.harness import payloads
from tests.world import world

SPENDER = re.compile(r"^\d+\. <@(\d+)>: ([\d,]+) credits \((\$[\d.,]+)\); (\d+) requested, (\d+) done, "
                     r"(\d+) failed, ([\d,]+) credits? refunded$")
DAY = 86_400.0


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_spenders(value: str) -> dict[int, tuple[int, int, int, int, int]]:
    """{user_id: (spent, requested, done, failed, refunded)} from a report field."""
    rows = {}
    for line in value.splitlines():
        match = SPENDER.match(line)
        assert match, f"unreadable report line: {line!r}"
        user, spent, dollars, requested, done, failed, refunded = match.groups()
        assert dollars == format_usd(_int(spent))  # both units agree
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
        this_month, books_month, all_time, books_all_time = embed["fields"]
        assert [f["name"] for f in embed["fields"]] == ["This month", "Books this month", "All time",
                                                        "Books, all time"]
        report = parse_spenders(all_time["value"])
        assert parse_spenders(this_month["value"]) == report
        assert list(report) == [int(alice["id"]), int(bob["id"])]  # biggest spender first
        assert report[int(alice["id"])] == (2 * COST, 3, 2, 1, COST)
        assert report[int(bob["id"])] == (COST, 2, 1, 1, COST)
        for user in (alice, bob):
            assert report[int(user["id"])] == await ledger_by_member(w, int(user["id"]))
        totals = await w.store.ledger_totals(w.h.guild_id)
        assert sum(r[0] for r in report.values()) == totals.charged == 3 * COST
        assert sum(r[4] for r in report.values()) == totals.refunded == 2 * COST
        assert sum(r[1] for r in report.values()) == totals.generations == 5
        assert (f"1. <@{alice['id']}>: 9,000,000 credits ($4.50); 3 requested, 2 done, 1 failed, "
                "4,500,000 credits refunded") in all_time["value"]
        # The simulator bills exactly what it reports, so both sides of the books agree.
        for books in (books_month, books_all_time):
            lines = books["value"].splitlines()
            assert lines[0] == "Members were charged 13,500,000 credits ($6.75) for finished clips."
            assert "Difference: none; the video service billed exactly what members were charged." in lines
            assert "Overruns: none." in lines
        assert "token" not in str(embed)

        # The chart: a PNG attached to the ephemeral followup, shown in the embed.
        assert len(said.files) == 1
        chart = said.files[0]
        assert chart.filename == "spend.png" and chart.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert embed["image"]["url"] == "attachment://spend.png"
        lifetime = (await admin(w, "report", {"period": "lifetime"})).json["embeds"][0]
        assert [f["name"] for f in lifetime["fields"]] == ["All time", "Books, all time"]
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
        assert lines[1] == f"#{failed} ❌ failed · nothing (4,500,000 credits refunded) · FAIL: an owl"
        assert lines[2] == f"#{ok} ✅ done · 4,500,000 credits ($2.25) · a \\*bold\\* owl"
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
        spenders = [f for f in embed["fields"] if not f["name"].startswith("Books")]
        assert [f["name"] for f in spenders] == ["This week", "All time"]
        for field in embed["fields"]:
            assert 0 < len(field["value"]) <= 1024, len(field["value"])
        for field in spenders:
            lines = field["value"].splitlines()
            # 12 clips of 4,500,000 credits, each billed 123,457 more than reserved.
            assert lines[0].startswith(f"1. <@{10**18 + 11}>: 55,481,484 credits ($27.74); 12 requested")
            assert re.fullmatch(r"… and \d+ more", lines[-1]), lines[-1]
        books = embed["fields"][-1]["value"]
        assert "Overruns: 78 clips cost 9,629,646 credits ($4.81) more than reserved, in all." in books
        assert said.files[0].data[:4] == b"\x89PNG"


async def test_audit_lists_each_change_with_who_made_it_newest_first(tmp_path):
    alice = person("alice")
    dave = person("dave")
    async with world(tmp_path, members=[payloads.member(alice), payloads.member(dave)]) as w:
        me = w.h.user["id"]
        channel = w.h.channel_id
        await admin_text(w, "cap set", {"amount": number(2), "period": "day", "member": alice})
        await admin_text(w, "limits", {"per_member": 3, "per_server": 10}, user=dave)
        await admin_text(w, "block", {"member": alice})
        await admin_text(w, "channels allow", {"channel": w.fake.channels[channel]}, user=dave)
        await admin_text(w, "cap set", {"amount": number(2_000_000), "unit": "credits", "period": "week"})
        await admin_text(w, "cap set", {"amount": number(3), "period": "month", "member": alice}, user=dave)
        await admin_text(w, "limits", {"cooldown_seconds": 90})

        said = await admin_text(w, "audit")
        lines = said.splitlines()
        expected = [
            (me, "set the cooldown to 90 s (was 0 s)"),
            (dave["id"], f"set <@{alice['id']}>'s cap to 6,000,000 credits ($3.00) per month "
                         "(was 4,000,000 credits ($2.00) per day)"),
            (me, "set the default cap to 2,000,000 credits ($1.00) per week"),
            (dave["id"], f"allowed clips in <#{channel}>"),
            (me, f"blocked <@{alice['id']}>"),
            (dave["id"], "set clips running at once to 3 per member, 10 for the server"),
            (me, f"set <@{alice['id']}>'s cap to 4,000,000 credits ($2.00) per day (was the server default)"),
        ]
        assert len(lines) == len(expected)
        for line, (actor, what) in zip(lines, expected):
            assert re.fullmatch(rf"<t:\d+:f> <@{actor}> " + re.escape(what), line), line
        stored = await w.store.audit_log(w.h.guild_id)
        assert [e.actor_id for e in stored] == [int(a) for a, _ in expected]

        assert len((await admin_text(w, "audit", {"limit": 2})).splitlines()) == 2


async def seed_clip(w, *, reserve: int, charged: int | None = None, at: float | None = None,
                    failed: bool = False, in_doubt: bool = False, provider: int | None = None) -> int:
    """One generation through the store: reserved, sent, then finished as told. `charged` is the
    credits_used the answer reported (None: the answer carried no cost); `provider` what the provider's
    logs said later."""
    g = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=int(w.h.user["id"]),
                              kind="dream", prompt="seeded", cost=reserve, now=at)
    if in_doubt:
        assert await w.store.mark_in_doubt(g.id, now=at)
        return g.id
    assert await w.store.mark_submitted(g.id, f"seeded-{g.id}", now=at)
    if failed:
        assert await w.store.fail(g.id, "seeded failure", provider_billed_nothing=True, now=at)
    else:
        assert await w.store.complete(g.id, "https://cdn.example/v.mp4", credits_used=charged, now=at)
    if provider is not None:
        assert await w.store.set_provider_credits(g.id, provider)
    return g.id


def books_of(embed: dict) -> dict[str, list[str]]:
    return {f["name"]: f["value"].splitlines() for f in embed["fields"] if f["name"].startswith("Books")}


async def test_report_shows_what_members_were_charged_beside_what_the_provider_billed(tmp_path):
    async with world(tmp_path) as w:
        old = time.time() - 40 * DAY  # before the start of this month, whatever today is
        # This month: billed as reported; charged the reserve, the logs later said less; cost never known;
        # failed (the provider billed nothing); and a create whose answer was lost, still being checked.
        await seed_clip(w, reserve=COST, charged=COST)
        await seed_clip(w, reserve=COST, charged=None, provider=4_000_000)
        await seed_clip(w, reserve=COST, charged=None)
        await seed_clip(w, reserve=COST, failed=True)
        await seed_clip(w, reserve=COST, in_doubt=True)
        # Earlier: an overrun (reported, so both sides agree), and one the logs said cost more than was charged.
        await seed_clip(w, reserve=13_000_000, charged=13_500_000, at=old)
        await seed_clip(w, reserve=COST, charged=None, provider=5_000_000, at=old)

        month = await w.store.provider_totals(w.h.guild_id, since=time.time() - 20 * DAY)
        assert (month.member_charged, month.difference, month.unknown) == (13_500_000, -500_000, 1)

        embed = (await admin(w, "report")).json["embeds"][0]
        books = books_of(embed)
        assert books["Books this month"] == [
            "Members were charged 13,500,000 credits ($6.75) for finished clips.",
            "The video service billed 8,500,000 credits ($4.25) for the 3 clips whose cost it reported "
            "(members: 9,000,000 credits ($4.50)).",
            "Difference: members were charged 500,000 credits ($0.25) more than the video service billed.",
            "Cost not known yet: 1 finished clip.",
            "Overruns: none.",
            "In doubt: 1 request being checked with the video service, 4,500,000 credits ($2.25) reserved.",
        ]
        assert books["Books, all time"] == [
            "Members were charged 31,500,000 credits ($15.75) for finished clips.",
            "The video service billed 27,000,000 credits ($13.50) for the 5 clips whose cost it reported "
            "(members: 27,000,000 credits ($13.50)).",
            "Difference: none; the video service billed exactly what members were charged.",
            "Cost not known yet: 1 finished clip.",
            "Overruns: 1 clip cost 500,000 credits ($0.25) more than reserved, in all.",
            "In doubt: 1 request being checked with the video service, 4,500,000 credits ($2.25) reserved.",
        ]
        # The numbers are the store's own.
        everything = await w.store.provider_totals(w.h.guild_id)
        assert (everything.member_charged, everything.provider_billed, everything.difference) == (
            31_500_000, 27_000_000, 0)


async def test_report_warns_while_prices_are_stale_and_not_when_fresh(tmp_path):
    async with world(tmp_path) as w:
        await seed_clip(w, reserve=COST, charged=COST)
        await use_prices(w, "fresh")
        embed = (await admin(w, "report")).json["embeds"][0]
        assert "description" not in embed and "⚠️" not in str(embed)

        service = await use_prices(w, "cached")
        embed = (await admin(w, "report")).json["embeds"][0]
        checked = int(service.status().checked_at)
        assert embed["description"] == (
            f"⚠️ Prices could not be refreshed from the video service since <t:{checked}:f> (<t:{checked}:R>); "
            "the bot is using cached prices. Reserves may differ from what the provider bills until they are "
            "refreshed.")
        assert [f["name"] for f in embed["fields"]] == ["This month", "Books this month", "All time",
                                                        "Books, all time"]

        await use_prices(w, "file")
        embed = (await admin(w, "report", {"period": "lifetime"})).json["embeds"][0]
        assert embed["description"] == (
            "⚠️ Prices have not been read from the video service yet; the bot is using the prices in its price "
            "file. Reserves may differ from what the provider bills until they are refreshed.")

        # Fresh again: the warning goes away.
        await use_prices(w, "fresh")
        assert "description" not in (await admin(w, "report")).json["embeds"][0]
