"""Moderators' settings per guild and per member: caps, running limits, cooldown, blocks,
allowed channels and the moderator role. Each setting keeps who set it and when.

Functions take an open connection; the Store wraps each change and its audit row in one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import aiosqlite

from storage.models import GuildSettings, MemberSettings, Period, ReplyMode

DEFAULT_MEMBER_RUNNING_LIMIT = 2
DEFAULT_CAP_PERIOD = Period.DAY


def default_guild_settings(guild_id: int) -> GuildSettings:
    return GuildSettings(
        guild_id=guild_id,
        cap_tokens=None,
        cap_period=DEFAULT_CAP_PERIOD,
        member_running_limit=DEFAULT_MEMBER_RUNNING_LIMIT,
        guild_running_limit=None,
        cooldown_seconds=0,
        moderator_role_id=None,
        allowed_channel_ids=frozenset(),
    )


def default_member_settings(guild_id: int, user_id: int) -> MemberSettings:
    return MemberSettings(guild_id, user_id, cap_override=False, cap_tokens=None, cap_period=None,
                          running_limit=None, blocked=False)


async def guild_settings(conn: aiosqlite.Connection, guild_id: int, *, with_channels: bool = True) -> GuildSettings:
    query = "SELECT * FROM guild_settings WHERE guild_id = ?"
    rows = list(await conn.execute_fetchall(query, (guild_id,)))
    channels = await allowed_channels(conn, guild_id) if with_channels else frozenset()
    if not rows:
        return replace(default_guild_settings(guild_id), allowed_channel_ids=channels)
    row = rows[0]
    return GuildSettings(
        guild_id=guild_id,
        cap_tokens=row["cap_tokens"],
        cap_period=Period(row["cap_period"]),
        member_running_limit=row["member_running_limit"],
        guild_running_limit=row["guild_running_limit"],
        cooldown_seconds=row["cooldown_seconds"],
        moderator_role_id=row["moderator_role_id"],
        allowed_channel_ids=channels,
        cap_set_by=row["cap_set_by"],
        cap_set_at=row["cap_set_at"],
        running_set_by=row["running_set_by"],
        running_set_at=row["running_set_at"],
        cooldown_set_by=row["cooldown_set_by"],
        cooldown_set_at=row["cooldown_set_at"],
        moderator_role_set_by=row["moderator_role_set_by"],
        moderator_role_set_at=row["moderator_role_set_at"],
        channels_set_by=row["channels_set_by"],
        channels_set_at=row["channels_set_at"],
        reply_mode=ReplyMode(row["reply_mode"]),
        reply_mode_set_by=row["reply_mode_set_by"],
        reply_mode_set_at=row["reply_mode_set_at"],
    )


def _member_from_row(row: Any) -> MemberSettings:
    return MemberSettings(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        cap_override=bool(row["cap_override"]),
        cap_tokens=row["cap_tokens"],
        cap_period=None if row["cap_period"] is None else Period(row["cap_period"]),
        running_limit=row["running_limit"],
        blocked=bool(row["blocked"]),
        cap_set_by=row["cap_set_by"],
        cap_set_at=row["cap_set_at"],
        running_set_by=row["running_set_by"],
        running_set_at=row["running_set_at"],
        blocked_set_by=row["blocked_set_by"],
        blocked_set_at=row["blocked_set_at"],
    )


async def member_settings(conn: aiosqlite.Connection, guild_id: int, user_id: int) -> MemberSettings:
    query = "SELECT * FROM member_settings WHERE guild_id = ? AND user_id = ?"
    rows = list(await conn.execute_fetchall(query, (guild_id, user_id)))
    return _member_from_row(rows[0]) if rows else default_member_settings(guild_id, user_id)


async def member_overrides(conn: aiosqlite.Connection, guild_id: int) -> list[MemberSettings]:
    """Members with any override in force (cap, running limit or block)."""
    query = """
        SELECT * FROM member_settings
        WHERE guild_id = ? AND (cap_override = 1 OR running_limit IS NOT NULL OR blocked = 1)
        ORDER BY user_id
    """
    return [_member_from_row(row) for row in await conn.execute_fetchall(query, (guild_id,))]


async def allowed_channels(conn: aiosqlite.Connection, guild_id: int) -> frozenset[int]:
    query = "SELECT channel_id FROM allowed_channels WHERE guild_id = ?"
    return frozenset(int(row[0]) for row in await conn.execute_fetchall(query, (guild_id,)))


async def is_channel_allowed(conn: aiosqlite.Connection, guild_id: int, channel_id: int) -> bool:
    # Allowed when the guild lists no channels at all, or lists this one.
    query = """
        SELECT NOT EXISTS (SELECT 1 FROM allowed_channels WHERE guild_id = ?)
            OR EXISTS (SELECT 1 FROM allowed_channels WHERE guild_id = ? AND channel_id = ?)
    """
    rows = list(await conn.execute_fetchall(query, (guild_id, guild_id, channel_id)))
    return bool(rows[0][0])


# Guild-level setters -------------------------------------------------------------------


async def set_guild_cap(
    conn: aiosqlite.Connection, guild_id: int, cap_tokens: int | None, period: Period, actor_id: int, now: float
) -> None:
    query = """
        INSERT INTO guild_settings (guild_id, cap_tokens, cap_period, cap_set_by, cap_set_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            cap_tokens = excluded.cap_tokens, cap_period = excluded.cap_period,
            cap_set_by = excluded.cap_set_by, cap_set_at = excluded.cap_set_at
    """
    await conn.execute(query, (guild_id, cap_tokens, str(period), actor_id, now))


async def set_guild_running_limits(
    conn: aiosqlite.Connection, guild_id: int, member_limit: int, guild_limit: int | None, actor_id: int, now: float
) -> None:
    query = """
        INSERT INTO guild_settings (guild_id, member_running_limit, guild_running_limit, running_set_by, running_set_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            member_running_limit = excluded.member_running_limit,
            guild_running_limit = excluded.guild_running_limit,
            running_set_by = excluded.running_set_by, running_set_at = excluded.running_set_at
    """
    await conn.execute(query, (guild_id, member_limit, guild_limit, actor_id, now))


async def set_cooldown(conn: aiosqlite.Connection, guild_id: int, seconds: int, actor_id: int, now: float) -> None:
    query = """
        INSERT INTO guild_settings (guild_id, cooldown_seconds, cooldown_set_by, cooldown_set_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            cooldown_seconds = excluded.cooldown_seconds,
            cooldown_set_by = excluded.cooldown_set_by, cooldown_set_at = excluded.cooldown_set_at
    """
    await conn.execute(query, (guild_id, seconds, actor_id, now))


async def set_reply_mode(conn: aiosqlite.Connection, guild_id: int, mode: ReplyMode, actor_id: int,
                         now: float) -> None:
    query = """
        INSERT INTO guild_settings (guild_id, reply_mode, reply_mode_set_by, reply_mode_set_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            reply_mode = excluded.reply_mode,
            reply_mode_set_by = excluded.reply_mode_set_by, reply_mode_set_at = excluded.reply_mode_set_at
    """
    await conn.execute(query, (guild_id, str(mode), actor_id, now))


async def set_moderator_role(
    conn: aiosqlite.Connection, guild_id: int, role_id: int | None, actor_id: int, now: float
) -> None:
    query = """
        INSERT INTO guild_settings (guild_id, moderator_role_id, moderator_role_set_by, moderator_role_set_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            moderator_role_id = excluded.moderator_role_id,
            moderator_role_set_by = excluded.moderator_role_set_by,
            moderator_role_set_at = excluded.moderator_role_set_at
    """
    await conn.execute(query, (guild_id, role_id, actor_id, now))


async def _stamp_channels(conn: aiosqlite.Connection, guild_id: int, actor_id: int, now: float) -> None:
    query = """
        INSERT INTO guild_settings (guild_id, channels_set_by, channels_set_at)
        VALUES (?, ?, ?)
        ON CONFLICT (guild_id) DO UPDATE SET
            channels_set_by = excluded.channels_set_by, channels_set_at = excluded.channels_set_at
    """
    await conn.execute(query, (guild_id, actor_id, now))


async def set_allowed_channels(
    conn: aiosqlite.Connection, guild_id: int, channel_ids: Iterable[int], actor_id: int, now: float
) -> None:
    query = "DELETE FROM allowed_channels WHERE guild_id = ?"
    await conn.execute(query, (guild_id,))
    query = "INSERT INTO allowed_channels (guild_id, channel_id, added_by, added_at) VALUES (?, ?, ?, ?)"
    await conn.executemany(query, [(guild_id, channel_id, actor_id, now) for channel_id in sorted(set(channel_ids))])
    await _stamp_channels(conn, guild_id, actor_id, now)


async def allow_channel(conn: aiosqlite.Connection, guild_id: int, channel_id: int, actor_id: int, now: float) -> bool:
    query = """
        INSERT INTO allowed_channels (guild_id, channel_id, added_by, added_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (guild_id, channel_id) DO NOTHING
    """
    cursor = await conn.execute(query, (guild_id, channel_id, actor_id, now))
    changed = cursor.rowcount > 0
    if changed:
        await _stamp_channels(conn, guild_id, actor_id, now)
    return changed


async def disallow_channel(conn: aiosqlite.Connection, guild_id: int, channel_id: int, actor_id: int, now: float) -> bool:
    query = "DELETE FROM allowed_channels WHERE guild_id = ? AND channel_id = ?"
    cursor = await conn.execute(query, (guild_id, channel_id))
    changed = cursor.rowcount > 0
    if changed:
        await _stamp_channels(conn, guild_id, actor_id, now)
    return changed


# Member-level setters ------------------------------------------------------------------


async def set_member_cap(
    conn: aiosqlite.Connection,
    guild_id: int,
    user_id: int,
    cap_tokens: int | None,
    period: Period | None,
    actor_id: int,
    now: float,
) -> None:
    query = """
        INSERT INTO member_settings (guild_id, user_id, cap_override, cap_tokens, cap_period, cap_set_by, cap_set_at)
        VALUES (?, ?, 1, ?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET
            cap_override = 1, cap_tokens = excluded.cap_tokens, cap_period = excluded.cap_period,
            cap_set_by = excluded.cap_set_by, cap_set_at = excluded.cap_set_at
    """
    await conn.execute(query, (guild_id, user_id, cap_tokens, None if period is None else str(period), actor_id, now))


async def clear_member_cap(conn: aiosqlite.Connection, guild_id: int, user_id: int, actor_id: int, now: float) -> bool:
    query = """
        UPDATE member_settings
        SET cap_override = 0, cap_tokens = NULL, cap_period = NULL, cap_set_by = ?, cap_set_at = ?
        WHERE guild_id = ? AND user_id = ? AND cap_override = 1
    """
    cursor = await conn.execute(query, (actor_id, now, guild_id, user_id))
    return cursor.rowcount > 0


async def set_member_running_limit(
    conn: aiosqlite.Connection, guild_id: int, user_id: int, limit: int | None, actor_id: int, now: float
) -> None:
    query = """
        INSERT INTO member_settings (guild_id, user_id, running_limit, running_set_by, running_set_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET
            running_limit = excluded.running_limit,
            running_set_by = excluded.running_set_by, running_set_at = excluded.running_set_at
    """
    await conn.execute(query, (guild_id, user_id, limit, actor_id, now))


async def set_blocked(
    conn: aiosqlite.Connection, guild_id: int, user_id: int, blocked: bool, actor_id: int, now: float
) -> None:
    query = """
        INSERT INTO member_settings (guild_id, user_id, blocked, blocked_set_by, blocked_set_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (guild_id, user_id) DO UPDATE SET
            blocked = excluded.blocked,
            blocked_set_by = excluded.blocked_set_by, blocked_set_at = excluded.blocked_set_at
    """
    await conn.execute(query, (guild_id, user_id, int(blocked), actor_id, now))
