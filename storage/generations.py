"""Generation rows: insert, state transitions, and the poller's/cogs' lookups.

Functions take an open aiosqlite connection; the caller (the Store) owns the transaction.
Transitions are guarded by the current status in the WHERE clause, so calling one twice
changes nothing the second time (and the caller learns that from the returned value).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

import aiosqlite

from storage.models import Generation, Kind, Status

_OPEN = "('requested', 'submitted', 'running')"  # literal so partial indexes match


def dump_options(options: Mapping[str, Any] | None) -> str:
    # default=str: URL-like objects from pydantic dumps are kept as their text.
    return json.dumps(dict(options or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


async def insert(
    conn: aiosqlite.Connection,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    kind: Kind,
    prompt: str,
    model: str | None,
    options: str,
    dialect: str | None,
    parent_id: int | None,
    cost: int,
    now: float,
    price_text: str | None = None,
    second_parent_id: int | None = None,
) -> Generation:
    query = """
        INSERT INTO generations (guild_id, channel_id, user_id, kind, parent_id, prompt, model, options,
                                 dialect, status, requested_at, tokens_reserved, price_text, second_parent_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?)
        RETURNING id
    """
    params = (guild_id, channel_id, user_id, str(kind), parent_id, prompt, model, options, dialect, now, cost,
              price_text, second_parent_id)
    generation_id = int(list(await conn.execute_fetchall(query, params))[0][0])
    # Derived from the clip number, plus a random part so two bots (or a restored backup)
    # sharing one API key never send the same id: 1-128 chars of [A-Za-z0-9._:-].
    client_request_id = f"dreambot:{generation_id}:{secrets.token_hex(8)}"
    rows = await conn.execute_fetchall(
        "UPDATE generations SET client_request_id = ? WHERE id = ? RETURNING *", (client_request_id, generation_id))
    return Generation.from_row(list(rows)[0])


async def get(conn: aiosqlite.Connection, generation_id: int) -> Generation | None:
    query = "SELECT * FROM generations WHERE id = ?"
    rows = list(await conn.execute_fetchall(query, (generation_id,)))
    return Generation.from_row(rows[0]) if rows else None


async def _changed(conn: aiosqlite.Connection, query: str, params: tuple[Any, ...]) -> bool:
    cursor = await conn.execute(query, params)
    return cursor.rowcount > 0


# Transitions ---------------------------------------------------------------------------


async def mark_submitted(conn: aiosqlite.Connection, generation_id: int, api_id: str, now: float) -> bool:
    # Only from requested: a job already rejected and refunded stays that way.
    query = """
        UPDATE generations SET status = 'submitted', api_id = ?, submitted_at = ?
        WHERE id = ? AND status = 'requested'
    """
    return await _changed(conn, query, (api_id, now, generation_id))


async def mark_running(conn: aiosqlite.Connection, generation_id: int, now: float) -> bool:
    query = """
        UPDATE generations SET status = 'running', running_at = ?
        WHERE id = ? AND status = 'submitted'
    """
    return await _changed(conn, query, (now, generation_id))


async def finish_completed(
    conn: aiosqlite.Connection, generation_id: int, video_url: str, charge: int | None, now: float
) -> aiosqlite.Row | None:
    """Open → completed; returns the row to settle, or None if it was already finished.
    A reported cost is also the provider's side of the books."""
    query = """
        UPDATE generations
        SET status = 'completed', completed_at = ?1, video_url = ?2,
            tokens_charged = COALESCE(?3, tokens_reserved),  -- the reserve when the API reports nothing
            provider_credits = COALESCE(?3, provider_credits),
            provider_source = CASE WHEN ?3 IS NULL THEN provider_source ELSE 'response' END
        WHERE id = ?4 AND status IN ('requested', 'submitted', 'running')
        RETURNING id, guild_id, user_id, tokens_reserved, tokens_charged
    """
    rows = list(await conn.execute_fetchall(query, (now, video_url, charge, generation_id)))
    return rows[0] if rows else None


