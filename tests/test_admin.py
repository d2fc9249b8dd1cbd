"""/dreamadmin through the real bot and the fake Discord: caps, per-guild settings, and what members then see
(who may run what: test_admin_access.py)."""

from __future__ import annotations

import pytest

from tests.admin_helpers import (
    COST,
    admin,
    admin_text,
    audit_count,
    clip_id,
    dream,
    finish,
    generation_count,
    number,
    person,
    posted,
    slow_sim,
    use_prices,
)
from tests.harness import payloads
from tests.world import world

# A plain clip is 4,500,000 credits ($2.25): see COST.


# Caps --------------------------------------------------------------------------------

async def test_a_cap_of_ten_dollars_is_stored_in_credits_and_confirmed_in_both(tmp_path):
    async with world(tmp_path) as w:
        said = await admin_text(w, "cap set", {"amount": number(10)})
        assert said == ("Default cap for everyone: 20,000,000 credits ($10.00) per month, about 4 plain clips. "
                        "It applies to new requests at once; running clips finish.")
        settings = await w.store.guild_settings(w.h.guild_id)
        assert (settings.cap_tokens, settings.cap_period) == (20_000_000, "month")

        # Cents are fine, and dollars are the default unit.
        said = await admin_text(w, "cap set", {"amount": number(2.5), "period": "week"})
        assert said.startswith("Default cap for everyone: 5,000,000 credits ($2.50) per week, about 1 plain clip.")
        assert (await w.store.guild_settings(w.h.guild_id)).cap_tokens == 5_000_000

        audit = await admin_text(w, "audit")
        assert audit.splitlines()[0].endswith(
            "set the default cap to 5,000,000 credits ($2.50) per week (was 20,000,000 credits ($10.00) per month)")


async def test_member_cap_in_dollars_per_day_refuses_the_third_clip_and_charges_nothing(tmp_path):
    alice = person("alice")
    async with world(tmp_path, members=[payloads.member(alice)]) as w:
        said = await admin_text(w, "cap set", {"amount": number(4.5), "unit": "dollars", "period": "day",
                                               "member": alice})
        assert said.startswith(f"Cap for <@{alice['id']}>: 9,000,000 credits ($4.50) per day, about 2 plain clips.")
        assert (await w.store.member_settings(w.h.guild_id, int(alice["id"]))).cap_tokens == 9_000_000

        for _ in range(2):
            generation_id = clip_id(await dream(w, alice))
            assert "✅" in (await posted(w, generation_id))["content"]
        before = await w.store.ledger_totals(w.h.guild_id)

        refused = await dream(w, alice)
        assert "is on its way" not in refused
        assert "daily cap of 9,000,000 credits ($4.50)" in refused
        assert "spent 9,000,000 credits ($4.50)" in refused
        assert "have 0 credits ($0.00) left" in refused
        assert "this clip costs 4,500,000 credits ($2.25)" in refused
        assert "Nothing was charged" in refused and "token" not in refused
        assert await generation_count(w) == 2
        assert await w.store.ledger_totals(w.h.guild_id) == before

        shown = await admin_text(w, "cap show", {"member": alice})
        assert "alice" in shown and "token" not in shown
        assert "Spent today: 9,000,000 credits ($4.50) of 9,000,000 credits ($4.50) (own cap)" in shown
        assert "left: 0 credits ($0.00)." in shown
        assert "In progress: 0 of 2 at once" in shown


async def test_default_cap_in_credits_show_and_clear_return_a_member_to_it(tmp_path):
    alice, bob = person("alice"), person("bob")
    async with world(tmp_path, sim_config=slow_sim(), members=[payloads.member(alice), payloads.member(bob)]) as w:
        said = await admin_text(w, "cap set", {"amount": number(11_250_000), "unit": "credits", "period": "week"})
        assert said.startswith("Default cap for everyone: 11,250,000 credits ($5.63) per week, about 2 plain clips.")
        assert (await w.store.guild_settings(w.h.guild_id)).cap_tokens == 11_250_000
        await admin_text(w, "cap set", {"amount": number(22.5), "period": "month", "member": alice})

        # Bob follows the default: two clips (one still running), then 2,250,000 credits left, less than a clip.
        first = clip_id(await dream(w, bob))
        await finish(w, first)
        clip_id(await dream(w, bob))
        refused = await dream(w, bob)
        assert "weekly cap of 11,250,000 credits ($5.63)" in refused
        assert "have 2,250,000 credits ($1.13) left" in refused

        shown = await admin_text(w, "cap show", {"member": bob})
        assert ("Spent this week: 9,000,000 credits ($4.50) of 11,250,000 credits ($5.63) (server default); "
                "left: 2,250,000 credits ($1.13), less than 1 plain clip.") in shown
        assert "In progress: 1 of 2 at once" in shown

        # Alice has her own, larger cap: three clips are fine.
        for _ in range(3):
            await finish(w, clip_id(await dream(w, alice)))
        shown = await admin_text(w, "cap show", {"member": alice})
        assert ("Spent this month: 13,500,000 credits ($6.75) of 45,000,000 credits ($22.50) (own cap); "
                "left: 31,500,000 credits ($15.75), about 7 plain clips.") in shown

        said = await admin_text(w, "cap clear", {"member": alice})
        assert said == f"<@{alice['id']}> now follows the server's default cap."
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "of 11,250,000 credits ($5.63) (server default)" in shown
        assert "left: 0 credits ($0.00)." in shown
        assert "weekly cap" in await dream(w, alice)

        # Clearing the default: unlimited again.
        said = await admin_text(w, "cap clear")
        assert "no default cap" in said
        assert "No cap. Spent this week: " in await admin_text(w, "cap show", {"member": alice})  # period kept
        assert "is on its way" in await dream(w, alice)


