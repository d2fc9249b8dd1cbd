"""Reserve, charge and refund arithmetic, idempotent transitions, and the audit invariant."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from storage import LedgerKind, ReserveRefused, Status, Store, UnknownGeneration

COST = 500_000
T0 = datetime(2024, 6, 5, 12, 0, tzinfo=UTC).timestamp()  # a Wednesday


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path):
    async with await Store.open(tmp_path / "db" / "dreambot.sqlite3", clock=Clock()) as store:
        yield store


async def reserve(store: Store, *, guild_id: int | None = 1, user_id: int = 10, cost: int = COST, **kw):
    return await store.reserve(guild_id=guild_id, channel_id=kw.pop("channel_id", 100), user_id=user_id,
                               kind=kw.pop("kind", "dream"), prompt=kw.pop("prompt", "a cat"), cost=cost, **kw)


async def amounts(store: Store, generation_id: int) -> dict[str, int]:
    return {e.kind.value: e.amount for e in await store.ledger_entries(generation_id)}


async def test_reserve_records_generation_and_reserve_row(store):
    g = await reserve(store, model="ray-2", options={"aspect_ratio": "16:9", "loop": True}, dialect="luma")
    assert g.status is Status.REQUESTED and g.api_id is None
    assert g.tokens_reserved == COST and g.tokens_charged is None
    assert g.options == {"aspect_ratio": "16:9", "loop": True}
    assert g.requested_at == T0 and g.post_attempts == 0
    assert await amounts(store, g.id) == {"reserve": COST}
    assert (await store.get(g.id)) == g


async def test_charge_defaults_to_list_price(store):
    g = await reserve(store)
    await store.mark_submitted(g.id, "job-1")
    assert await store.complete(g.id, "https://v/1.mp4", None)
    assert await amounts(store, g.id) == {"reserve": COST, "charge": COST}
    done = await store.get(g.id)
    assert done.status is Status.COMPLETED and done.tokens_charged == COST and done.video_url == "https://v/1.mp4"


async def test_credits_used_lower_than_reserve_refunds_the_rest(store):
    g = await reserve(store)
    await store.mark_submitted(g.id, "job-1")
    assert await store.complete(g.id, "https://v/1.mp4", 320_000)
    assert await amounts(store, g.id) == {"reserve": COST, "charge": 320_000, "refund": 180_000}
    budget = await store.member_budget(1, 10, COST)
    assert budget.spent == 320_000
    totals = await store.ledger_totals()
    assert (totals.reserved, totals.charged, totals.refunded, totals.open_reserved) == (COST, 320_000, 180_000, 0)
    assert totals.balanced


async def test_credits_used_zero_refunds_everything(store):
    g = await reserve(store)
    assert await store.complete(g.id, "https://v/1.mp4", 0)
    assert await amounts(store, g.id) == {"reserve": COST, "refund": COST}
    assert (await store.get(g.id)).tokens_charged == 0


async def test_credits_used_above_reserve_is_charged_as_overage(store):
    g = await reserve(store)
    assert await store.complete(g.id, "https://v/1.mp4", 600_000)
    assert await amounts(store, g.id) == {"reserve": COST, "charge": 600_000}
    totals = await store.ledger_totals()
    assert totals.overage == 100_000 and totals.balanced
    assert (await store.member_budget(1, 10, COST)).spent == 600_000


async def test_negative_credits_used_falls_back_to_list_price(store):
    g = await reserve(store)
    assert await store.complete(g.id, "https://v/1.mp4", -5)
    assert await amounts(store, g.id) == {"reserve": COST, "charge": COST}


async def test_fail_refunds_in_full(store):
    g = await reserve(store)
    await store.mark_submitted(g.id, "job-1")
    await store.mark_running(g.id)
    assert await store.fail(g.id, "moderation")
    assert await amounts(store, g.id) == {"reserve": COST, "refund": COST}
    failed = await store.get(g.id)
    assert failed.status is Status.FAILED and failed.failure_reason == "moderation" and failed.posted_at is None
    assert (await store.member_budget(1, 10, COST)).spent == 0


async def test_idempotent_transitions_leave_ledger_unchanged(store):
    a, b, c = await reserve(store), await reserve(store), await reserve(store, user_id=11)
    assert await store.mark_submitted(a.id, "job-a") and not await store.mark_submitted(a.id, "job-a")
    assert await store.mark_running(a.id) and not await store.mark_running(a.id)
    assert await store.complete(a.id, "https://v/a", 400_000)
    assert await store.fail(b.id, "boom")
    assert await store.reject(c.id, "bad request")
    before = [await store.ledger_entries(i) for i in (a.id, b.id, c.id)]
    rows_before = [await store.get(i) for i in (a.id, b.id, c.id)]
    assert not await store.complete(a.id, "https://v/other", 1)
    assert not await store.fail(b.id, "boom again")
    assert not await store.reject(c.id, "again")
    assert [await store.ledger_entries(i) for i in (a.id, b.id, c.id)] == before
    assert [await store.get(i) for i in (a.id, b.id, c.id)] == rows_before


async def test_complete_then_fail_does_not_refund(store):
    g = await reserve(store)
    await store.mark_submitted(g.id, "job")
    assert await store.complete(g.id, "https://v/1", None)
    assert not await store.fail(g.id, "late failure report")
    assert not await store.reject(g.id, "late")
    assert await amounts(store, g.id) == {"reserve": COST, "charge": COST}
    assert (await store.get(g.id)).status is Status.COMPLETED


async def test_fail_then_complete_does_not_charge(store):
    g = await reserve(store)
    await store.mark_submitted(g.id, "job")
    assert await store.fail(g.id, "timeout")
    assert not await store.complete(g.id, "https://v/1", None)
    assert await amounts(store, g.id) == {"reserve": COST, "refund": COST}


async def test_finished_job_never_goes_back_to_running(store):
    g = await reserve(store)
    await store.mark_submitted(g.id, "job")
    await store.complete(g.id, "https://v/1", None)
    assert not await store.mark_running(g.id)
    assert not await store.mark_submitted(g.id, "job-2")
    assert (await store.get(g.id)).status is Status.COMPLETED


async def test_reject_only_applies_before_the_api_accepted(store):
    g = await reserve(store)
    assert await store.reject(g.id, "AuthenticationError: bad key")
    row = await store.get(g.id)
    assert row.status is Status.FAILED and row.posted_at == T0 and row.failure_reason.startswith("Auth")
    assert await store.jobs_to_post() == []  # the member already saw the error
    submitted = await reserve(store)
    await store.mark_submitted(submitted.id, "job")
    assert not await store.reject(submitted.id, "too late")  # accepted jobs are failed, never rejected
    assert (await store.get(submitted.id)).status is Status.SUBMITTED
    assert not await store.mark_submitted(g.id, "late-accept")  # a rejected job stays refunded


async def test_mark_posted_exactly_once(store):
    g = await reserve(store)
    assert not await store.mark_posted(g.id, 100, 555)  # nothing to post yet
    await store.mark_submitted(g.id, "job")
    await store.complete(g.id, "https://v/1", None)
    assert [j.id for j in await store.jobs_to_post()] == [g.id]
    assert await store.bump_post_attempts(g.id) == 1
    assert await store.mark_posted(g.id, 100, 555)
    assert not await store.mark_posted(g.id, 100, 556)
    row = await store.get(g.id)
    assert (row.result_channel_id, row.result_message_id, row.post_attempts) == (100, 555, 1)
    assert await store.jobs_to_post() == []
    assert (await store.by_message(555)).id == g.id
    assert await store.ledger_entries(g.id) == await store.ledger_entries(g.id)


async def test_undeliverable_post_is_marked_with_no_message(store):
    g = await reserve(store)
    await store.fail(g.id, "x")
    assert await store.mark_posted(g.id, None, None)
    assert (await store.get(g.id)).posted_at is not None


async def test_status_message_lookup_and_idempotence(store):
    g = await reserve(store)
    assert await store.set_status_message(g.id, 100, 777)
    assert not await store.set_status_message(g.id, 100, 777)
    assert (await store.by_message(777)).id == g.id
    assert await store.by_message(778) is None


async def test_unknown_generation_is_an_error_not_a_noop(store):
    with pytest.raises(UnknownGeneration):
        await store.complete(999, "https://v", None)
    with pytest.raises(UnknownGeneration):
        await store.bump_post_attempts(999)
    assert await store.get(999) is None


async def test_schema_enforces_once_only_and_bounds(store):
    g = await reserve(store)
    await store.fail(g.id, "x")
    conn = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError):  # UNIQUE(generation_id, kind)
            conn.execute("INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at) "
                         "VALUES (?, 1, 10, 'refund', 1, 0)", (g.id,))
        with pytest.raises(sqlite3.IntegrityError):  # charge after a full refund
            conn.execute("INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at) "
                         "VALUES (?, 1, 10, 'charge', 1, 0)", (g.id,))
        with pytest.raises(sqlite3.IntegrityError):  # append-only
            conn.execute("UPDATE ledger SET amount = 1")
        with pytest.raises(sqlite3.IntegrityError):  # finished stays finished
            conn.execute("UPDATE generations SET status = 'running' WHERE id = ?", (g.id,))
        with pytest.raises(sqlite3.IntegrityError):  # amount > 0
            conn.execute("INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at) "
                         "VALUES (?, 1, 10, 'reserve', 0, 0)", (g.id,))
    finally:
        conn.close()


async def test_invariant_holds_over_a_mixed_history(store):
    for guild in (1, 2):
        await store.set_member_running_limit(guild, 10, 50, actor_id=1)
    outcomes = []
    for i in range(12):
        outcomes.append(await reserve(store, user_id=10, guild_id=1 + i % 2))
    for i, g in enumerate(outcomes):
        match i % 4:
            case 0:
                await store.mark_submitted(g.id, f"job-{i}")
                await store.complete(g.id, "https://v", 100_000 * (i % 5) or None)
            case 1:
                await store.fail(g.id, "x")
            case 2:
                await store.reject(g.id, "y")
            case 3:
                await store.mark_submitted(g.id, f"job-{i}")  # still open
    totals = await store.ledger_totals()
    # Σreserve = Σcharge + Σrefund + Σ(reserve of still-open generations), charges ≤ reserves here.
    assert totals.overage == 0
    assert totals.reserved == totals.charged + totals.refunded + totals.open_reserved
    assert totals.open_generations == 3 and totals.generations == 12
    per_guild = [await store.ledger_totals(g) for g in (1, 2)]
    assert sum(t.reserved for t in per_guild) == totals.reserved
    assert all(t.balanced for t in per_guild)
    # A member's spend = Σcharge + Σ open reserves = Σreserve − Σrefund (no overage).
    spent = sum([(await store.member_budget(g, 10, COST, now=T0)).spent for g in (1, 2)])
    assert spent == totals.reserved - totals.refunded == totals.charged + totals.open_reserved


async def test_sql_injection_in_prompt_is_stored_verbatim(store):
    nasty = "'); DROP TABLE generations; -- \" OR 1=1; ledger' -- ☃ \x00 end"
    g = await reserve(store, prompt=nasty, options={"note": "'; DELETE FROM ledger; --"})
    row = await store.get(g.id)
    assert row.prompt == nasty and row.options == {"note": "'; DELETE FROM ledger; --"}
    assert len(await store.ledger_entries(g.id)) == 1
    assert [r.id for r in await store.recent(1, user_id=10)] == [g.id]


async def test_lookups_for_the_poller_and_cogs(store):
    a = await reserve(store, user_id=10, channel_id=100)
    b = await reserve(store, user_id=11, channel_id=101)
    c = await reserve(store, user_id=12, channel_id=100, guild_id=2)
    await store.mark_submitted(a.id, "job-a")
    await store.mark_submitted(b.id, "job-b")
    await store.mark_running(b.id)
    assert [g.id for g in await store.jobs_to_poll()] == [a.id, b.id]
    assert [g.id for g in await store.unsent(older_than=T0 + 1)] == [c.id]
    assert await store.unsent(older_than=T0) == []
    await store.mark_in_doubt(c.id)  # in doubt: looked up however young it is
    assert [g.id for g in await store.unsent(older_than=T0)] == [c.id]
    assert [await store.queue_position(g.id) for g in (a, b, c)] == [0, 1, 2]
    await store.complete(a.id, "https://v/a", None)
    assert await store.queue_position(c.id) == 1
    assert [g.id for g in await store.recent(1)] == [b.id, a.id]
    assert [g.id for g in await store.recent(1, channel_id=100)] == [a.id]
    assert [g.id for g in await store.recent(1, status="completed")] == [a.id]
    assert [g.id for g in await store.recent(2, user_id=12)] == [c.id]
    assert await store.recent(1, user_id=12) == []


async def test_reports(store):
    await store.set_member_running_limit(1, 10, 10, actor_id=1)
    day = 86_400
    a = await reserve(store, user_id=10, now=T0 - 2 * day)
    await store.complete(a.id, "https://v", 300_000, now=T0 - 2 * day)
    b = await reserve(store, user_id=10, now=T0)
    await store.fail(b.id, "x")
    c = await reserve(store, user_id=11, now=T0)
    await store.complete(c.id, "https://v", None)
    d = await reserve(store, user_id=10, now=T0)  # still open: counts in full
    top = await store.top_spenders(1)
    assert [(s.user_id, s.spent, s.clips, s.completed, s.failed, s.refunded) for s in top] == [
        (10, 800_000, 3, 1, 1, 700_000), (11, 500_000, 1, 1, 0, 0)]
    recent_top = await store.top_spenders(1, since=T0 - day)
    assert [(s.user_id, s.spent) for s in recent_top] == [(10, 500_000), (11, 500_000)]
    history = await store.member_history(1, 10)
    assert [(h.generation.id, h.spent) for h in history] == [(d.id, COST), (b.id, 0), (a.id, 300_000)]
    days = await store.daily_spend(1, days=3, now=T0)
    assert [(d.day.isoformat(), d.spent, d.clips) for d in days] == [
        ("2024-06-03", 300_000, 1), ("2024-06-04", 0, 0), ("2024-06-05", 1_000_000, 3)]


async def test_refusal_writes_nothing(store):
    await store.set_guild_cap(1, 0, "day", actor_id=1)
    with pytest.raises(ReserveRefused):
        await reserve(store)
    assert await store.recent(1) == [] and (await store.ledger_totals()).reserved == 0


async def test_dm_generations_have_no_guild(store):
    g = await reserve(store, guild_id=None)
    assert g.guild_id is None
    assert [r.id for r in await store.recent(None, user_id=10)] == [g.id]
    budget = await store.member_budget(None, 10, COST)
    assert budget.running == 1 and budget.cap is None and budget.spent == COST


async def test_kind_and_cost_are_validated(store):
    with pytest.raises(ValueError):
        await reserve(store, kind="explode")
    with pytest.raises(ValueError):
        await reserve(store, cost=0)
    await store.set_member_running_limit(1, 10, 5, actor_id=1)
    parent = await reserve(store)
    child = await reserve(store, kind="extend_forward", parent_id=parent.id)
    assert child.parent_id == parent.id
    with pytest.raises(sqlite3.IntegrityError):
        await reserve(store, kind="reroll", parent_id=12345)  # FK enforced
    assert LedgerKind.RESERVE == "reserve"
