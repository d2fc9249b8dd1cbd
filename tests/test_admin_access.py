"""Who may run which /dreamadmin command, through the real bot and the fake Discord.

The README's table of moderator powers is the contract: the first test runs every row
of it as a server admin, as a member of the moderator role and as a plain member, and
checks the answer each one sees and the audit row each refusal leaves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from bot import texts
from bot.services import moderation
from tests.admin_helpers import (
    MANAGE_GUILD,
    MOD,
    PLAIN,
    add_role,
    admin,
    admin_role,
    audit_count,
    admin_text,
    dream,
    is_ephemeral,
    number,
    person,
    refusal_row,
    take_check_failures,
    text_of,
)
from tests.harness import payloads
from tests.world import World, world

README = Path(__file__).resolve().parent.parent / "README.md"
TABLE_MARKER = "<!-- moderator-powers -->"
COLUMNS = ("Manage Server", "moderator role", "plain member")


def readme_powers() -> dict[str, tuple[bool, bool, bool]]:
    """The README's table: row label -> (Manage Server, moderator role, plain member) may use it."""
    text = README.read_text(encoding="utf-8")
    assert TABLE_MARKER in text, "README lost its table of moderator powers"
    lines = text.split(TABLE_MARKER, 1)[1].strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert tuple(header[1:]) == COLUMNS, header
    rows: dict[str, tuple[bool, bool, bool]] = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        label, *cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert all(c in ("yes", "no") for c in cells), line
        rows[label] = tuple(c == "yes" for c in cells)  # type: ignore[assignment]
    return rows


@dataclass
class Cast:
    """Who is in the server: an admin (Manage Server), two role moderators, a plain member."""

    admin: dict[str, Any]
    carol: dict[str, Any]  # holds the moderator role
    erin: dict[str, Any]  # holds it too
    frank: dict[str, Any]  # has Manage Server
    alice: dict[str, Any]  # plain member
    role: dict[str, Any]


Call = tuple[str, dict[str, Any]]


def as_option(cast: Cast, who: dict[str, Any]) -> payloads.MemberOption | dict[str, Any]:
    """A member option resolved as Discord does it: with their roles and permissions."""
    if who is cast.frank or who is cast.admin:
        return payloads.MemberOption(who, permissions=MOD)
    if who in (cast.carol, cast.erin):
        return payloads.MemberOption(who, roles=(int(cast.role["id"]),), permissions=PLAIN)
    return who


def member_changes(cast: Cast, target: dict[str, Any]) -> list[Call]:
    member = as_option(cast, target)
    return [("cap set", {"amount": number(3), "member": member}), ("cap clear", {"member": member}),
            ("block", {"member": member}), ("unblock", {"member": member})]


def scenarios(w: World, cast: Cast, caller: dict[str, Any]) -> dict[str, list[Call]]:
    """Each README row as the calls that exercise it, for `caller`."""
    channel = w.fake.channels[w.h.channel_id]
    others = [cast.erin, cast.frank] if caller is not cast.frank else [cast.erin, cast.carol]
    return {
        "`cap show`, `history`, `report`, `audit`, `undelivered`": [
            ("cap show", {"member": cast.alice}), ("history", {"member": cast.alice}), ("report", {}), ("audit", {}),
            ("undelivered", {})],
        "`channels allow`, `channels remove`, `channels everywhere`": [
            ("channels allow", {"channel": channel}), ("channels remove", {"channel": channel}),
            ("channels everywhere", {})],
        "`cap set`, `cap clear`, `block`, `unblock` on a member without moderator powers":
            member_changes(cast, cast.alice),
        "the same on yourself": member_changes(cast, caller),
        "the same on another moderator (Manage Server or the role)":
            [call for other in others for call in member_changes(cast, other)],
        "`cap set`, `cap clear` without a member (the server's default cap)": [
            ("cap set", {"amount": number(5)}), ("cap clear", {})],
        "`limits` (clips running at once, cooldown)": [("limits", {"per_member": 3})],
        "`role` (name or clear the moderator role)": [("role", {"role": cast.role})],
    }


