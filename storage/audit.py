"""The moderators' audit trail: one row per change or refused attempt, written in the change's transaction."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from storage.models import AuditEntry

REFUSED = "refused"  # the action of a refused attempt; every other action is a change


async def write(
    conn: aiosqlite.Connection,
    *,
    guild_id: int,
    actor_id: int,
    action: str,
    target_user_id: int | None = None,
    details: dict[str, Any] | None = None,
    now: float,
) -> None:
    query = """
        INSERT INTO audit_log (guild_id, actor_id, action, target_user_id, details, created_at)
        VALUES (?, ?, ?, ?, ?, ?)
    """
    text = json.dumps(details or {}, sort_keys=True, default=str)
    await conn.execute(query, (guild_id, actor_id, action, target_user_id, text, now))


async def recent(conn: aiosqlite.Connection, guild_id: int, limit: int, *, refusals: bool | None = None) -> list[AuditEntry]:
    query = """
        SELECT id, guild_id, actor_id, action, target_user_id, details, created_at
        FROM audit_log
        WHERE guild_id = ? AND (? IS NULL OR (action = ?) = ?)
        ORDER BY id DESC
        LIMIT ?
    """
    wanted = None if refusals is None else int(refusals)
    rows = await conn.execute_fetchall(query, (guild_id, wanted, REFUSED, wanted, limit))
    return [
        AuditEntry(r["id"], r["guild_id"], r["actor_id"], r["action"], r["target_user_id"],
                   json.loads(r["details"]), r["created_at"])
        for r in rows
    ]
