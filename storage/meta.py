"""Small bot-wide key/value facts (e.g. the digest of the last application-command sync)."""

from __future__ import annotations

import aiosqlite


async def get_value(conn: aiosqlite.Connection, key: str) -> str | None:
    query = "SELECT value FROM meta WHERE key = ?"
    rows = list(await conn.execute_fetchall(query, (key,)))
    return rows[0][0] if rows else None


async def set_value(conn: aiosqlite.Connection, key: str, value: str, now: float) -> None:
    query = """
        INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
    """
    await conn.execute(query, (key, value, now))
