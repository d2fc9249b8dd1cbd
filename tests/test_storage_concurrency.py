"""Atomic reserves under bursts, on one Store and across two Stores (two processes' worth)."""

from __future__ import annotations

import asyncio

import pytest

from storage import LATEST_VERSION, RefusalReason, ReserveRefused, Store

COST = 500_000


async def try_reserve(store: Store, user_id: int = 10, guild_id: int = 1):
    try:
        return await store.reserve(guild_id=guild_id, channel_id=100, user_id=user_id, kind="dream",
                                   prompt="burst", cost=COST)
    except ReserveRefused as error:
        return error


def split(results):
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ReserveRefused)]
    assert len(made) + len(refused) == len(results), [r for r in results if isinstance(r, Exception)
                                                      and not isinstance(r, ReserveRefused)]
    return made, refused


async def afford_three(store: Store) -> None:
    await store.set_guild_cap(1, 3 * COST, "day", actor_id=1)
    await store.set_member_running_limit(1, 10, 100, actor_id=1)


async def test_fifty_concurrent_reserves_one_store(tmp_path):
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        await afford_three(store)
        made, refused = split(await asyncio.gather(*(try_reserve(store) for _ in range(50))))
        assert len(made) == 3 and len(refused) == 47
        assert all(r.reason is RefusalReason.OVER_CAP for r in refused)
        assert {(r.spent, r.remaining) for r in refused} == {(3 * COST, 0)}
        totals = await store.ledger_totals()
        assert totals.reserved == 3 * COST and totals.generations == 3


async def test_fifty_concurrent_reserves_across_two_stores(tmp_path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as first, await Store.open(path) as second:
        await afford_three(first)
        tasks = [try_reserve(first if i % 2 else second) for i in range(50)]
        made, refused = split(await asyncio.gather(*tasks))
        assert len(made) == 3 and len(refused) == 47
        assert len({g.id for g in made}) == 3
        assert (await second.ledger_totals()).reserved == 3 * COST
        assert (await first.member_budget(1, 10, COST)).spent == 3 * COST


async def test_running_limit_holds_under_a_burst_across_stores(tmp_path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as first, await Store.open(path) as second:
        await first.set_guild_running_limits(1, 2, 5, actor_id=1)
        tasks = [try_reserve(s, user_id=u) for u in range(10, 20) for s in (first, second) for _ in range(3)]
        made, refused = split(await asyncio.gather(*tasks))
        assert len(made) == 5  # the guild limit
        assert all(r.reason in (RefusalReason.GUILD_RUNNING_LIMIT, RefusalReason.MEMBER_RUNNING_LIMIT)
                   for r in refused)
        per_member = {}
        for g in made:
            per_member[g.user_id] = per_member.get(g.user_id, 0) + 1
        assert max(per_member.values()) <= 2


async def test_complete_and_fail_racing_settle_once(tmp_path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as first, await Store.open(path) as second:
        await first.set_member_running_limit(1, 10, 100, actor_id=1)
        jobs = [await first.reserve(guild_id=1, channel_id=1, user_id=10, kind="dream", prompt="p", cost=COST)
                for _ in range(10)]
        for g in jobs:
            await first.mark_submitted(g.id, f"job-{g.id}")
        calls = []
        for g in jobs:
            calls += [first.complete(g.id, "https://v", 200_000), second.fail(g.id, "timeout"),
                      second.complete(g.id, "https://v", 200_000), first.fail(g.id, "timeout")]
        results = await asyncio.gather(*calls)
        assert sum(results) == 10  # exactly one transition per job won
        totals = await first.ledger_totals()
        assert totals.open_reserved == 0 and totals.balanced
        for g in jobs:
            kinds = sorted(e.kind for e in await first.ledger_entries(g.id))
            assert kinds in (["charge", "refund", "reserve"], ["refund", "reserve"])


async def test_cancelled_reserves_leave_consistent_books(tmp_path):
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        await store.set_member_running_limit(1, 10, 1000, actor_id=1)
        tasks = [asyncio.create_task(try_reserve(store)) for _ in range(40)]
        await asyncio.sleep(0.005)
        for task in tasks[::2]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        totals = await store.ledger_totals()
        generations = await store.recent(1, limit=1000)
        # Every generation that exists has its reserve, and nothing else exists.
        assert totals.generations == len(generations) and totals.reserved == len(generations) * COST
        await try_reserve(store)  # the connection is still usable


@pytest.mark.parametrize("stores", [1, 2])
async def test_concurrent_open_migrates_once(tmp_path, stores):
    path = tmp_path / "fresh.sqlite3"
    opened = await asyncio.gather(*(Store.open(path) for _ in range(stores + 1)))
    try:
        assert {await s.schema_version() for s in opened} == {LATEST_VERSION}
    finally:
        for s in opened:
            await s.close()


async def test_a_cancel_while_begin_is_awaited_leaves_no_open_transaction(tmp_path):
    """The cancel lands while BEGIN IMMEDIATE is on aiosqlite's thread: it still runs there, so the
    store must roll it back, or every later write fails with 'cannot start a transaction within a
    transaction'."""
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        for _ in range(20):
            task = asyncio.create_task(try_reserve(store))
            await asyncio.sleep(0)  # the task is now awaiting its BEGIN
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            made = await try_reserve(store, user_id=11)
            assert not isinstance(made, BaseException)
            await store.fail(made.id, "test")
        totals = await store.ledger_totals()
        assert totals.open_reserved == 0 and totals.balanced