async def run_as(w: World, cast: Cast, caller: dict[str, Any], column: int) -> list[str]:
    """Run every README row as `caller`; return what disagreed with the README."""
    perms, roles = {
        0: (MOD, ()), 1: (PLAIN, (int(cast.role["id"]),)), 2: (PLAIN, ()),
    }[column]
    wrong: list[str] = []
    powers = readme_powers()
    calls = scenarios(w, cast, caller)
    assert set(calls) == set(powers), f"README rows and tested rows differ: {set(calls) ^ set(powers)}"
    for label, allowed in powers.items():
        for sub, options in calls[label]:
            target_id = int(_user_of(options["member"])["id"]) if "member" in options else None
            before = await audit_count(w)
            said = await admin(w, sub, options, user=caller, perms=perms, roles=roles)
            refused = text_of(said) in refusal_texts(sub, target_id)
            if refused:
                assert said.json["type"] == 4 and is_ephemeral(said) and not said.files
                entry = await refusal_row(w, before)
                assert (entry.actor_id, entry.details["command"], entry.target_user_id) == (
                    int(caller["id"]), sub, target_id), entry
                assert text_of(said) == texts.moderation_refusal(entry.details["reason"], sub,
                                                                 target_user_id=target_id)
            else:
                assert take_check_failures(w) == 0
            if refused == allowed[column]:
                wrong.append(f"{COLUMNS[column]} /dreamadmin {sub} {sorted(options)} ({label}): "
                             f"{'refused' if refused else 'allowed'}: {text_of(said)!r}")
    return wrong


def refusal_texts(sub: str, target_id: int | None) -> set[str]:
    return {texts.moderation_refusal(reason, sub, target_user_id=target_id) for reason in moderation.Reason}


def _user_of(option: Any) -> dict[str, Any]:
    return option.user if isinstance(option, payloads.MemberOption) else option


async def cast_of(w: World, people: dict[str, dict[str, Any]]) -> Cast:
    role = await add_role(w, "dream helpers")
    await admin_role(w, role)  # the harness's own user has Manage Server
    return Cast(admin=w.h.user, role=role, **people)


def people() -> dict[str, dict[str, Any]]:
    return {name: person(name) for name in ("carol", "erin", "frank", "alice")}


