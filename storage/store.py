"""The Store: the one object the bot talks to. It owns the connection and the clock, opens a
transaction per operation, and keeps every money movement in the same transaction as the
status change that causes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from storage import audit, budget, generations, ledger, limits, meta, run_times
from storage.clock import Instant, to_epoch
from storage.db import Database, Synchronous
from storage.errors import DuplicateRequest, ReserveRefused, UnknownGeneration
from storage.models import (
    AuditEntry,
    DaySpend,
    Generation,
    GuildSettings,
    HistoryEntry,
    Kind,
    LedgerEntry,
    LedgerKind,
    LedgerTotals,
    MemberBudget,
    MemberSettings,
    Period,
    ReplyMode,
    ProviderTotals,
    Spender,
    Status,
)

Clock = Callable[[], float]


def _count(value: int | None, name: str, *, nullable: bool) -> int | None:
    """A non-negative whole number (or None where None means 'no limit')."""
    if value is None:
        if nullable:
            return None
        raise ValueError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    return value


class Store:
    def __init__(self, db: Database, *, clock: Clock = time.time) -> None:
        self._db = db
        self._clock = clock

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        clock: Clock = time.time,
        synchronous: Synchronous = "FULL",
        busy_timeout_ms: int = 5_000,
        migrate_to: int | None = None,
    ) -> Store:
        """Open or create the database file (and its folder) and bring the schema up to date.
        `migrate_to` stops at an older schema version (for upgrade tests only)."""
        db = await Database.open(path, migrate_to=migrate_to, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)
        return cls(db, clock=clock)

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def path(self) -> str:
        return self._db.path

    async def schema_version(self) -> int:
        async with self._db.read() as _:
            return await self._db.user_version()

    def _now(self, now: Instant | None) -> float:
        return to_epoch(now, default=self._clock())

    # Reserving -------------------------------------------------------------------------

    async def reserve(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        kind: Kind | str,
        prompt: str,
        cost: int,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        dialect: str | None = None,
        parent_id: int | None = None,
        second_parent_id: int | None = None,
        price_text: str | None = None,
        twin_seconds: float = 0.0,
        now: Instant | None = None,
    ) -> Generation:
        """Check the member's limits and record the generation plus its reserve, atomically.
        The generation gets its client request id here, before anything is sent, so a create
        whose answer is lost (or a crash right after it) can always be looked up.
        Raises ReserveRefused (nothing written) when a limit says no, and DuplicateRequest
        (nothing written) when `twin_seconds` > 0 and the member made the very same request,
        not failed, that recently: a double click."""
        kind = Kind(kind)
        if isinstance(cost, bool) or not isinstance(cost, int) or cost <= 0:
            raise ValueError(f"cost must be a positive whole number of tokens, not {cost!r}")
        at = self._now(now)
        options_json = generations.dump_options(options)
        async with self._db.transaction() as conn:
            # BEGIN IMMEDIATE holds the write lock from here: no other reserve can slip in.
            if twin_seconds > 0:
                twin = await generations.recent_twin(
                    conn, guild_id=guild_id, user_id=user_id, kind=kind, parent_id=parent_id, prompt=prompt,
                    options=options_json, since=at - twin_seconds)
                if twin is not None:
                    raise DuplicateRequest(twin)
            current = await budget.evaluate(conn, guild_id, user_id, cost, at)
            if current.refusal is not None:
                raise ReserveRefused(current.refusal, current)
            generation = await generations.insert(
                conn, guild_id=guild_id, channel_id=channel_id, user_id=user_id, kind=kind, prompt=prompt,
                model=model, options=options_json, dialect=dialect, parent_id=parent_id, cost=cost, now=at,
                price_text=price_text, second_parent_id=second_parent_id,
            )
            await ledger.record(conn, generation_id=generation.id, guild_id=guild_id, user_id=user_id,
                                kind=LedgerKind.RESERVE, amount=cost, now=at)
        return generation

    # Transitions (idempotent: True when something changed) -------------------------------

    async def _unchanged(self, conn: Any, generation_id: int) -> bool:
        """False for a no-op on a real row; a wrong id is a bug worth raising."""
        if await generations.get(conn, generation_id) is None:
            raise UnknownGeneration(generation_id)
        return False

    async def mark_submitted(self, generation_id: int, api_id: str, *, now: Instant | None = None) -> bool:
        at = self._now(now)
        async with self._db.transaction() as conn:
            if await generations.mark_submitted(conn, generation_id, api_id, at):
                return True
            return await self._unchanged(conn, generation_id)

    async def mark_in_doubt(self, generation_id: int, *, now: Instant | None = None) -> bool:
        """The create was sent but its answer was lost: the reserve stays, the reconciler looks it up."""
        at = self._now(now)
        async with self._db.transaction() as conn:
            if await generations.mark_in_doubt(conn, generation_id, at):
                return True
            return await self._unchanged(conn, generation_id)

    async def set_provider_credits(self, generation_id: int, credits: int, *, source: str = "logs") -> bool:
        """Record what the provider billed, learned after the fact; a known figure is kept."""
        if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
            raise ValueError(f"credits must be a whole number >= 0, not {credits!r}")
        async with self._db.transaction() as conn:
            if await generations.set_provider_credits(conn, generation_id, credits, source):
                return True
            return await self._unchanged(conn, generation_id)

    async def mark_running(self, generation_id: int, *, now: Instant | None = None) -> bool:
        at = self._now(now)
        async with self._db.transaction() as conn:
            if await generations.mark_running(conn, generation_id, at):
                return True
            return await self._unchanged(conn, generation_id)

    async def complete(
        self, generation_id: int, video_url: str, credits_used: int | None = None, *, now: Instant | None = None
    ) -> bool:
        """Completed + charge (credits_used, or the reserve when the API reports nothing);
        any unused part of the reserve is refunded in the same transaction."""
        at = self._now(now)
        charge = None
        if credits_used is not None and not isinstance(credits_used, bool) and credits_used >= 0:
            charge = int(round(credits_used))
        # A negative or nonsensical figure from the API falls back to the list price.
        async with self._db.transaction() as conn:
            row = await generations.finish_completed(conn, generation_id, video_url, charge, at)
            if row is None:
                return await self._unchanged(conn, generation_id)
            await ledger.settle(conn, row, int(row["tokens_charged"]), at)
            return True

    async def fail(self, generation_id: int, reason: str, *, provider_billed_nothing: bool = False,
                   now: Instant | None = None) -> bool:
        """Failed + full refund; a job already completed (charged) is left alone.
        `provider_billed_nothing`: the provider reported the failure itself (it bills nothing then)."""
        return await self._fail(generation_id, reason, now, rejected=False, billed_nothing=provider_billed_nothing)

    async def reject(self, generation_id: int, reason: str, *, provider_billed_nothing: bool = True,
                     now: Instant | None = None) -> bool:
        """The API never accepted it: failed + full refund + posted (the member saw the error).
        Only a job still `requested` can be rejected."""
        return await self._fail(generation_id, reason, now, rejected=True, billed_nothing=provider_billed_nothing)

    async def _fail(self, generation_id: int, reason: str, now: Instant | None, *, rejected: bool,
                    billed_nothing: bool) -> bool:
        at = self._now(now)
        async with self._db.transaction() as conn:
            row = await generations.finish_failed(conn, generation_id, reason, at, rejected=rejected,
                                                  provider_billed_nothing=billed_nothing)
            if row is None:
                return await self._unchanged(conn, generation_id)
            await ledger.refund_all(conn, row, at)
            return True

    async def set_status_message(self, generation_id: int, channel_id: int, message_id: int) -> bool:
        async with self._db.transaction() as conn:
            if await generations.set_status_message(conn, generation_id, channel_id, message_id):
                return True
            return await self._unchanged(conn, generation_id)

    async def mark_posted(
        self, generation_id: int, channel_id: int | None, message_id: int | None, *,
        attached_bytes: int | None = None, now: Instant | None = None
    ) -> bool:
        """Record the result post exactly once (None ids: undeliverable, given up), with the size of
        the MP4 it carries (None: the link only). A second call, or a call before the job finished,
        returns False."""
        at = self._now(now)
        async with self._db.transaction() as conn:
            if await generations.mark_posted(conn, generation_id, channel_id, message_id, at, attached_bytes):
                return True
            return await self._unchanged(conn, generation_id)

    async def bump_post_attempts(self, generation_id: int) -> int:
        """Count one more posting attempt; returns the new count."""
        async with self._db.transaction() as conn:
            attempts = await generations.bump_post_attempts(conn, generation_id)
        if attempts is None:
            raise UnknownGeneration(generation_id)
        return attempts

    async def mark_undeliverable(self, generation_id: int, reason: str, *, now: Instant | None = None) -> bool:
        """Posting gave up (Discord refused it, or the attempts ran out): moderators see it in
        `/dreamadmin undelivered`; it is not tried again unless one of them asks."""
        at = self._now(now)
        async with self._db.transaction() as conn:
            if await generations.mark_undeliverable(conn, generation_id, reason, at):
                return True
            return await self._unchanged(conn, generation_id)

    async def retry_delivery(self, generation_id: int) -> bool:
        """A moderator asks for an undeliverable clip to be posted again."""
        async with self._db.transaction() as conn:
            if await generations.retry_delivery(conn, generation_id):
                return True
            return await self._unchanged(conn, generation_id)

    async def record_run_time(self, option_key: str, seconds: float, *, now: Instant | None = None) -> None:
        """How long one clip of this option took, for the poll schedule after a restart."""
        if not option_key or not seconds > 0:
            raise ValueError(f"need an option and a positive duration, not {option_key!r}, {seconds!r}")
        at = self._now(now)
        async with self._db.transaction() as conn:
            await run_times.record(conn, option_key, float(seconds), at)

    # Lookups ---------------------------------------------------------------------------

    async def get(self, generation_id: int) -> Generation | None:
        async with self._db.read() as conn:
            return await generations.get(conn, generation_id)

    async def by_message(self, message_id: int) -> Generation | None:
        async with self._db.read() as conn:
            return await generations.by_message(conn, message_id)

    async def jobs_to_poll(self) -> list[Generation]:
        async with self._db.read() as conn:
            return await generations.jobs_to_poll(conn)

    async def jobs_to_post(self) -> list[Generation]:
        async with self._db.read() as conn:
            return await generations.jobs_to_post(conn)

    async def undeliverable(self, guild_id: int | None, *, limit: int = 20) -> list[Generation]:
        async with self._db.read() as conn:
            return await generations.undeliverable(conn, guild_id, limit)

    async def run_times(self) -> list[tuple[str, float]]:
        """Every kept (option key, seconds), oldest first."""
        async with self._db.read() as conn:
            return await run_times.load(conn)

    async def unsent(self, older_than: Instant) -> list[Generation]:
        """Rows to look up in the provider's logs: in doubt, or left `requested` (no provider id)
        by an earlier process before `older_than`."""
        async with self._db.read() as conn:
            return await generations.unsent(conn, to_epoch(older_than))

    async def provider_unknown(self, dialect: str, limit: int = 50) -> list[Generation]:
        """Completed clips whose provider cost is still unknown."""
        async with self._db.read() as conn:
            return await generations.provider_unknown(conn, dialect, limit)

    async def recent(
        self,
        guild_id: int | None,
        user_id: int | None = None,
        channel_id: int | None = None,
        status: Status | str | None = None,
        limit: int = 10,
    ) -> list[Generation]:
        """Newest first; guild_id None = DMs."""
        wanted = None if status is None else Status(status)
        async with self._db.read() as conn:
            return await generations.recent(conn, guild_id, user_id=user_id, channel_id=channel_id,
                                            status=wanted, limit=limit)

    async def queue_position(self, generation_id: int) -> int:
        """How many unfinished jobs (all guilds) were requested before this one."""
        async with self._db.read() as conn:
            return await generations.queue_position(conn, generation_id)

    async def member_budget(
        self, guild_id: int | None, user_id: int, cost: int, now: Instant | None = None
    ) -> MemberBudget:
        at = self._now(now)
        async with self._db.read(snapshot=True) as conn:
            return await budget.evaluate(conn, guild_id, user_id, cost, at)

    # Money reports ---------------------------------------------------------------------

    async def top_spenders(self, guild_id: int, since: Instant | None = None, limit: int = 10) -> list[Spender]:
        start = None if since is None else to_epoch(since)
        async with self._db.read() as conn:
            return await ledger.top_spenders(conn, guild_id, start, limit)

    async def member_history(self, guild_id: int, user_id: int, limit: int = 20) -> list[HistoryEntry]:
        async with self._db.read() as conn:
            return await ledger.member_history(conn, guild_id, user_id, limit)

    async def daily_spend(self, guild_id: int, days: int = 30, now: Instant | None = None) -> list[DaySpend]:
        if days < 1:
            raise ValueError("days must be at least 1")
        at = self._now(now)
        async with self._db.read() as conn:
            return await ledger.daily_spend(conn, guild_id, days, at)

    async def ledger_totals(self, guild_id: int | None = None) -> LedgerTotals:
        """Sums over the whole ledger (guild_id None) or one guild, for audits."""
        async with self._db.read(snapshot=True) as conn:
            return await ledger.totals(conn, guild_id, all_guilds=guild_id is None)

    async def provider_totals(self, guild_id: int | None = None, since: Instant | None = None) -> ProviderTotals:
        """Members' charges beside the provider's bill (guild_id None: every guild)."""
        start = None if since is None else to_epoch(since)
        async with self._db.read(snapshot=True) as conn:
            return await ledger.provider_totals(conn, guild_id, start, all_guilds=guild_id is None)

    async def ledger_entries(self, generation_id: int) -> list[LedgerEntry]:
        query = """
            SELECT id, generation_id, guild_id, user_id, kind, amount, created_at
            FROM ledger WHERE generation_id = ? ORDER BY id
        """
        async with self._db.read() as conn:
            rows = await conn.execute_fetchall(query, (generation_id,))
        return [LedgerEntry(r[0], r[1], r[2], r[3], LedgerKind(r[4]), r[5], r[6]) for r in rows]

    # Settings: reads -------------------------------------------------------------------

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        async with self._db.read(snapshot=True) as conn:
            return await limits.guild_settings(conn, guild_id)

    async def member_settings(self, guild_id: int, user_id: int) -> MemberSettings:
        async with self._db.read() as conn:
            return await limits.member_settings(conn, guild_id, user_id)

    async def member_overrides(self, guild_id: int) -> list[MemberSettings]:
        async with self._db.read() as conn:
            return await limits.member_overrides(conn, guild_id)

    async def is_channel_allowed(self, guild_id: int, channel_id: int) -> bool:
        async with self._db.read() as conn:
            return await limits.is_channel_allowed(conn, guild_id, channel_id)

    async def audit_log(self, guild_id: int, limit: int = 20, *, refusals: bool | None = None) -> list[AuditEntry]:
        """Newest first; `refusals` True = only refused attempts, False = only changes, None = both."""
        async with self._db.read() as conn:
            return await audit.recent(conn, guild_id, limit, refusals=refusals)

    async def record_refusal(
        self, guild_id: int, *, actor_id: int, command: str, reason: str, target_user_id: int | None = None,
        details: dict[str, Any] | None = None, now: Instant | None = None,
    ) -> None:
        """A refused moderator command stays in the audit trail beside the changes, with who tried."""
        at = self._now(now)
        async with self._db.transaction() as conn:
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action=audit.REFUSED, now=at,
                              target_user_id=target_user_id,
                              details={**(details or {}), "command": command, "reason": reason})

    # Settings: moderator changes (each with its audit row, same transaction) ------------

    async def set_guild_cap(
        self, guild_id: int, cap_tokens: int | None, period: Period | str | None = None, *,
        actor_id: int, now: Instant | None = None,
    ) -> None:
        """Guild default cap per period (None = unlimited); period None keeps the current one."""
        cap_tokens = _count(cap_tokens, "cap_tokens", nullable=True)
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.guild_settings(conn, guild_id, with_channels=False)
            chosen = before.cap_period if period is None else Period(period)
            await limits.set_guild_cap(conn, guild_id, cap_tokens, chosen, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_guild_cap", now=at, details={
                "cap_tokens": cap_tokens, "period": chosen,
                "previous": {"cap_tokens": before.cap_tokens, "period": before.cap_period}})

    async def set_member_cap(
        self, guild_id: int, user_id: int, cap_tokens: int | None, period: Period | str | None = None, *,
        actor_id: int, now: Instant | None = None,
    ) -> None:
        """Member override (None = unlimited for this member); period None = the guild's period."""
        cap_tokens = _count(cap_tokens, "cap_tokens", nullable=True)
        chosen = None if period is None else Period(period)
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.member_settings(conn, guild_id, user_id)
            await limits.set_member_cap(conn, guild_id, user_id, cap_tokens, chosen, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_member_cap",
                              target_user_id=user_id, now=at, details={
                                  "cap_tokens": cap_tokens, "period": chosen,
                                  "previous": _member_cap(before)})

    async def clear_member_cap(self, guild_id: int, user_id: int, *, actor_id: int, now: Instant | None = None) -> bool:
        """Back to the guild's cap; False if the member had no override."""
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.member_settings(conn, guild_id, user_id)
            changed = await limits.clear_member_cap(conn, guild_id, user_id, actor_id, at)
            if changed:
                await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="clear_member_cap",
                                  target_user_id=user_id, now=at, details={"previous": _member_cap(before)})
            return changed

    async def set_member_running_limit(
        self, guild_id: int, user_id: int, limit: int | None, *, actor_id: int, now: Instant | None = None
    ) -> None:
        """Member's jobs at once; None = back to the guild default."""
        limit = _count(limit, "limit", nullable=True)
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.member_settings(conn, guild_id, user_id)
            await limits.set_member_running_limit(conn, guild_id, user_id, limit, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_member_running_limit",
                              target_user_id=user_id, now=at,
                              details={"limit": limit, "previous": before.running_limit})

    async def set_guild_running_limits(
        self, guild_id: int, member_limit: int, guild_limit: int | None, *, actor_id: int, now: Instant | None = None
    ) -> None:
        """Default jobs at once per member, and for the whole guild (None = no guild limit)."""
        member_limit = _count(member_limit, "member_limit", nullable=False)  # type: ignore[assignment]
        guild_limit = _count(guild_limit, "guild_limit", nullable=True)
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.guild_settings(conn, guild_id, with_channels=False)
            await limits.set_guild_running_limits(conn, guild_id, member_limit, guild_limit, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_guild_running_limits",
                              now=at, details={
                                  "member_limit": member_limit, "guild_limit": guild_limit,
                                  "previous": {"member_limit": before.member_running_limit,
                                               "guild_limit": before.guild_running_limit}})

    async def set_cooldown(self, guild_id: int, seconds: int, *, actor_id: int, now: Instant | None = None) -> None:
        """Seconds a member waits between requests (0 = none)."""
        seconds = _count(seconds, "seconds", nullable=False)  # type: ignore[assignment]
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.guild_settings(conn, guild_id, with_channels=False)
            await limits.set_cooldown(conn, guild_id, seconds, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_cooldown", now=at,
                              details={"seconds": seconds, "previous": before.cooldown_seconds})

    async def set_reply_mode(self, guild_id: int, mode: ReplyMode | str, *, actor_id: int,
                             now: Instant | None = None) -> None:
        """What a reply to a clip post does in this guild: confirm (ask first), direct, or off."""
        mode = ReplyMode(mode)
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.guild_settings(conn, guild_id, with_channels=False)
            await limits.set_reply_mode(conn, guild_id, mode, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_reply_mode", now=at,
                              details={"mode": str(mode), "previous": str(before.reply_mode)})

    async def set_blocked(
        self, guild_id: int, user_id: int, blocked: bool, *, actor_id: int, now: Instant | None = None
    ) -> None:
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.member_settings(conn, guild_id, user_id)
            await limits.set_blocked(conn, guild_id, user_id, bool(blocked), actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="block" if blocked else "unblock",
                              target_user_id=user_id, now=at, details={"previous": before.blocked})

    async def set_allowed_channels(
        self, guild_id: int, channel_ids: Iterable[int], *, actor_id: int, now: Instant | None = None
    ) -> None:
        """Replace the allowed set (empty = every channel)."""
        wanted = sorted({int(c) for c in channel_ids})
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.allowed_channels(conn, guild_id)
            await limits.set_allowed_channels(conn, guild_id, wanted, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_allowed_channels", now=at,
                              details={"channel_ids": wanted, "previous": sorted(before)})

    async def allow_channel(self, guild_id: int, channel_id: int, *, actor_id: int, now: Instant | None = None) -> bool:
        at = self._now(now)
        async with self._db.transaction() as conn:
            changed = await limits.allow_channel(conn, guild_id, channel_id, actor_id, at)
            if changed:
                await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="allow_channel", now=at,
                                  details={"channel_id": channel_id})
            return changed

    async def disallow_channel(
        self, guild_id: int, channel_id: int, *, actor_id: int, now: Instant | None = None
    ) -> bool:
        """Remove one channel; removing the last one opens every channel again."""
        at = self._now(now)
        async with self._db.transaction() as conn:
            changed = await limits.disallow_channel(conn, guild_id, channel_id, actor_id, at)
            if changed:
                await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="disallow_channel", now=at,
                                  details={"channel_id": channel_id})
            return changed

    async def set_moderator_role(
        self, guild_id: int, role_id: int | None, *, actor_id: int, now: Instant | None = None
    ) -> None:
        at = self._now(now)
        async with self._db.transaction() as conn:
            before = await limits.guild_settings(conn, guild_id, with_channels=False)
            await limits.set_moderator_role(conn, guild_id, role_id, actor_id, at)
            await audit.write(conn, guild_id=guild_id, actor_id=actor_id, action="set_moderator_role", now=at,
                              details={"role_id": role_id, "previous": before.moderator_role_id})

    # Bot-wide facts --------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async with self._db.read() as conn:
            return await meta.get_value(conn, key)

    async def set_meta(self, key: str, value: str, *, now: Instant | None = None) -> None:
        at = self._now(now)
        async with self._db.transaction() as conn:
            await meta.set_value(conn, key, value, at)


def _member_cap(settings: MemberSettings) -> dict[str, Any]:
    if not settings.cap_override:
        return {"override": False}
    return {"override": True, "cap_tokens": settings.cap_tokens, "period": settings.cap_period}
