"""Caps per UTC period, running limits, cooldown, blocks, channels, isolation and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage import Period, RefusalReason, ReserveRefused, Store

COST = 500_000


def at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path):
    async with await Store.open(tmp_path / "dreambot.sqlite3", clock=Clock(at(2024, 6, 5, 12))) as store:
        yield store


async def reserve(store: Store, *, guild_id: int = 1, user_id: int = 10, now: float | None = None, **kw):
    return await store.reserve(guild_id=guild_id, channel_id=kw.pop("channel_id", 100), user_id=user_id,
                               kind="dream", prompt="p", cost=kw.pop("cost", COST), now=now, **kw)


async def spend_and_finish(store: Store, when: float, count: int = 1, **kw) -> None:
    for _ in range(count):
        g = await reserve(store, now=when, **kw)
        await store.complete(g.id, "https://v", None, now=when)


async def refused(store: Store, **kw) -> ReserveRefused:
    with pytest.raises(ReserveRefused) as info:
        await reserve(store, **kw)
    return info.value


# Periods ------------------------------------------------------------------------------


async def test_week_resets_monday_midnight_utc(store):
    await store.set_guild_cap(1, 2 * COST, "week", actor_id=1)
    sunday_late = at(2024, 6, 9, 23, 59, 59)  # Sunday
    await spend_and_finish(store, at(2024, 6, 3, 0, 0, 0))  # Monday 00:00, same week
    await spend_and_finish(store, sunday_late)
    error = await refused(store, now=sunday_late)
    assert error.reason is RefusalReason.OVER_CAP
    assert (error.cap, error.period, error.spent, error.remaining) == (2 * COST, Period.WEEK, 2 * COST, 0)
    assert error.retry_after_seconds == pytest.approx(1.0)
    monday = at(2024, 6, 10, 0, 0, 0)
    budget = await store.member_budget(1, 10, COST, now=monday)
    assert (budget.spent, budget.remaining, budget.period_started_at) == (0, 2 * COST, monday)
    await reserve(store, now=monday)


async def test_previous_week_is_not_counted(store):
    await store.set_guild_cap(1, COST, "week", actor_id=1)
    await spend_and_finish(store, at(2024, 6, 2, 23, 59, 59))  # Sunday of the week before
    await reserve(store, now=at(2024, 6, 3))  # Monday: a fresh week


async def test_day_boundary(store):
    await store.set_guild_cap(1, COST, "day", actor_id=1)
    await spend_and_finish(store, at(2024, 6, 5, 23, 59, 59))
    error = await refused(store, now=at(2024, 6, 5, 23, 59, 59))
    assert error.retry_after_seconds == pytest.approx(1.0)
    await reserve(store, now=at(2024, 6, 6, 0, 0, 0))


async def test_month_rollover_including_year_end(store):
    await store.set_guild_cap(1, COST, "month", actor_id=1)
    await spend_and_finish(store, at(2024, 1, 31, 23, 59, 59))
    assert (await refused(store, now=at(2024, 1, 31, 23, 59, 59))).period is Period.MONTH
    await spend_and_finish(store, at(2024, 2, 1))  # new month, and it uses that month's cap
    assert (await refused(store, now=at(2024, 2, 29, 23, 59))).spent == COST  # leap day, same month
    await spend_and_finish(store, at(2024, 12, 31, 23, 59, 59))
    error = await refused(store, now=at(2024, 12, 31, 23, 59, 59))
    assert error.retry_after_seconds == pytest.approx(1.0)  # 2025-01-01 00:00
    await reserve(store, now=at(2025, 1, 1))


async def test_lifetime_cap_never_resets(store):
    await store.set_guild_cap(1, COST, "lifetime", actor_id=1)
    await spend_and_finish(store, at(2020, 1, 1))
    error = await refused(store, now=at(2030, 1, 1))
    assert (error.period, error.spent, error.retry_after_seconds) == (Period.LIFETIME, COST, None)
    budget = await store.member_budget(1, 10, COST, now=at(2030, 1, 1))
    assert budget.period_started_at is None and budget.period_resets_at is None


async def test_refunds_give_budget_back_and_open_jobs_count(store):
    await store.set_guild_cap(1, 2 * COST, "day", actor_id=1)
    first = await reserve(store)
    second = await reserve(store)  # both open: the full cap is spoken for
    assert (await store.member_budget(1, 10, COST)).remaining == 0
    await store.fail(first.id, "x")
    await store.complete(second.id, "https://v", 100_000)
    budget = await store.member_budget(1, 10, COST)
    assert (budget.spent, budget.remaining, budget.can_afford) == (100_000, 900_000, True)


async def test_member_cap_override_and_clear(store):
    await store.set_guild_cap(1, COST, "day", actor_id=1)
    await store.set_member_cap(1, 10, 3 * COST, "week", actor_id=2)
    budget = await store.member_budget(1, 10, COST)
    assert (budget.cap, budget.period, budget.cap_is_override) == (3 * COST, Period.WEEK, True)
    await store.set_member_cap(1, 11, None, actor_id=2)  # unlimited for this member
    assert (await store.member_budget(1, 11, COST)).cap is None
    await store.set_member_cap(1, 12, 7, actor_id=2)  # period inherits the guild's
    assert (await store.member_budget(1, 12, COST)).period is Period.DAY
    assert await store.clear_member_cap(1, 10, actor_id=2)
    assert not await store.clear_member_cap(1, 10, actor_id=2)
    budget = await store.member_budget(1, 10, COST)
    assert (budget.cap, budget.period, budget.cap_is_override) == (COST, Period.DAY, False)


# Refusals and their numbers ---------------------------------------------------------------


async def test_blocked_member_is_refused_first(store):
    await store.set_guild_cap(1, 0, "day", actor_id=1)
    await store.set_blocked(1, 10, True, actor_id=1)
    assert (await refused(store)).reason is RefusalReason.BLOCKED
    assert (await store.member_budget(1, 10, COST)).blocked
    await store.set_blocked(1, 10, False, actor_id=1)
    assert (await refused(store)).reason is RefusalReason.OVER_CAP


async def test_member_running_limit(store):
    await reserve(store)
    await reserve(store)
    error = await refused(store)
    assert (error.reason, error.running, error.limit) == (RefusalReason.MEMBER_RUNNING_LIMIT, 2, 2)
    await store.set_member_running_limit(1, 10, 3, actor_id=1)
    third = await reserve(store)
    await store.set_member_running_limit(1, 10, None, actor_id=1)  # back to the guild default (2)
    await store.fail(third.id, "x")
    assert (await refused(store)).limit == 2
    await store.set_guild_running_limits(1, 5, None, actor_id=1)
    await reserve(store)


async def test_guild_running_limit(store):
    await store.set_guild_running_limits(1, 2, 3, actor_id=1)
    await reserve(store, user_id=10)
    await reserve(store, user_id=11)
    g = await reserve(store, user_id=12)
    error = await refused(store, user_id=13)
    assert (error.reason, error.running, error.limit) == (RefusalReason.GUILD_RUNNING_LIMIT, 3, 3)
    await store.mark_submitted(g.id, "job")
    await store.complete(g.id, "https://v", None)
    await reserve(store, user_id=13)
    budget = await store.member_budget(1, 14, COST)
    assert (budget.guild_running, budget.guild_running_limit, budget.refusal) == (
        3, 3, RefusalReason.GUILD_RUNNING_LIMIT)


async def test_cooldown(store):
    await store.set_cooldown(1, 60, actor_id=1)
    t = at(2024, 6, 5, 12)
    g = await reserve(store, now=t)
    error = await refused(store, now=t + 15)
    assert error.reason is RefusalReason.COOLDOWN
    assert error.retry_after_seconds == pytest.approx(45.0)
    assert (await store.member_budget(1, 10, COST, now=t + 15)).retry_after_seconds == pytest.approx(45.0)
    await reserve(store, user_id=11, now=t + 15)  # per member
    await store.mark_submitted(g.id, "job", now=t + 1)
    await store.fail(g.id, "x", now=t + 20)
    assert (await refused(store, now=t + 30)).reason is RefusalReason.COOLDOWN  # a failed job still counts
    await reserve(store, now=t + 60)


async def test_rejected_request_does_not_start_a_cooldown(store):
    await store.set_cooldown(1, 60, actor_id=1)
    g = await reserve(store)
    await store.reject(g.id, "API refused")
    await reserve(store)


# Channels, roles, isolation, audit ---------------------------------------------------------


async def test_allowed_channels(store):
    assert await store.is_channel_allowed(1, 100)
    assert await store.allow_channel(1, 200, actor_id=5)
    assert not await store.allow_channel(1, 200, actor_id=5)
    assert not await store.is_channel_allowed(1, 100) and await store.is_channel_allowed(1, 200)
    await store.set_allowed_channels(1, [300, 301, 300], actor_id=5)
    assert (await store.guild_settings(1)).allowed_channel_ids == frozenset({300, 301})
    assert await store.disallow_channel(1, 300, actor_id=5)
    assert not await store.disallow_channel(1, 300, actor_id=5)
    assert await store.disallow_channel(1, 301, actor_id=5)
    assert await store.is_channel_allowed(1, 100)  # empty again = everywhere
    await store.set_allowed_channels(1, [], actor_id=5)
    assert await store.is_channel_allowed(1, 999)


async def test_settings_record_who_and_when(store):
    settings = await store.guild_settings(1)
    assert (settings.cap_tokens, settings.cap_period, settings.member_running_limit) == (None, Period.DAY, 2)
    assert settings.cap_set_by is None and settings.moderator_role_id is None
    await store.set_moderator_role(1, 4242, actor_id=7, now=at(2024, 1, 2))
    await store.set_cooldown(1, 30, actor_id=8, now=at(2024, 1, 3))
    await store.set_guild_cap(1, 10 * COST, actor_id=9, now=at(2024, 1, 4))
    settings = await store.guild_settings(1)
    assert (settings.moderator_role_id, settings.moderator_role_set_by, settings.moderator_role_set_at) == (
        4242, 7, at(2024, 1, 2))
    assert (settings.cooldown_seconds, settings.cooldown_set_by) == (30, 8)
    assert (settings.cap_tokens, settings.cap_period, settings.cap_set_by) == (10 * COST, Period.DAY, 9)
    await store.set_blocked(1, 10, True, actor_id=3, now=at(2024, 1, 5))
    member = await store.member_settings(1, 10)
    assert (member.blocked, member.blocked_set_by, member.blocked_set_at) == (True, 3, at(2024, 1, 5))
    assert [m.user_id for m in await store.member_overrides(1)] == [10]


async def test_audit_rows_for_every_change(store):
    await store.set_guild_cap(1, COST, "week", actor_id=1)
    await store.set_member_cap(1, 10, 2 * COST, actor_id=1)
    await store.clear_member_cap(1, 10, actor_id=1)
    await store.set_member_running_limit(1, 10, 4, actor_id=2)
    await store.set_guild_running_limits(1, 3, 10, actor_id=2)
    await store.set_cooldown(1, 30, actor_id=2)
    await store.set_blocked(1, 11, True, actor_id=3)
    await store.set_allowed_channels(1, [5, 6], actor_id=3)
    await store.allow_channel(1, 7, actor_id=3)
    await store.disallow_channel(1, 5, actor_id=3)
    await store.set_moderator_role(1, 99, actor_id=4)
    log = await store.audit_log(1, limit=50)
    assert [e.action for e in reversed(log)] == [
        "set_guild_cap", "set_member_cap", "clear_member_cap", "set_member_running_limit",
        "set_guild_running_limits", "set_cooldown", "block", "set_allowed_channels", "allow_channel",
        "disallow_channel", "set_moderator_role"]
    first = log[-1]
    assert first.details == {"cap_tokens": COST, "period": "week", "previous": {"cap_tokens": None, "period": "day"}}
    assert log[4].target_user_id == 11 and log[4].actor_id == 3
    assert len(await store.audit_log(1, limit=3)) == 3
    assert await store.audit_log(2) == []


async def test_failed_change_writes_no_audit_row(store):
    with pytest.raises(ValueError):
        await store.set_cooldown(1, -5, actor_id=1)
    with pytest.raises(ValueError):
        await store.set_guild_cap(1, 100, "fortnight", actor_id=1)
    assert await store.audit_log(1) == []


async def test_guilds_are_isolated(store):
    await store.set_guild_cap(1, 0, "day", actor_id=1)
    await store.set_blocked(1, 20, True, actor_id=1)
    await store.set_cooldown(1, 600, actor_id=1)
    await store.allow_channel(1, 100, actor_id=1)
    await store.set_guild_running_limits(1, 1, 1, actor_id=1)
    # The same member, in guild 2: none of guild 1's rules apply.
    await reserve(store, guild_id=2, user_id=20)
    await reserve(store, guild_id=2, user_id=20)
    assert await store.is_channel_allowed(2, 555)
    budget = await store.member_budget(2, 20, COST)
    assert (budget.cap, budget.blocked, budget.cooldown_seconds, budget.spent, budget.running) == (
        None, False, 0, 2 * COST, 2)
    assert (await store.member_budget(1, 20, COST)).spent == 0
    assert (await store.guild_settings(2)).allowed_channel_ids == frozenset()
    assert (await store.ledger_totals(1)).reserved == 0 and (await store.ledger_totals(2)).reserved == 2 * COST
    assert await store.top_spenders(1) == []


async def test_budget_matches_what_reserve_decides(store):
    await store.set_guild_cap(1, COST, "day", actor_id=1)
    budget = await store.member_budget(1, 10, COST)
    assert budget.allowed and budget.can_afford and budget.remaining == COST
    await reserve(store)
    budget = await store.member_budget(1, 10, COST)
    assert budget.refusal is RefusalReason.OVER_CAP and not budget.can_afford
    assert (await refused(store)).reason is budget.refusal
