"""Raw gateway payload builders, shaped exactly as Discord sends them.

The bot under test receives these dicts through ``bot._connection.parsers[...]``, the
same call the websocket makes after decoding a frame, so discord.py builds its
``Interaction``/``Message``/``Guild`` objects from them for real. Field choices follow
the pitfalls in ``/work/shared/testing-discord-offline.md`` (pitfall 3 in particular):
an interaction needs ``version``, ``attachment_size_limit`` and a ``channel`` object,
members need ``flags``, and permissions travel as *string* bitfields.

All ids come from one increasing snowflake source (:data:`ids`), shared with
``FakeDiscord``, so "newer" objects always have larger ids, as on Discord.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_MEMBER_PERMISSIONS",
    "Option",
    "SnowflakeFactory",
    "attachment",
    "autocomplete",
    "button_click",
    "channel_delete",
    "dm_channel",
    "guild_create",
    "ids",
    "interaction",
    "iso_timestamp",
    "member",
    "message",
    "message_context_menu",
    "message_create",
    "message_delete",
    "modal_submit",
    "ready",
    "role",
    "select_menu",
    "slash_command",
    "text_channel",
    "user",
    "user_context_menu",
]

DISCORD_EPOCH_MS = 1420070400000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# What an ordinary member may do in a text channel (also given to @everyone).
DEFAULT_MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_external_emojis=True,
    use_application_commands=True,
    create_public_threads=True,
)
# What the bot's managed role grants: enough to post, edit its own messages and reply.
DEFAULT_BOT_PERMISSIONS = DEFAULT_MEMBER_PERMISSIONS | discord.Permissions(manage_messages=True)

PermissionsLike = int | str | discord.Permissions


class SnowflakeFactory:
    """Hands out strictly increasing, realistic snowflakes (timestamp in the top bits).

    Realistic ids matter: discord.py derives ``created_at`` from them, and a bot may
    order or expire things by them.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


ids = SnowflakeFactory()


@dataclass(frozen=True)
class Option:
    """An explicit option ``(type, value)`` when the type cannot be inferred from the value.

    Types: 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 9 mentionable,
    10 number, 11 attachment.
    """

    type: int
    value: Any


@dataclass(frozen=True)
class MemberOption:
    """A member given as a user option, with the roles and channel permissions Discord resolves for them
    (a plain user dict resolves to a member with no roles and the default permissions)."""

    user: Mapping[str, Any]
    roles: tuple[int, ...] = ()
    permissions: PermissionsLike = DEFAULT_MEMBER_PERMISSIONS


def _perm_str(value: PermissionsLike) -> str:
    if isinstance(value, discord.Permissions):
        return str(value.value)
    return str(int(value))


def iso_timestamp(snowflake: int) -> str:
    """The ISO-8601 time encoded in a snowflake, as Discord formats ``timestamp``."""
    return discord.utils.snowflake_time(snowflake).isoformat()


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


# ---------------------------------------------------------------------------- entities


def user(
    user_id: int | None = None,
    username: str = "tester",
    *,
    bot: bool = False,
    global_name: str | None = None,
) -> dict[str, Any]:
    """A user object (``GET /users/@me`` and every ``author``/``user`` field)."""
    payload: dict[str, Any] = {
        "id": str(user_id or ids.next()),
        "username": username,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
    }
    if bot:
        payload["bot"] = True
    return payload


def role(
    role_id: int,
    name: str,
    *,
    permissions: PermissionsLike = 0,
    position: int = 0,
    managed: bool = False,
) -> dict[str, Any]:
    """A guild role. The @everyone role has the guild's id and position 0."""
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": _perm_str(permissions),
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }


