"""The spend ledger: one row per reserve, charge and refund, and the sums read from it.

A generation's spend is its charge once charged, else its reserve minus any refund
(open jobs count in full). Spend is attributed to the period the job was *requested* in,
so a job reserved at 23:59 and finished after midnight counts in the day it was asked for.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiosqlite

from storage.clock import utc_day
from storage.models import DaySpend, Generation, HistoryEntry, LedgerKind, LedgerTotals, ProviderTotals, Spender

# Per-generation money, joined from the ledger via its UNIQUE(generation_id, kind) index.
_MONEY_JOINS = """
    JOIN ledger r ON r.generation_id = g.id AND r.kind = 'reserve'
    LEFT JOIN ledger c ON c.generation_id = g.id AND c.kind = 'charge'
    LEFT JOIN ledger f ON f.generation_id = g.id AND f.kind = 'refund'
"""
_SPENT = "COALESCE(c.amount, r.amount - COALESCE(f.amount, 0))"


async def record(
    conn: aiosqlite.Connection,
    *,
    generation_id: int,
    guild_id: int | None,
    user_id: int,
    kind: LedgerKind,
    amount: int,
    now: float,
) -> None:
    # A plain INSERT: a duplicate (generation_id, kind) raises and rolls the whole transition back.
    query = """
        INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at)
        VALUES (?, ?, ?, ?, ?, ?)
    """
    await conn.execute(query, (generation_id, guild_id, user_id, str(kind), amount, now))


async def settle(conn: aiosqlite.Connection, row: Any, charge: int, now: float) -> None:
    """Charge what was used and refund the rest of the reserve (same transaction as the status)."""
    common = {"generation_id": row["id"], "guild_id": row["guild_id"], "user_id": row["user_id"], "now": now}
    if charge > 0:
        await record(conn, kind=LedgerKind.CHARGE, amount=charge, **common)
    remainder = row["tokens_reserved"] - charge
    if remainder > 0:
        await record(conn, kind=LedgerKind.REFUND, amount=remainder, **common)


async def refund_all(conn: aiosqlite.Connection, row: Any, now: float) -> None:
    await record(conn, generation_id=row["id"], guild_id=row["guild_id"], user_id=row["user_id"],
                 kind=LedgerKind.REFUND, amount=row["tokens_reserved"], now=now)


async def member_spent(conn: aiosqlite.Connection, guild_id: int | None, user_id: int, since: float | None) -> int:
    query = f"""
        SELECT COALESCE(SUM({_SPENT}), 0)
        FROM generations g {_MONEY_JOINS}
        WHERE g.guild_id IS ? AND g.user_id = ? AND g.requested_at >= ?
    """
    # -inf for lifetime keeps one statement (and one plan) for every period.
    start = float("-inf") if since is None else since
    rows = list(await conn.execute_fetchall(query, (guild_id, user_id, start)))
    return int(rows[0][0])


async def top_spenders(conn: aiosqlite.Connection, guild_id: int, since: float | None, limit: int) -> list[Spender]:
    query = f"""
        SELECT g.user_id,
               SUM({_SPENT}) AS spent,
               COUNT(*) AS clips,
               SUM(g.status = 'completed') AS completed,
               SUM(g.status = 'failed') AS failed,
               COALESCE(SUM(f.amount), 0) AS refunded
        FROM generations g {_MONEY_JOINS}
        WHERE g.guild_id = ? AND g.requested_at >= ?
        GROUP BY g.user_id
        ORDER BY spent DESC, clips DESC, g.user_id
        LIMIT ?
    """
    start = float("-inf") if since is None else since
    rows = await conn.execute_fetchall(query, (guild_id, start, limit))
    return [Spender(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


async def member_history(conn: aiosqlite.Connection, guild_id: int, user_id: int, limit: int) -> list[HistoryEntry]:
    query = f"""
        SELECT g.*, r.amount AS _reserved, c.amount AS _charged, COALESCE(f.amount, 0) AS _refunded
        FROM generations g {_MONEY_JOINS}
        WHERE g.guild_id = ? AND g.user_id = ?
        ORDER BY g.requested_at DESC, g.id DESC
        LIMIT ?
    """
    rows = await conn.execute_fetchall(query, (guild_id, user_id, limit))
    return [
        HistoryEntry(Generation.from_row(r), int(r["_reserved"]),
                     None if r["_charged"] is None else int(r["_charged"]), int(r["_refunded"]))
        for r in rows
    ]


async def daily_spend(conn: aiosqlite.Connection, guild_id: int, days: int, now: float) -> list[DaySpend]:
    """The last `days` UTC days up to today, oldest first, days without clips included as 0."""
    today = utc_day(now)
    first = today - timedelta(days=days - 1)
    first_epoch_day = (first - utc_day(0)).days
    # Unix time has no leap seconds, so epoch // 86400 is exactly the UTC calendar day.
    query = f"""
        SELECT CAST(g.requested_at / 86400 AS INTEGER) AS epoch_day, SUM({_SPENT}), COUNT(*)
        FROM generations g {_MONEY_JOINS}
        WHERE g.guild_id = ? AND g.requested_at >= ?
        GROUP BY epoch_day
    """
    rows = await conn.execute_fetchall(query, (guild_id, first_epoch_day * 86400.0))
    by_day = {int(r[0]): (int(r[1]), int(r[2])) for r in rows}
    result = []
    for offset in range(days):
        spent, clips = by_day.get(first_epoch_day + offset, (0, 0))
        result.append(DaySpend(first + timedelta(days=offset), spent, clips))
    return result


async def totals(conn: aiosqlite.Connection, guild_id: int | None = None, *, all_guilds: bool = True) -> LedgerTotals:
    select = """
        SELECT COALESCE(SUM(r.amount), 0),
               COALESCE(SUM(c.amount), 0),
               COALESCE(SUM(f.amount), 0),
               COALESCE(SUM(CASE WHEN c.id IS NULL AND f.id IS NULL THEN r.amount END), 0),
               COALESCE(SUM(CASE WHEN c.amount > r.amount THEN c.amount - r.amount END), 0),
               COUNT(*),
               COUNT(CASE WHEN c.id IS NULL AND f.id IS NULL THEN 1 END)
        FROM ledger r
        LEFT JOIN ledger c ON c.generation_id = r.generation_id AND c.kind = 'charge'
        LEFT JOIN ledger f ON f.generation_id = r.generation_id AND f.kind = 'refund'
        WHERE r.kind = 'reserve'
    """
    if all_guilds:
        rows = list(await conn.execute_fetchall(select))
    else:
        query = select + " AND r.guild_id IS ?"
        rows = list(await conn.execute_fetchall(query, (guild_id,)))
    return LedgerTotals(*(int(v) for v in rows[0]))


async def provider_totals(conn: aiosqlite.Connection, guild_id: int | None, since: float | None,
                          *, all_guilds: bool = False) -> ProviderTotals:
    """Members' charges beside the provider's bill, for generations requested since `since`."""
    where = "g.requested_at >= ?" + ("" if all_guilds else " AND g.guild_id IS ?")
    params: tuple[Any, ...] = (float("-inf") if since is None else since,)
    if not all_guilds:
        params += (guild_id,)
    query = f"""
        SELECT COALESCE(SUM(CASE WHEN g.status IN ('completed', 'failed') THEN COALESCE(c.amount, 0) END), 0),
               COALESCE(SUM(CASE WHEN g.status IN ('completed', 'failed') AND g.provider_credits IS NOT NULL
                                 THEN COALESCE(c.amount, 0) END), 0),
               COALESCE(SUM(g.provider_credits), 0),
               COUNT(CASE WHEN g.status IN ('completed', 'failed') AND g.provider_credits IS NOT NULL THEN 1 END),
               COUNT(CASE WHEN g.status = 'completed' AND g.provider_credits IS NULL THEN 1 END),
               COUNT(CASE WHEN c.amount > r.amount THEN 1 END),
               COALESCE(SUM(CASE WHEN c.amount > r.amount THEN c.amount - r.amount END), 0),
               COUNT(CASE WHEN g.status = 'requested' AND g.api_id IS NULL AND g.in_doubt_since IS NOT NULL THEN 1 END),
               COALESCE(SUM(CASE WHEN g.status = 'requested' AND g.api_id IS NULL AND g.in_doubt_since IS NOT NULL
                                 THEN r.amount END), 0)
        FROM generations g {_MONEY_JOINS}
        WHERE {where}
    """
    rows = list(await conn.execute_fetchall(query, params))
    values = [int(v) for v in rows[0]]
    return ProviderTotals(
        member_charged=values[0], member_charged_known=values[1], provider_billed=values[2], known=values[3],
        unknown=values[4], overruns=values[5], overrun_credits=values[6], in_doubt=values[7],
        in_doubt_reserved=values[8],
    )
