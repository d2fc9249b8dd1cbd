"""/dreamadmin through the real bot and the fake Discord: caps, per-guild settings, and what members then see
(who may run what: test_admin_access.py)."""

from __future__ import annotations

from tests.admin_helpers import (
    COST,
    admin,
    admin_text,
    clip_id,
    dream,
    finish,
    generation_count,
    person,
    posted,
    slow_sim,
)
from tests.harness import payloads
from tests.world import world


# Caps --------------------------------------------------------------------------------

async def test_member_cap_in_clips_per_day_refuses_the_third_clip_and_charges_nothing(tmp_path):
    alice = person("alice")
    async with world(tmp_path, members=[payloads.member(alice)]) as w:
        said = await admin_text(w, "cap set", {"amount": 2, "unit": "clips", "period": "day", "member": alice})
        assert f"<@{alice['id']}>" in said and "1,000,000 tokens (2 clips) per day" in said

        for _ in range(2):
            generation_id = clip_id(await dream(w, alice))
            assert "✅" in (await posted(w, generation_id))["content"]
        before = await w.store.ledger_totals(w.h.guild_id)

        refused = await dream(w, alice)
        assert "is on its way" not in refused
        assert "daily cap of 1,000,000 tokens (2 clips)" in refused
        assert "spent 1,000,000 tokens (2 clips)" in refused
        assert "have 0 tokens (0 clips) left" in refused
        assert "Nothing was charged" in refused
        assert await generation_count(w) == 2
        assert await w.store.ledger_totals(w.h.guild_id) == before

        shown = await admin_text(w, "cap show", {"member": alice})
        assert "alice" in shown
        assert "Spent today: 1,000,000 tokens (2 clips) of 1,000,000 tokens (2 clips) (own cap)" in shown
        assert "left: 0 tokens (0 clips)" in shown
        assert "In progress: 0 of 2 at once" in shown


async def test_default_cap_in_tokens_show_and_clear_return_a_member_to_it(tmp_path):
    alice, bob = person("alice"), person("bob")
    async with world(tmp_path, sim_config=slow_sim(), members=[payloads.member(alice), payloads.member(bob)]) as w:
        said = await admin_text(w, "cap set", {"amount": 1_250_000, "unit": "tokens", "period": "week"})
        assert said.startswith("Default cap for everyone: 1,250,000 tokens (2.5 clips) per week")
        await admin_text(w, "cap set", {"amount": 10, "unit": "clips", "period": "month", "member": alice})

        # Bob follows the default: two clips (one still running), then 250,000 tokens left, less than a clip.
        first = clip_id(await dream(w, bob))
        await finish(w, first)
        clip_id(await dream(w, bob))
        refused = await dream(w, bob)
        assert "weekly cap of 1,250,000 tokens (2.5 clips)" in refused
        assert "have 250,000 tokens (0.5 clips) left" in refused

        shown = await admin_text(w, "cap show", {"member": bob})
        assert "Spent this week: 1,000,000 tokens (2 clips) of 1,250,000 tokens (2.5 clips) (server default)" in shown
        assert "left: 250,000 tokens (0.5 clips)" in shown
        assert "In progress: 1 of 2 at once" in shown

        # Alice has her own, larger cap: three clips are fine.
        for _ in range(3):
            await finish(w, clip_id(await dream(w, alice)))
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "Spent this month: 1,500,000 tokens (3 clips) of 5,000,000 tokens (10 clips) (own cap)" in shown
        assert "left: 3,500,000 tokens (7 clips)" in shown

        said = await admin_text(w, "cap clear", {"member": alice})
        assert said == f"<@{alice['id']}> now follows the server's default cap."
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "of 1,250,000 tokens (2.5 clips) (server default)" in shown
        assert "left: 0 tokens (0 clips)" in shown
        assert "weekly cap" in await dream(w, alice)

        # Clearing the default: unlimited again.
        said = await admin_text(w, "cap clear")
        assert "no default cap" in said
        assert "No cap. Spent this week: " in await admin_text(w, "cap show", {"member": alice})  # period kept
        assert "is on its way" in await dream(w, alice)


async def test_lowering_a_cap_below_spend_blocks_new_clips_refunds_nothing_and_running_clips_finish(tmp_path):
    alice = person("alice")
    async with world(tmp_path, sim_config=slow_sim(), members=[payloads.member(alice)]) as w:
        await admin_text(w, "cap set", {"amount": 5, "period": "month", "member": alice})
        done = clip_id(await dream(w, alice))
        await finish(w, done)
        running = clip_id(await dream(w, alice))
        entries_before = [(e.kind, e.amount) for e in await w.store.ledger_entries(done)]
        totals_before = await w.store.ledger_totals(w.h.guild_id)

        said = await admin_text(w, "cap set", {"amount": 1, "period": "month", "member": alice})
        assert "500,000 tokens (1 clip) per month" in said
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(done)] == entries_before
        assert await w.store.ledger_totals(w.h.guild_id) == totals_before  # nothing refunded

        refused = await dream(w, alice)
        assert "monthly cap of 500,000 tokens (1 clip)" in refused
        assert "spent 1,000,000 tokens (2 clips)" in refused and "0 tokens (0 clips) left" in refused
        assert await generation_count(w) == 2

        # The clip that was running when the cap went down still finishes, is posted and charged.
        result = await finish(w, running)
        assert "✅" in result["content"]
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(running)] == [("reserve", COST), ("charge", COST)]
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "1,000,000 tokens (2 clips) of 500,000 tokens (1 clip)" in shown and "left: 0 tokens (0 clips)" in shown

        # A zero cap stops everything, too.
        said = await admin_text(w, "cap set", {"amount": 0, "member": alice, "period": "lifetime"})
        assert said.startswith(f"Cap for <@{alice['id']}>: 0 tokens (0 clips) in total.")
        refused = await dream(w, alice)
        assert "lifetime cap of 0 tokens (0 clips)" in refused and "does not reset" in refused


# Per guild -------------------------------------------------------------------------------

async def test_settings_are_per_guild(tmp_path):
    alice = person("alice")
    guild_a, guild_b = payloads.ids.next(), payloads.ids.next()
    async with world(tmp_path, members=[payloads.member(alice)], guild_ids=[guild_a, guild_b]) as w:
        channel_b = w.h.channel_ids(guild_b)[0]
        await admin_text(w, "cap set", {"amount": 0, "member": alice}, guild_id=guild_a)
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
        assert "500,000 tokens (1 clip)" in report_b.json["embeds"][0]["fields"][0]["value"]