@pytest.mark.parametrize("amount, unit, why", [
    (-5, "dollars", "zero or more"),
    (2.505, "dollars", "at most two decimal places"),
    (1.5, "credits", "whole numbers"),
    (10**16, "credits", "too large"),
])
async def test_an_invalid_amount_is_refused_politely_and_nothing_changes(tmp_path, amount, unit, why):
    alice = person("alice")
    async with world(tmp_path, members=[payloads.member(alice)]) as w:
        await admin_text(w, "cap set", {"amount": number(3), "period": "week", "member": alice})
        before = await w.store.member_settings(w.h.guild_id, int(alice["id"]))
        guild_before = await w.store.guild_settings(w.h.guild_id)
        audit_before = await audit_count(w)

        for options in ({"amount": number(amount), "unit": unit, "member": alice},
                        {"amount": number(amount), "unit": unit}):
            said = await admin_text(w, "cap set", options)  # admin() checks the answer is ephemeral
            assert why in said and said.endswith("The cap was not changed."), said
            assert "Cap for" not in said and "Default cap" not in said

        assert await w.store.member_settings(w.h.guild_id, int(alice["id"])) == before
        assert await w.store.guild_settings(w.h.guild_id) == guild_before
        assert await audit_count(w) == audit_before  # no change row, and no refusal row either
        assert not w.h.take_errors()


async def test_lowering_a_cap_below_spend_blocks_new_clips_refunds_nothing_and_running_clips_finish(tmp_path):
    alice = person("alice")
    async with world(tmp_path, sim_config=slow_sim(), members=[payloads.member(alice)]) as w:
        await admin_text(w, "cap set", {"amount": number(11.25), "period": "month", "member": alice})
        done = clip_id(await dream(w, alice))
        await finish(w, done)
        running = clip_id(await dream(w, alice))
        entries_before = [(e.kind, e.amount) for e in await w.store.ledger_entries(done)]
        totals_before = await w.store.ledger_totals(w.h.guild_id)

        said = await admin_text(w, "cap set", {"amount": number(2.25), "period": "month", "member": alice})
        assert "4,500,000 credits ($2.25) per month, about 1 plain clip." in said
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(done)] == entries_before
        assert await w.store.ledger_totals(w.h.guild_id) == totals_before  # nothing refunded

        refused = await dream(w, alice)
        assert "monthly cap of 4,500,000 credits ($2.25)" in refused
        assert "spent 9,000,000 credits ($4.50)" in refused and "0 credits ($0.00) left" in refused
        assert await generation_count(w) == 2

        # The clip that was running when the cap went down still finishes, is posted and charged.
        result = await finish(w, running)
        assert "✅" in result["content"]
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(running)] == [("reserve", COST), ("charge", COST)]
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "9,000,000 credits ($4.50) of 4,500,000 credits ($2.25)" in shown and "left: 0 credits ($0.00)." in shown

        # A zero cap stops everything, too.
        said = await admin_text(w, "cap set", {"amount": number(0), "member": alice, "period": "lifetime"})
        assert said.startswith(f"Cap for <@{alice['id']}>: 0 credits ($0.00) in total.")
        refused = await dream(w, alice)
        assert "lifetime cap of 0 credits ($0.00)" in refused and "does not reset" in refused


async def test_cap_show_warns_moderators_while_prices_are_stale(tmp_path):
    alice = person("alice")
    async with world(tmp_path, members=[payloads.member(alice)]) as w:
        await use_prices(w, "fresh")
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "⚠️" not in shown and "could not be refreshed" not in shown

        service = await use_prices(w, "cached")
        shown = await admin_text(w, "cap show", {"member": alice})
        checked = int(service.status().checked_at)
        assert shown.splitlines()[-1] == (
            f"⚠️ Prices could not be refreshed from the video service since <t:{checked}:f> (<t:{checked}:R>); "
            "the bot is using cached prices. Reserves may differ from what the provider bills until they are "
            "refreshed.")
        assert shown.splitlines()[0] == "**alice**"


# Per guild -------------------------------------------------------------------------------

async def test_settings_are_per_guild(tmp_path):
    alice = person("alice")
    guild_a, guild_b = payloads.ids.next(), payloads.ids.next()
    async with world(tmp_path, members=[payloads.member(alice)], guild_ids=[guild_a, guild_b]) as w:
        channel_b = w.h.channel_ids(guild_b)[0]
        await admin_text(w, "cap set", {"amount": number(0), "member": alice}, guild_id=guild_a)
        await admin_text(w, "block", {"member": alice}, guild_id=guild_a)
        await admin_text(w, "channels allow", {"channel": w.fake.channels[w.h.channel_id]}, guild_id=guild_a)

        assert "can't make clips in this server" in await dream(w, alice, guild_id=guild_a)
        accepted = await dream(w, alice, guild_id=guild_b)
        generation = await w.store.get(clip_id(accepted))
        assert generation.guild_id == guild_b and generation.channel_id == channel_b
        await posted(w, generation.id, channel_b)

        assert "No cap" in await admin_text(w, "cap show", {"member": alice}, guild_id=guild_b)
        assert await admin_text(w, "audit", guild_id=guild_b) == "No moderator changes yet."
        assert len(await w.store.audit_log(guild_a)) == 3
        report_a = await admin(w, "report", guild_id=guild_a)
        assert "Nobody has spent anything." in report_a.json["embeds"][0]["fields"][0]["value"]
        report_b = await admin(w, "report", guild_id=guild_b)
        assert "4,500,000 credits ($2.25)" in report_b.json["embeds"][0]["fields"][0]["value"]
