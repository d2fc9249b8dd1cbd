"""How long the provider took per option: the poll schedule's memory across restarts."""

from __future__ import annotations

import aiosqlite

# Newest run times kept per option; the schedule reads no more than this.
KEPT_PER_OPTION = 64


async def record(conn: aiosqlite.Connection, option_key: str, seconds: float, now: float) -> None:
    await conn.execute("INSERT INTO run_times (option_key, seconds, finished_at) VALUES (?, ?, ?)",
                       (option_key, seconds, now))
    # Keep the newest few per option (the index on (option_key, id) makes this a short range scan).
    await conn.execute(
        """DELETE FROM run_times WHERE option_key = ? AND id <= (
               SELECT id FROM run_times WHERE option_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)""",
        (option_key, option_key, KEPT_PER_OPTION))


async def load(conn: aiosqlite.Connection) -> list[tuple[str, float]]:
    """Every kept run time, oldest first."""
    rows = await conn.execute_fetchall("SELECT option_key, seconds FROM run_times ORDER BY id")
    return [(str(row[0]), float(row[1])) for row in rows]