async def finish_failed(
    conn: aiosqlite.Connection, generation_id: int, reason: str, now: float, *, rejected: bool,
    provider_billed_nothing: bool = False,
) -> aiosqlite.Row | None:
    """Open → failed (rejected: only from requested, and marked posted); row to refund or None.
    `provider_billed_nothing`: the provider itself said no (a refused create, a job that ended
    in error), so its side is 0; otherwise (a timeout, a lost job) it stays unknown."""
    if rejected:
        # The member already saw the API's error where they asked, so nothing is left to post.
        query = """
            UPDATE generations
            SET status = 'failed', failed_at = ?, failure_reason = ?, tokens_charged = 0, posted_at = ?,
                provider_credits = CASE WHEN ? THEN 0 ELSE provider_credits END,
                provider_source = CASE WHEN ? THEN 'failed' ELSE provider_source END
            WHERE id = ? AND status = 'requested'
            RETURNING id, guild_id, user_id, tokens_reserved
        """
        params: tuple[Any, ...] = (now, reason, now, provider_billed_nothing, provider_billed_nothing, generation_id)
    else:
        query = """
            UPDATE generations
            SET status = 'failed', failed_at = ?, failure_reason = ?, tokens_charged = 0,
                provider_credits = CASE WHEN ? THEN 0 ELSE provider_credits END,
                provider_source = CASE WHEN ? THEN 'failed' ELSE provider_source END
            WHERE id = ? AND status IN ('requested', 'submitted', 'running')
            RETURNING id, guild_id, user_id, tokens_reserved
        """
        params = (now, reason, provider_billed_nothing, provider_billed_nothing, generation_id)
    rows = list(await conn.execute_fetchall(query, params))
    return rows[0] if rows else None


async def mark_in_doubt(conn: aiosqlite.Connection, generation_id: int, now: float) -> bool:
    """A create went out but its answer was lost: keep the reserve and look it up."""
    query = """
        UPDATE generations SET in_doubt_since = ?
        WHERE id = ? AND status = 'requested' AND api_id IS NULL AND in_doubt_since IS NULL
    """
    return await _changed(conn, query, (now, generation_id))


async def set_provider_credits(conn: aiosqlite.Connection, generation_id: int, credits: int, source: str) -> bool:
    """The provider's side, learned later (from its logs); never overwrites a known figure."""
    query = """
        UPDATE generations SET provider_credits = ?, provider_source = ?
        WHERE id = ? AND provider_credits IS NULL
    """
    return await _changed(conn, query, (credits, source, generation_id))


async def set_status_message(conn: aiosqlite.Connection, generation_id: int, channel_id: int, message_id: int) -> bool:
    query = """
        UPDATE generations SET status_channel_id = ?, status_message_id = ?
        WHERE id = ? AND (status_channel_id IS NOT ? OR status_message_id IS NOT ?)
    """
    return await _changed(conn, query, (channel_id, message_id, generation_id, channel_id, message_id))


async def mark_posted(
    conn: aiosqlite.Connection, generation_id: int, channel_id: int | None, message_id: int | None, now: float,
    attached_bytes: int | None = None,
) -> bool:
    # posted_at IS NULL makes this exactly-once; only finished jobs have a result to post.
    query = """
        UPDATE generations SET posted_at = ?, result_channel_id = ?, result_message_id = ?, attached_bytes = ?
        WHERE id = ? AND posted_at IS NULL AND status IN ('completed', 'failed')
    """
    return await _changed(conn, query, (now, channel_id, message_id, attached_bytes, generation_id))


async def recent_twin(conn: aiosqlite.Connection, *, guild_id: int | None, user_id: int, kind: Kind,
                      parent_id: int | None, prompt: str, options: str, since: float) -> Generation | None:
    """The same member's same request made since `since` and not failed: a double click."""
    query = """
        SELECT * FROM generations
        WHERE guild_id IS ? AND user_id = ? AND requested_at >= ? AND kind = ? AND parent_id IS ?
              AND prompt = ? AND options = ? AND status != 'failed'
        ORDER BY id DESC LIMIT 1
    """
    rows = list(await conn.execute_fetchall(query, (guild_id, user_id, since, str(kind), parent_id, prompt, options)))
    return Generation.from_row(rows[0]) if rows else None


async def bump_post_attempts(conn: aiosqlite.Connection, generation_id: int) -> int | None:
    query = "UPDATE generations SET post_attempts = post_attempts + 1 WHERE id = ? RETURNING post_attempts"
    rows = list(await conn.execute_fetchall(query, (generation_id,)))
    return int(rows[0][0]) if rows else None


# Lookups -------------------------------------------------------------------------------


async def _many(conn: aiosqlite.Connection, query: str, params: tuple[Any, ...] = ()) -> list[Generation]:
    return [Generation.from_row(row) for row in await conn.execute_fetchall(query, params)]


async def jobs_to_poll(conn: aiosqlite.Connection) -> list[Generation]:
    query = """
        SELECT * FROM generations
        WHERE status IN ('submitted', 'running') AND api_id IS NOT NULL
        ORDER BY id
    """
    return await _many(conn, query)


async def jobs_to_post(conn: aiosqlite.Connection) -> list[Generation]:
    query = """
        SELECT * FROM generations
        WHERE posted_at IS NULL AND undeliverable_at IS NULL AND status IN ('completed', 'failed')
        ORDER BY id
    """
    return await _many(conn, query)