async def test_each_readme_row_holds_for_admins_role_moderators_and_plain_members(tmp_path, caplog):
    cast_people = people()
    async with world(tmp_path, members=[payloads.member(u) for u in cast_people.values()]) as w:
        cast = await cast_of(w, cast_people)
        wrong = []
        wrong += await run_as(w, cast, cast.alice, column=2)
        wrong += await run_as(w, cast, cast.carol, column=1)
        wrong += await run_as(w, cast, cast.admin, column=0)  # last: it clears nothing the others need
        assert not wrong, "\n".join(wrong)
        # Refusals are answers, not errors: nothing at ERROR in the bot's log.
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_role_moderator_cannot_raise_their_own_cap_or_unblock_themselves(tmp_path):
    cast_people = people()
    async with world(tmp_path, members=[payloads.member(u) for u in cast_people.values()]) as w:
        cast = await cast_of(w, cast_people)
        carol, role_ids = cast.carol, (int(cast.role["id"]),)

        async def carol_is_refused(sub: str, options: dict[str, Any]) -> str:
            before = await audit_count(w)
            said = await admin_text(w, sub, options, user=carol, perms=PLAIN, roles=role_ids)
            await refusal_row(w, before)
            return said

        herself = as_option(cast, carol)
        await admin_text(w, "cap set", {"amount": number(0), "member": herself})  # an admin caps her at nothing

        said = await carol_is_refused("cap set", {"amount": number(100), "member": herself})
        assert said == ("The moderator role can't change your own cap or block. "
                        "Ask someone with Manage Server; the attempt is in the audit log.")
        said = await carol_is_refused("cap clear", {"member": herself})
        assert "can't change your own cap" in said
        assert "monthly cap of 0 credits ($0.00)" in await dream(w, carol)  # still capped: what she would see

        # Nor through the server default, which would raise hers with everyone's.
        said = await carol_is_refused("cap set", {"amount": number(100)})
        assert said.startswith("Only members with Manage Server can change the server's default cap")
        assert (await w.store.guild_settings(w.h.guild_id)).cap_tokens is None

        await admin_text(w, "block", {"member": herself})
        said = await carol_is_refused("unblock", {"member": herself})
        assert "can't change your own cap or block" in said
        assert "can't make clips in this server" in await dream(w, carol)
        assert (await w.store.member_settings(w.h.guild_id, int(carol["id"]))).blocked

        # Nor by way of a fellow moderator (two of them could raise each other's caps).
        said = await carol_is_refused("cap set", {"amount": number(100), "member": as_option(cast, cast.erin)})
        assert said == (f"<@{cast.erin['id']}> is a moderator too. Only members with Manage Server can change a "
                        "moderator's cap or block.")

        # The log keeps every attempt with who tried and on whom, newest first.
        refusals = await w.store.audit_log(w.h.guild_id, refusals=True)
        assert [(e.actor_id, e.details["command"], e.target_user_id, e.details["reason"]) for e in refusals] == [
            (int(carol["id"]), "cap set", int(cast.erin["id"]), "moderator_target"),
            (int(carol["id"]), "unblock", int(carol["id"]), "own_account"),
            (int(carol["id"]), "cap set", None, "needs_manage_server"),
            (int(carol["id"]), "cap clear", int(carol["id"]), "own_account"),
            (int(carol["id"]), "cap set", int(carol["id"]), "own_account"),
        ]
        shown = await admin_text(w, "audit", {"show": "refusals"})
        lines = shown.splitlines()
        assert len(lines) == 5
        assert lines[1].endswith(f"<@{carol['id']}> was refused `/dreamadmin unblock` for <@{carol['id']}>: "
                                 "their own account")
        assert lines[2].endswith("was refused `/dreamadmin cap set`: needs Manage Server")
        changes = await admin_text(w, "audit", {"show": "changes"})
        assert "was refused" not in changes and f"blocked <@{carol['id']}>" in changes

        # Someone with Manage Server may lift their own limits (and a member with it is not "a moderator
        # acting on their own account").
        me = payloads.MemberOption(w.h.user, permissions=MOD)
        await admin_text(w, "block", {"member": me})
        assert "may make clips again" in await admin_text(w, "unblock", {"member": me})


async def test_moderator_role_must_be_one_admins_hand_out(tmp_path):
    async with world(tmp_path) as w:
        assert await admin_text(w, "audit", {"show": "refusals"}) == "No refused attempts yet."
        everyone = payloads.role(w.h.guild_id, "@everyone", permissions=PLAIN)
        bot_role = payloads.role(w.h.bot_role_ids[w.h.guild_id], "dreambot", position=1, managed=True)
        booster = {**payloads.role(payloads.ids.next(), "Server Booster", position=3, managed=True),
                   "tags": {"premium_subscriber": None}}
        for role, reason in [(everyone, "everyone_role"), (bot_role, "managed_role"), (booster, "managed_role")]:
            before = await audit_count(w)
            said = await admin(w, "role", {"role": role})
            newest = await refusal_row(w, before, check_failure=False)  # refused in the command body
            # Past the access check the command is deferred before it writes: the refusal is the followup.
            assert said.route == "followup" and is_ephemeral(said)
            assert text_of(said) == texts.moderation_refusal(reason, "role", role_id=int(role["id"]))
            assert "@everyone" not in text_of(said).replace("`@everyone`", "")  # never a bare ping, even ephemeral
            assert said.json.get("allowed_mentions", {}).get("parse", []) == []
            assert (await w.store.guild_settings(w.h.guild_id)).moderator_role_id is None
            assert (newest.action, newest.details["reason"], newest.details.get("role_id")) == (
                "refused", reason, int(role["id"]))
        assert take_check_failures(w) == 0

        # A role above the bot's own is fine: the bot never hands it out, it only reads who has it.
        high = await add_role(w, "senior mods")
        high_position = int(high["position"])
        assert high_position > int(bot_role["position"])
        said = await admin(w, "role", {"role": high})
        assert text_of(said) == f"Moderator role: <@&{high['id']}>."
        assert (await w.store.guild_settings(w.h.guild_id)).moderator_role_id == int(high["id"])


