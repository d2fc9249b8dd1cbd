"""/dreamadmin limits, block/unblock and channels, as the members who hit them see it."""

from __future__ import annotations

from tests.admin_helpers import (
    COST,
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


async def test_running_limits_per_member_and_per_server(tmp_path):
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    members = [payloads.member(u) for u in (alice, bob, carol)]
    async with world(tmp_path, sim_config=slow_sim(), members=members) as w:
        said = await admin_text(w, "limits", {"per_member": 1, "per_server": 2})
        assert said == "Clips running at once: 1 per member, 2 for the server. Cooldown between requests: 0 s."

        first = clip_id(await dream(w, alice))
        refused = await dream(w, alice)
        assert refused == ("You already have 1 clip in progress (the limit is 1). "
                           "Please wait for one to finish. Nothing was charged.")
        clip_id(await dream(w, bob))
        refused = await dream(w, carol)
        assert refused == ("This server already has 2 clips in progress (the limit is 2). "
                           "Please try again in a little while. Nothing was charged.")
        assert await generation_count(w) == 2

        # One finishes: room again, for the member and the server.
        await finish(w, first)
        assert "is on its way" in await dream(w, carol)

        # 0 = no server limit; the per-member limit stays as it was.
        said = await admin_text(w, "limits", {"per_server": 0})
        assert said.startswith("Clips running at once: 1 per member, no limit for the server.")
        assert "is on its way" in await dream(w, alice)
        shown = await admin_text(w, "cap show", {"member": alice})
        assert "In progress: 1 of 1 at once." in shown


async def test_cooldown_refusal_shows_the_wait(tmp_path):
    alice, bob = person("alice"), person("bob")
    async with world(tmp_path, members=[payloads.member(alice), payloads.member(bob)]) as w:
        said = await admin_text(w, "limits", {"cooldown_seconds": 600})
        assert said.endswith("Cooldown between requests: 600 s.")
        first = clip_id(await dream(w, alice))
        await posted(w, first)
        refused = await dream(w, alice)
        assert refused == "Please wait a moment between requests: you can ask again in 10 min. Nothing was charged."
        # The cooldown is per member.
        assert "is on its way" in await dream(w, bob)
        assert await generation_count(w) == 2

        await admin_text(w, "limits", {"cooldown_seconds": 0})
        assert "is on its way" in await dream(w, alice)


async def test_block_refuses_politely_running_clip_still_posts_unblock_allows_again(tmp_path):
    alice = person("alice")
    async with world(tmp_path, sim_config=slow_sim(), members=[payloads.member(alice)]) as w:
        running = clip_id(await dream(w, alice, "a lantern floating up"))

        said = await admin_text(w, "block", {"member": alice})
        assert said == f"<@{alice['id']}> is blocked from making clips. Their running clips will finish."
        assert (await w.store.member_settings(w.h.guild_id, int(alice["id"]))).blocked

        refused = await dream(w, alice)
        assert refused == ("You can't make clips in this server right now. "
                           "Please ask a moderator if you think this is a mistake.")
        assert await generation_count(w) == 1
        assert "Blocked from making clips." in await admin_text(w, "cap show", {"member": alice})

        # The clip she started before the block finishes, is posted and charged.
        result = await finish(w, running)
        assert "✅" in result["content"] and f"<@{alice['id']}>" in result["content"]
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(running)] == [("reserve", COST), ("charge", COST)]

        said = await admin_text(w, "unblock", {"member": alice})
        assert said == f"<@{alice['id']}> may make clips again."
        assert "is on its way" in await dream(w, alice)
        assert [e.action for e in await w.store.audit_log(w.h.guild_id)] == ["unblock", "block"]


async def test_channels_allow_remove_and_everywhere(tmp_path):
    alice = person("alice")
    guild = payloads.ids.next()
    studio, lobby = payloads.ids.next(), payloads.ids.next()
    async with world(tmp_path, members=[payloads.member(alice)], guild_ids=[guild], channels=[lobby, studio]) as w:
        said = await admin_text(w, "channels allow", {"channel": w.fake.channels[studio]})
        assert said == f"Clips may be made only in: <#{studio}>"

        refused = await dream(w, alice, channel_id=lobby)
        assert refused == f"Clips can't be made in this channel; please use <#{studio}>."
        assert await generation_count(w) == 0
        accepted = clip_id(await dream(w, alice, channel_id=studio))
        await posted(w, accepted, studio)
        assert (await w.store.get(accepted)).channel_id == studio

        said = await admin_text(w, "channels allow", {"channel": w.fake.channels[lobby]})
        assert said == f"Clips may be made only in: {', '.join(f'<#{c}>' for c in sorted([lobby, studio]))}"
        said = await admin_text(w, "channels remove", {"channel": w.fake.channels[lobby]})
        assert said == f"Clips may be made only in: <#{studio}>"
        assert "is on its way" not in await dream(w, alice, channel_id=lobby)

        said = await admin_text(w, "channels everywhere")
        assert said == "Clips may be made in every channel."
        lobby_clip = clip_id(await dream(w, alice, channel_id=lobby))
        await posted(w, lobby_clip, lobby)
        actions = [e.action for e in await w.store.audit_log(guild)]
        assert actions == ["set_allowed_channels", "disallow_channel", "allow_channel", "allow_channel"]
