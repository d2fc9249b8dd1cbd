"""What a member may do right now: effective cap, spend this period, running jobs, cooldown.

`reserve` and `member_budget` both call `evaluate`, so what /status shows is exactly what a
reserve would decide. Inside a reserve it runs under BEGIN IMMEDIATE, so the numbers cannot
change between the check and the insert.
"""

from __future__ import annotations

import aiosqlite

from storage import generations, ledger, limits
from storage.clock import period_bounds
from storage.models import MemberBudget, RefusalReason


async def evaluate(conn: aiosqlite.Connection, guild_id: int | None, user_id: int, cost: int, now: float) -> MemberBudget:
    if guild_id is None:
        # DMs have no moderators: defaults, no guild-wide limit.
        guild = limits.default_guild_settings(0)
        member = limits.default_member_settings(0, user_id)
    else:
        guild = await limits.guild_settings(conn, guild_id, with_channels=False)
        member = await limits.member_settings(conn, guild_id, user_id)

    if member.cap_override:
        cap, period = member.cap_tokens, member.cap_period or guild.cap_period
    else:
        cap, period = guild.cap_tokens, guild.cap_period
    started, resets = period_bounds(period, now)
    spent = await ledger.member_spent(conn, guild_id, user_id, started)
    remaining = None if cap is None else max(0, cap - spent)

    running = await generations.member_running(conn, guild_id, user_id)
    running_limit = guild.member_running_limit if member.running_limit is None else member.running_limit
    guild_limit = guild.guild_running_limit if guild_id is not None else None
    guild_running = await generations.guild_running(conn, guild_id) if guild_id is not None else running

    retry_after = 0.0
    if guild.cooldown_seconds > 0:
        last = await generations.last_request_at(conn, guild_id, user_id)
        if last is not None:
            retry_after = max(0.0, last + guild.cooldown_seconds - now)

    # The order the brief fixes: the first rule that fails is the one the member hears about.
    refusal: RefusalReason | None = None
    if member.blocked:
        refusal = RefusalReason.BLOCKED
    elif cap is not None and spent + cost > cap:
        refusal = RefusalReason.OVER_CAP
    elif running >= running_limit:
        refusal = RefusalReason.MEMBER_RUNNING_LIMIT
    elif guild_limit is not None and guild_running >= guild_limit:
        refusal = RefusalReason.GUILD_RUNNING_LIMIT
    elif retry_after > 0:
        refusal = RefusalReason.COOLDOWN

    return MemberBudget(
        guild_id=guild_id,
        user_id=user_id,
        cost=cost,
        cap=cap,
        cap_is_override=member.cap_override,
        period=period,
        period_started_at=started,
        period_resets_at=resets,
        spent=spent,
        remaining=remaining,
        running=running,
        running_limit=running_limit,
        guild_running=guild_running,
        guild_running_limit=guild_limit,
        blocked=member.blocked,
        cooldown_seconds=guild.cooldown_seconds,
        retry_after_seconds=retry_after,
        refusal=refusal,
        checked_at=now,
    )