def member(
    member_user: Mapping[str, Any] | int,
    roles: Iterable[int] = (),
    *,
    permissions: PermissionsLike | None = None,
    nick: str | None = None,
) -> dict[str, Any]:
    """A guild member. ``permissions`` is only present on interaction members (string)."""
    user_obj = dict(member_user) if isinstance(member_user, Mapping) else user(member_user)
    payload: dict[str, Any] = {
        "user": user_obj,
        "roles": [str(r) for r in roles],
        "flags": 0,
        "joined_at": _now_iso(),
        "deaf": False,
        "mute": False,
        "pending": False,
        "nick": nick,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        payload["permissions"] = _perm_str(permissions)
    return payload


def text_channel(
    channel_id: int | None = None,
    name: str = "general",
    *,
    guild_id: int,
    position: int = 0,
    parent_id: int | None = None,
    topic: str | None = None,
    permission_overwrites: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A guild text channel (type 0), as in GUILD_CREATE and ``GET /channels/{id}``."""
    return {
        "id": str(channel_id or ids.next()),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "parent_id": str(parent_id) if parent_id else None,
        "topic": topic,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
        "permission_overwrites": [dict(o) for o in permission_overwrites],
    }


def dm_channel(recipient: Mapping[str, Any], channel_id: int | None = None) -> dict[str, Any]:
    """A DM channel (type 1) with one recipient."""
    return {
        "id": str(channel_id or ids.next()),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [dict(recipient)],
    }


def attachment(
    filename: str = "image.png",
    *,
    content_type: str | None = "image/png",
    size: int = 1024,
    url: str | None = None,
    attachment_id: int | None = None,
    width: int | None = None,
    height: int | None = None,
) -> dict[str, Any]:
    """An attachment as found in ``resolved.attachments`` of a slash command.

    Pass ``url`` from ``FakeDiscord.add_blob`` (``DiscordHarness.attachment`` does) if
    the bot downloads it; otherwise the default CDN URL leads nowhere offline.
    """
    attachment_id = attachment_id or ids.next()
    url = url or f"https://cdn.discordapp.com/ephemeral-attachments/0/{attachment_id}/{filename}"
    payload: dict[str, Any] = {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "ephemeral": True,
    }
    if content_type is not None:
        payload["content_type"] = content_type
    if width is not None and height is not None:
        payload.update(width=width, height=height)
    return payload


def message(
    content: str,
    *,
    author: Mapping[str, Any],
    channel_id: int,
    guild_id: int | None = None,
    message_id: int | None = None,
    components: Sequence[Mapping[str, Any]] = (),
    attachments: Sequence[Mapping[str, Any]] = (),
    embeds: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A message object (REST shape: no ``member``)."""
    message_id = message_id or ids.next()
    payload: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": 0,
        "content": content,
        "author": dict(author),
        "attachments": [dict(a) for a in attachments],
        "embeds": [dict(e) for e in embeds],
        "components": [dict(c) for c in components],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": iso_timestamp(message_id),
        "edited_timestamp": None,
        "flags": 0,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    return payload


# ---------------------------------------------------------------------------- gateway events


def ready(
    bot_user: Mapping[str, Any],
    application_id: int,
    guild_ids: Iterable[int],
    *,
    session_id: str | None = None,
) -> dict[str, Any]:
    """READY: guilds arrive unavailable, each followed by its GUILD_CREATE."""
    return {
        "v": 10,
        "user": dict(bot_user),
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "session_id": session_id or secrets.token_hex(16),
        "resume_gateway_url": "wss://gateway.invalid",
        "application": {"id": str(application_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "user_settings": {},
        "geo_ordered_rtc_regions": [],
        "guild_join_requests": [],
        "presences": [],
    }


def guild_create(
    guild_id: int,
    *,
    channels: Sequence[Mapping[str, Any]] = (),
    members: Sequence[Mapping[str, Any]] = (),
    roles: Sequence[Mapping[str, Any]] = (),
    owner_id: int | None = None,
    name: str = "Test Guild",
    everyone_permissions: PermissionsLike = DEFAULT_MEMBER_PERMISSIONS,
) -> dict[str, Any]:
    """GUILD_CREATE with an @everyone role (id == guild id) and ``member_count``.

    ``member_count`` equals the number of members given, so discord.py considers the
    guild fully chunked and never asks the (absent) gateway for members.
    """
    everyone = role(guild_id, "@everyone", permissions=everyone_permissions)
    all_roles = [everyone, *[dict(r) for r in roles if int(r["id"]) != guild_id]]
    return {
        "id": str(guild_id),
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(owner_id or ids.next()),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": all_roles,
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "joined_at": _now_iso(),
        "large": False,
        "unavailable": False,
        "member_count": len(members),
        "members": [dict(m) for m in members],
        "channels": [{k: v for k, v in c.items() if k != "guild_id"} for c in channels],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def message_create(
    content: str,
    *,
    author: Mapping[str, Any],
    channel_id: int,
    guild_id: int | None = None,
    member_roles: Iterable[int] = (),
    message_reference: Mapping[str, Any] | None = None,
    referenced_message: Mapping[str, Any] | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
    message_id: int | None = None,
) -> dict[str, Any]:
    """MESSAGE_CREATE from a user; a reply when ``message_reference`` is given (type 19)."""
    payload = message(
        content,
        author=author,
        channel_id=channel_id,
        guild_id=guild_id,
        message_id=message_id,
        attachments=attachments,
    )
    if guild_id is not None:
        guild_member = member(author, member_roles)
        guild_member.pop("user")
        payload["member"] = guild_member
    if referenced_message is not None and message_reference is None:
        message_reference = {
            "message_id": referenced_message["id"],
            "channel_id": referenced_message["channel_id"],
        }
    if message_reference is not None:
        reference = {"type": 0, **{k: str(v) if k.endswith("_id") else v for k, v in message_reference.items()}}
        reference.setdefault("channel_id", str(channel_id))
        if guild_id is not None:
            reference.setdefault("guild_id", str(guild_id))
        payload["type"] = 19
        payload["message_reference"] = reference
        # Discord sends null here when the referenced message could not be loaded.
        payload["referenced_message"] = (
            {k: v for k, v in referenced_message.items() if k not in ("referenced_message", "allowed_mentions")}
            if referenced_message is not None
            else None
        )
    return payload


# What Discord blanks for an app without the Message Content intent.
_CONTENT_FIELDS = {"content": "", "embeds": [], "attachments": [], "components": []}


def as_seen_without_message_content(payload: Mapping[str, Any], bot_id: int) -> dict[str, Any]:
    """A MESSAGE_CREATE as an app without the privileged intent receives it.

    Discord empties content, embeds, attachments and components, except in DMs, in messages
    that mention the app, and in the app's own messages; a reply's ``referenced_message`` is
    blanked by the same rule.
    """
    def blank(message: Mapping[str, Any]) -> dict[str, Any]:
        mentioned = any(int(u["id"]) == bot_id for u in message.get("mentions") or []) or f"<@{bot_id}>" in (
            message.get("content") or "")
        if message.get("guild_id") is None or mentioned or int(message["author"]["id"]) == bot_id:
            return dict(message)
        return {**message, **_CONTENT_FIELDS}

    seen = blank(payload)
    if payload.get("referenced_message"):
        seen["referenced_message"] = blank(payload["referenced_message"])
    return seen


def message_delete(message_id: int, channel_id: int, guild_id: int | None = None) -> dict[str, Any]:
    """MESSAGE_DELETE."""
    payload = {"id": str(message_id), "channel_id": str(channel_id)}
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    return payload


def channel_delete(channel: Mapping[str, Any]) -> dict[str, Any]:
    """CHANNEL_DELETE carries the whole channel object (with ``guild_id``)."""
    return dict(channel)


# ---------------------------------------------------------------------------- interactions


def interaction(
    interaction_type: int,
    data: Mapping[str, Any] | None,
    *,
    application_id: int,
    channel: Mapping[str, Any],
    user: Mapping[str, Any],
    guild_id: int | None = None,
    member_roles: Iterable[int] = (),
    member_permissions: PermissionsLike = DEFAULT_MEMBER_PERMISSIONS,
    app_permissions: PermissionsLike = DEFAULT_BOT_PERMISSIONS,
    locale: str = "en-US",
    guild_locale: str = "en-US",
    message: Mapping[str, Any] | None = None,
    interaction_id: int | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """INTERACTION_CREATE, with every field discord.py reads (pitfall 3).

    A guild interaction (``guild_id`` given) carries ``member`` with string
    ``permissions``; a DM carries ``user`` and context 1. ``channel`` must be the full
    channel object: ``channel_id`` alone leaves ``interaction.channel`` None.
    """
    payload: dict[str, Any] = {
        "id": str(interaction_id or ids.next()),
        "application_id": str(application_id),
        "type": interaction_type,
        "token": token or f"itoken-{secrets.token_urlsafe(24)}",
        "version": 1,
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "channel": dict(channel),
        "channel_id": str(channel["id"]),
        "app_permissions": _perm_str(app_permissions),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
    }
    if data is not None:
        payload["data"] = dict(data)
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild"] = {"id": str(guild_id), "locale": guild_locale, "features": []}
        payload["guild_locale"] = guild_locale
        payload["member"] = member(user, member_roles, permissions=member_permissions)
        payload["authorizing_integration_owners"] = {"0": str(guild_id)}
        payload["context"] = 0
        payload["channel"].setdefault("guild_id", str(guild_id))
        payload["channel"].setdefault("permissions", _perm_str(member_permissions))
    else:
        payload["user"] = dict(user)
        payload["authorizing_integration_owners"] = {"0": "0"}
        payload["context"] = 1
    if message is not None:
        payload["message"] = {k: v for k, v in message.items() if k != "allowed_mentions"}
    return payload


def _is_user(value: Mapping[str, Any]) -> bool:
    return "username" in value


def _is_attachment(value: Mapping[str, Any]) -> bool:
    return "filename" in value


def _is_role(value: Mapping[str, Any]) -> bool:
    return "managed" in value and "position" in value and "permissions" in value


def _is_channel(value: Mapping[str, Any]) -> bool:
    return "type" in value and "name" in value and "username" not in value


def _build_options(
    options: Mapping[str, Any],
    resolved: dict[str, dict[str, Any]],
    *,
    guild_id: int | None,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """Turn ``{name: value}`` into Discord's option list, filling ``resolved``.

    The option type is inferred (bool 5, int 4, float 10, str 3, attachment dict 11,
    user dict 6, channel dict 7); wrap the value in :class:`Option` to force one.
    """
    built: list[dict[str, Any]] = []
    for name, raw in options.items():
        if isinstance(raw, Option):
            option_type, value = raw.type, raw.value
        elif isinstance(raw, bool):
            option_type, value = 5, raw
        elif isinstance(raw, int):
            option_type, value = 4, raw
        elif isinstance(raw, float):
            option_type, value = 10, raw
        elif isinstance(raw, str):
            option_type, value = 3, raw
        elif isinstance(raw, MemberOption) or (isinstance(raw, Mapping) and _is_user(raw)):
            given = raw if isinstance(raw, MemberOption) else MemberOption(raw)
            resolved.setdefault("users", {})[str(given.user["id"])] = dict(given.user)
            if guild_id is not None:
                resolved_member = member(given.user, given.roles, permissions=given.permissions)
                resolved_member.pop("user")
                resolved.setdefault("members", {})[str(given.user["id"])] = resolved_member
            option_type, value = 6, str(given.user["id"])
        elif isinstance(raw, Mapping) and _is_role(raw):
            resolved.setdefault("roles", {})[str(raw["id"])] = dict(raw)
            option_type, value = 8, str(raw["id"])
        elif isinstance(raw, Mapping) and _is_attachment(raw):
            resolved.setdefault("attachments", {})[str(raw["id"])] = dict(raw)
            option_type, value = 11, str(raw["id"])
        elif isinstance(raw, Mapping) and _is_channel(raw):
            channel = {k: raw[k] for k in ("id", "name", "type", "parent_id", "guild_id") if k in raw}
            channel.setdefault("permissions", _perm_str(DEFAULT_MEMBER_PERMISSIONS))
            resolved.setdefault("channels", {})[str(raw["id"])] = channel
            option_type, value = 7, str(raw["id"])
        else:
            raise TypeError(f"cannot infer the option type of {name}={raw!r}; wrap it in Option(type, value)")
        entry: dict[str, Any] = {"name": name, "type": option_type, "value": value}
        if focused == name:
            entry["focused"] = True
        built.append(entry)
    return built


def _command_data(
    name: str,
    options: Mapping[str, Any] | None,
    *,
    subcommand: str | None,
    command_id: int | None,
    command_guild_id: int | None,
    guild_id: int | None,
    focused: str | None = None,
) -> dict[str, Any]:
    resolved: dict[str, dict[str, Any]] = {}
    built = _build_options(options or {}, resolved, guild_id=guild_id, focused=focused)
    # "group sub" nests as a type-2 group holding a type-1 subcommand.
    for level, part in enumerate(reversed((subcommand or "").split())):
        built = [{"name": part, "type": 1 if level == 0 else 2, "options": built}]
    data: dict[str, Any] = {
        "id": str(command_id or ids.next()),
        "name": name,
        "type": 1,
        "options": built,
    }
    if resolved:
        data["resolved"] = resolved
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return data


def slash_command(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    subcommand: str | None = None,
    command_id: int | None = None,
    command_guild_id: int | None = None,
    **context: Any,
) -> dict[str, Any]:
    """A chat-input command (interaction type 2, data.type 1).

    ``subcommand`` is ``"sub"`` or ``"group sub"``. ``command_guild_id`` must be set
    for guild-registered commands: the tree looks those up by ``data.guild_id``.
    ``context`` is passed to :func:`interaction` (``application_id``, ``channel``,
    ``user``, ``guild_id``, ``member_permissions``, ...).
    """
    data = _command_data(
        name,
        options,
        subcommand=subcommand,
        command_id=command_id,
        command_guild_id=command_guild_id,
        guild_id=context.get("guild_id"),
    )
    return interaction(2, data, **context)


def autocomplete(
    name: str,
    options: Mapping[str, Any],
    focused: str,
    *,
    subcommand: str | None = None,
    command_id: int | None = None,
    command_guild_id: int | None = None,
    **context: Any,
) -> dict[str, Any]:
    """An autocomplete request (interaction type 4); ``focused`` names the option being typed."""
    data = _command_data(
        name,
        options,
        subcommand=subcommand,
        command_id=command_id,
        command_guild_id=command_guild_id,
        guild_id=context.get("guild_id"),
        focused=focused,
    )
    return interaction(4, data, **context)


def button_click(custom_id: str, message: Mapping[str, Any], **context: Any) -> dict[str, Any]:
    """A button press (type 3, component_type 2) on ``message``.

    ``message`` must be the bot's message as stored by the fake (with its
    ``components``): discord.py finds the view by that message's id and rebuilds
    dynamic items from its components (pitfall 6).
    """
    data = {"custom_id": custom_id, "component_type": 2}
    return interaction(3, data, message=message, **context)


def select_menu(
    custom_id: str,
    values: Sequence[str],
    message: Mapping[str, Any],
    *,
    component_type: int = 3,
    **context: Any,
) -> dict[str, Any]:
    """A select menu choice (type 3); component_type 3 string, 5 user, 6 role, 8 channel."""
    data = {"custom_id": custom_id, "component_type": component_type, "values": list(values)}
    return interaction(3, data, message=message, **context)


def _submitted(component: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    custom_id = component.get("custom_id")
    if custom_id is None or custom_id not in values:
        return None
    value = values[custom_id]
    submitted: dict[str, Any] = {"type": component["type"], "custom_id": custom_id}
    if "id" in component:
        submitted["id"] = component["id"]
    if component.get("type") == 4:
        submitted["value"] = value
    else:
        submitted["values"] = list(value)
    return submitted


def modal_submit(
    custom_id: str,
    values: Mapping[str, Any],
    *,
    modal_components: Sequence[Mapping[str, Any]] | None = None,
    message: Mapping[str, Any] | None = None,
    **context: Any,
) -> dict[str, Any]:
    """A modal submission (type 5) with ``{field_custom_id: value}``.

    Pass the modal's ``components`` (from the type-9 callback body) as
    ``modal_components`` to mirror its layout (action rows or label components, as
    Discord does); otherwise each value is sent as a text input in its own action row.
    """
    rows: list[dict[str, Any]] = []
    if modal_components is None:
        rows = [{"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()]
    else:
        for component in modal_components:
            if component.get("type") == 1:
                inner = [s for c in component.get("components", []) if (s := _submitted(c, values)) is not None]
                if inner:
                    rows.append({"type": 1, "components": inner})
            elif component.get("type") == 18:
                inner_one = _submitted(component.get("component", {}), values)
                if inner_one is not None:
                    label = {"type": 18, "component": inner_one}
                    if "id" in component:
                        label["id"] = component["id"]
                    rows.append(label)
    data = {"custom_id": custom_id, "components": rows}
    return interaction(5, data, message=message, **context)


def message_context_menu(
    name: str,
    target_message: Mapping[str, Any],
    *,
    command_id: int | None = None,
    command_guild_id: int | None = None,
    **context: Any,
) -> dict[str, Any]:
    """A message context-menu command (type 2, data.type 3, ``target_id``, ``resolved.messages``)."""
    target = {k: v for k, v in target_message.items() if k not in ("allowed_mentions",)}
    data: dict[str, Any] = {
        "id": str(command_id or ids.next()),
        "name": name,
        "type": 3,
        "target_id": str(target["id"]),
        "resolved": {"messages": {str(target["id"]): target}},
    }
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return interaction(2, data, **context)


def user_context_menu(
    name: str,
    target_user: Mapping[str, Any],
    *,
    command_id: int | None = None,
    command_guild_id: int | None = None,
    **context: Any,
) -> dict[str, Any]:
    """A user context-menu command (type 2, data.type 2, ``resolved.users``/``members``)."""
    resolved: dict[str, Any] = {"users": {str(target_user["id"]): dict(target_user)}}
    if context.get("guild_id") is not None:
        target_member = member(target_user, permissions=DEFAULT_MEMBER_PERMISSIONS)
        target_member.pop("user")
        resolved["members"] = {str(target_user["id"]): target_member}
    data: dict[str, Any] = {
        "id": str(command_id or ids.next()),
        "name": name,
        "type": 2,
        "target_id": str(target_user["id"]),
        "resolved": resolved,
    }
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return interaction(2, data, **context)