async def test_manage_server_comes_from_the_interaction_not_the_cached_roles(tmp_path):
    carol = person("carol")
    async with world(tmp_path, members=[payloads.member(carol)]) as w:
        managers = await add_role(w, "managers", permissions=MANAGE_GUILD)
        # Discord resolves her permissions on the interaction: holding the role, they include Manage Server.
        said = await admin_text(w, "limits", {"per_member": 3}, user=carol, perms=MOD, roles=[int(managers["id"])])
        assert "3 per member" in said
        # Administrator counts as Manage Server.
        admin_perms = PLAIN | discord.Permissions(administrator=True)
        assert "4 per member" in await admin_text(w, "limits", {"per_member": 4}, user=carol, perms=admin_perms)
        # If the interaction says she lacks it (the role was just taken away), the stale cache does not count.
        before = await audit_count(w)
        said = await admin(w, "limits", {"per_member": 1}, user=carol, perms=PLAIN, roles=[int(managers["id"])])
        assert text_of(said) == "Only moderators (Manage Server, or the dreambot moderator role) can use this."
        assert (await refusal_row(w, before)).details["reason"] == "not_moderator"
        assert (await w.store.guild_settings(w.h.guild_id)).member_running_limit == 4


async def test_clearing_the_role_ends_its_powers_and_only_manage_server_may_clear_it(tmp_path):
    carol = person("carol")
    async with world(tmp_path, members=[payloads.member(carol)]) as w:
        helpers = await add_role(w, "dream helpers")
        await admin(w, "role", {"role": helpers})
        as_carol: dict[str, Any] = {"user": carol, "perms": PLAIN, "roles": [int(helpers["id"])]}
        assert "No moderator changes" not in await admin_text(w, "audit", **as_carol)

        before = await audit_count(w)
        said = await admin_text(w, "role", {}, **as_carol)  # clearing it is Manage Server's, too
        await refusal_row(w, before)
        assert said == ("Only members with Manage Server can choose the moderator role: it applies to moderators "
                        "too. The moderator role covers other members' caps and blocks, the channels, and the "
                        "reports.")
        assert (await w.store.guild_settings(w.h.guild_id)).moderator_role_id == int(helpers["id"])

        assert await admin_text(w, "role", {}) == "No moderator role: Manage Server only."
        before = await audit_count(w)
        said = await admin_text(w, "audit", **as_carol)
        assert said == "Only moderators (Manage Server, or the dreambot moderator role) can use this."
        entry = await refusal_row(w, before)
        assert (entry.actor_id, entry.details["reason"]) == (int(carol["id"]), "not_moderator")


async def test_the_group_is_visible_to_members_and_guild_only(tmp_path):
    """No default permission: the moderator role reaches it without Server Settings → Integrations."""
    async with world(tmp_path, command_sync="global") as w:
        synced = [r for r in w.fake.requests_to("PUT", r"/applications/\d+/commands") if r.ok]
        assert synced, "the bot did not sync its commands"
        sent = next(c for c in synced[-1].json if c["name"] == "dreamadmin")
        assert sent.get("default_member_permissions") is None
        assert sent.get("contexts") == [0] and sent.get("dm_permission") is False
        assert all("default_member_permissions" not in o for o in sent["options"])
        # In a DM Discord would not offer it; if a client sends one anyway, the bot says so.
        iid = await w.h.slash("dreamadmin", {}, subcommand="audit", dm=True)
        said = await w.fake.wait_callback(iid)
        assert "work in a server" in text_of(said) and is_ephemeral(said)
        take_check_failures(w)