async def mark_undeliverable(conn: aiosqlite.Connection, generation_id: int, reason: str, now: float) -> bool:
    query = """
        UPDATE generations SET undeliverable_at = ?, post_error = ?
        WHERE id = ? AND posted_at IS NULL AND undeliverable_at IS NULL AND status IN ('completed', 'failed')
    """
    return await _changed(conn, query, (now, reason[:300], generation_id))


async def retry_delivery(conn: aiosqlite.Connection, generation_id: int) -> bool:
    query = """
        UPDATE generations SET undeliverable_at = NULL, post_error = NULL
        WHERE id = ? AND posted_at IS NULL AND undeliverable_at IS NOT NULL
    """
    return await _changed(conn, query, (generation_id,))


async def undeliverable(conn: aiosqlite.Connection, guild_id: int | None, limit: int) -> list[Generation]:
    query = """
        SELECT * FROM generations
        WHERE undeliverable_at IS NOT NULL AND posted_at IS NULL AND guild_id IS ?
        ORDER BY id DESC LIMIT ?
    """
    return await _many(conn, query, (guild_id, limit))


async def unsent(conn: aiosqlite.Connection, older_than: float) -> list[Generation]:
    """Reserved rows without a provider id that need looking up: marked in doubt, or left
    `requested` by an earlier process (it may have died between the create and recording its id)."""
    query = """
        SELECT * FROM generations
        WHERE status = 'requested' AND api_id IS NULL AND (in_doubt_since IS NOT NULL OR requested_at < ?)
        ORDER BY id
    """
    return await _many(conn, query, (older_than,))


async def provider_unknown(conn: aiosqlite.Connection, dialect: str, limit: int) -> list[Generation]:
    """Completed clips whose provider cost is not known, oldest first (the logs can tell)."""
    query = """
        SELECT * FROM generations
        WHERE provider_credits IS NULL AND status = 'completed' AND dialect IS ? AND client_request_id IS NOT NULL
        ORDER BY id
        LIMIT ?
    """
    return await _many(conn, query, (dialect, limit))


async def by_message(conn: aiosqlite.Connection, message_id: int) -> Generation | None:
    query = """
        SELECT * FROM generations
        WHERE status_message_id = ? OR result_message_id = ?
        ORDER BY id DESC
        LIMIT 1
    """
    rows = await _many(conn, query, (message_id, message_id))
    return rows[0] if rows else None


async def recent(
    conn: aiosqlite.Connection,
    guild_id: int | None,
    *,
    user_id: int | None = None,
    channel_id: int | None = None,
    status: Status | None = None,
    limit: int = 10,
) -> list[Generation]:
    # Fixed fragments only; every value is a bound parameter.
    where, params = ["guild_id IS ?"], [guild_id]
    if user_id is not None:
        where.append("user_id = ?")
        params.append(user_id)
    if channel_id is not None:
        where.append("channel_id = ?")
        params.append(channel_id)
    if status is not None:
        where.append("status = ?")
        params.append(str(status))
    query = f"""
        SELECT * FROM generations
        WHERE {' AND '.join(where)}
        ORDER BY requested_at DESC, id DESC
        LIMIT ?
    """
    return await _many(conn, query, (*params, limit))


async def queue_position(conn: aiosqlite.Connection, generation_id: int) -> int:
    """Open jobs (any guild: the API is shared) that were requested before this one."""
    query = f"""
        SELECT COUNT(*) FROM generations
        WHERE status IN {_OPEN} AND id < ?
    """
    rows = list(await conn.execute_fetchall(query, (generation_id,)))
    return int(rows[0][0])


async def member_running(conn: aiosqlite.Connection, guild_id: int | None, user_id: int) -> int:
    query = f"""
        SELECT COUNT(*) FROM generations
        WHERE guild_id IS ? AND user_id = ? AND status IN {_OPEN}
    """
    rows = list(await conn.execute_fetchall(query, (guild_id, user_id)))
    return int(rows[0][0])


async def guild_running(conn: aiosqlite.Connection, guild_id: int | None) -> int:
    query = f"""
        SELECT COUNT(*) FROM generations
        WHERE guild_id IS ? AND status IN {_OPEN}
    """
    rows = list(await conn.execute_fetchall(query, (guild_id,)))
    return int(rows[0][0])


async def last_request_at(conn: aiosqlite.Connection, guild_id: int | None, user_id: int) -> float | None:
    # Requests the API rejected (or never got) don't start a cooldown: the member got nothing.
    query = """
        SELECT requested_at FROM generations
        WHERE guild_id IS ? AND user_id = ? AND NOT (status = 'failed' AND api_id IS NULL)
        ORDER BY requested_at DESC
        LIMIT 1
    """
    rows = list(await conn.execute_fetchall(query, (guild_id, user_id)))
    return float(rows[0][0]) if rows else None
