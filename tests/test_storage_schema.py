"""Migrations (from empty and from every earlier version), durability after a hard kill,
and that the hot queries use indexes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from storage import LATEST_VERSION, Status, Store, StoreError

COST = 500_000
REPO = Path(__file__).resolve().parents[1]


def schema(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        return [(t, n, re.sub(r"\s+", " ", s or "")) for t, n, s in rows]


async def test_fresh_file_gets_latest_schema_and_pragmas(tmp_path):
    path = tmp_path / "deep" / "er" / "dreambot.sqlite3"
    async with await Store.open(path) as store:
        assert await store.schema_version() == LATEST_VERSION == 5
        conn = store._db.conn
        assert (await conn.execute_fetchall("PRAGMA journal_mode"))[0][0] == "wal"
        assert (await conn.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1
        assert (await conn.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 5000
    names = {name for _, name, _ in schema(path)}
    assert {"generations", "ledger", "guild_settings", "member_settings", "allowed_channels", "audit_log",
            "meta"} <= names


async def test_reopening_is_a_no_op(tmp_path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path):
        pass
    before = schema(path)
    async with await Store.open(path) as store:
        assert await store.schema_version() == LATEST_VERSION
    assert schema(path) == before


def write_v1_data(path: Path) -> None:
    """Rows as the version-1 code wrote them: a completed, a failed and an open generation."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("INSERT INTO guild_settings (guild_id, cap_tokens, cap_period, cap_set_by, cap_set_at) "
                     "VALUES (1, 2000000, 'lifetime', 77, 1.0)")
        conn.execute("INSERT INTO member_settings (guild_id, user_id, running_limit) VALUES (1, 10, 5)")
        rows = [
            (1, "completed", "api-1", 300_000),
            (2, "failed", "api-2", 0),
            (3, "submitted", "api-3", None),
        ]
        for gen_id, status, api_id, charged in rows:
            conn.execute(
                "INSERT INTO generations (id, api_id, dialect, guild_id, channel_id, user_id, kind, prompt, options, "
                "status, requested_at, tokens_reserved, tokens_charged) "
                "VALUES (?, ?, 'luma', 1, 100, 10, 'dream', 'old prompt', '{\"loop\":true}', ?, 1000.0, ?, ?)",
                (gen_id, api_id, status, COST, charged))
            conn.execute("INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at) "
                         "VALUES (?, 1, 10, 'reserve', ?, 1000.0)", (gen_id, COST))
        conn.execute("INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at) "
                     "VALUES (1, 1, 10, 'charge', 300000, 1001.0), (1, 1, 10, 'refund', 200000, 1001.0), "
                     "(2, 1, 10, 'refund', 500000, 1001.0)")


async def test_upgrade_from_v1_keeps_data(tmp_path):
    path = tmp_path / "v1.sqlite3"
    async with await Store.open(path, migrate_to=1) as old:
        assert await old.schema_version() == 1
    names = {name for _, name, _ in schema(path)}
    assert "generations" in names and "audit_log" not in names
    write_v1_data(path)

    async with await Store.open(path) as store:
        assert await store.schema_version() == 5
        done = await store.get(1)
        assert (done.status, done.tokens_charged, done.options) == (Status.COMPLETED, 300_000, {"loop": True})
        # Version 3: rows from before it have no request id and an unknown provider side.
        assert (done.client_request_id, done.provider_credits, done.in_doubt_since) == (None, None, None)
        assert [g.id for g in await store.jobs_to_poll()] == [3]
        settings = await store.guild_settings(1)
        assert (settings.cap_tokens, settings.cap_period, settings.cap_set_by) == (2_000_000, "lifetime", 77)
        assert (settings.cooldown_seconds, settings.allowed_channel_ids, settings.moderator_role_id) == (
            0, frozenset(), None)
        member = await store.member_settings(1, 10)
        assert (member.running_limit, member.blocked) == (5, False)
        budget = await store.member_budget(1, 10, COST)
        assert (budget.spent, budget.remaining, budget.running_limit) == (800_000, 1_200_000, 5)
        assert (await store.ledger_totals()).balanced
        # New-version features work on the upgraded file.
        await store.set_blocked(1, 11, True, actor_id=77)
        assert [e.action for e in await store.audit_log(1)] == ["block"]
        g = await store.reserve(guild_id=1, channel_id=100, user_id=10, kind="reroll", prompt="again",
                                cost=COST, parent_id=1)
        assert g.id == 4 and g.parent_id == 1
        assert g.client_request_id is not None and g.client_request_id.startswith("dreambot:4:")


async def test_upgraded_schema_equals_fresh_schema(tmp_path):
    fresh, upgraded = tmp_path / "fresh.sqlite3", tmp_path / "upgraded.sqlite3"
    async with await Store.open(fresh):
        pass
    async with await Store.open(upgraded, migrate_to=1):
        pass
    async with await Store.open(upgraded):
        pass
    assert schema(fresh) == schema(upgraded)


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError):
        await Store.open(path)


async def test_meta_round_trip(tmp_path):
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        assert await store.get_meta("command_sync") is None
        await store.set_meta("command_sync", "abc")
        await store.set_meta("command_sync", "def")
        assert await store.get_meta("command_sync") == "def"


CHILD = textwrap.dedent("""
    import asyncio, sys
    from storage import Store, generations

    async def main(path):
        store = await Store.open(path)
        await store.set_member_running_limit(1, 10, 10, actor_id=1)
        done = await store.reserve(guild_id=1, channel_id=1, user_id=10, kind="dream", prompt="kept", cost=500000)
        await store.mark_submitted(done.id, "api-done")
        await store.complete(done.id, "https://v/done", 100000)
        open_ = await store.reserve(guild_id=1, channel_id=1, user_id=10, kind="dream", prompt="open", cost=500000)
        await store.mark_submitted(open_.id, "api-open")
        # Start a transaction that the kill interrupts: it must vanish entirely.
        async with store._db.transaction() as conn:
            await generations.insert(conn, guild_id=1, channel_id=1, user_id=10, kind="dream", prompt="torn",
                                     model=None, options="{}", dialect=None, parent_id=None, cost=500000, now=1.0)
            print("ready", flush=True)
            await asyncio.sleep(60)

    asyncio.run(main(sys.argv[1]))
""")


async def test_sigkill_loses_nothing_committed(tmp_path):
    path = tmp_path / "killed.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, cwd=REPO,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), timeout=15)
        assert line.strip() == "ready"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert Path(str(path) + "-wal").exists()  # the commits live in the WAL, not yet checkpointed

    async with await Store.open(path) as store:
        done, open_ = await store.get(1), await store.get(2)
        assert (done.status, done.tokens_charged, done.video_url) == (Status.COMPLETED, 100_000, "https://v/done")
        assert (open_.status, open_.api_id) == (Status.SUBMITTED, "api-open")
        assert await store.get(3) is None  # the interrupted transaction is gone
        assert [g.id for g in await store.jobs_to_poll()] == [2]
        totals = await store.ledger_totals()
        assert (totals.reserved, totals.charged, totals.refunded, totals.open_reserved) == (
            2 * COST, 100_000, 400_000, COST)
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The poller carries on where the killed process stopped.
        assert await store.complete(2, "https://v/open", None)


# Any full pass over a table or a whole index (SCAN … USING INDEX too) fails: only SEARCHes.
_TABLE_SCAN = re.compile(r"\bSCAN (generations|ledger|g|r|c|f|audit_log|allowed_channels|guild_settings|member_settings)\b")


async def test_hot_queries_use_indexes(tmp_path):
    path = tmp_path / "db.sqlite3"
    async with await Store.open(path) as store:
        for guild in (1, 2, 3):
            await store.set_guild_running_limits(guild, 1000, None, actor_id=1)
        for i in range(60):
            g = await store.reserve(guild_id=1 + i % 3, channel_id=100 + i % 4, user_id=10 + i % 5 * (i % 3 != 0),
                                    kind="dream", prompt="p", cost=COST)
            if i % 2:
                await store.mark_submitted(g.id, f"job-{i}")
                await store.complete(g.id, "https://v", None)
                await store.mark_posted(g.id, 1, 1000 + i)
        captured: list[str] = []
        # Writes go through the writer connection, reads through the reader: trace both.
        for conn in {store._db.conn, store._db._reader}:
            await conn.set_trace_callback(captured.append)
        await store.reserve(guild_id=1, channel_id=100, user_id=10, kind="dream", prompt="p", cost=COST)
        await store.complete(3, "https://v", 1)
        await store.fail(5, "x")
        await store.mark_posted(5, 1, 2)
        await store.jobs_to_poll()
        await store.jobs_to_post()
        await store.unsent(older_than=2e9)
        await store.by_message(1001)
        await store.recent(1, user_id=10)
        await store.recent(1, channel_id=100, status="completed")
        await store.recent(1)
        await store.queue_position(30)
        await store.member_budget(1, 10, COST)
        await store.top_spenders(1, since=0)
        await store.member_history(1, 10)
        await store.daily_spend(1)
        await store.is_channel_allowed(1, 5)
        await store.audit_log(1)
        for conn in {store._db.conn, store._db._reader}:
            await conn.set_trace_callback(None)

    statements = [s for s in captured if s.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT"))]
    assert len(statements) > 20
    with sqlite3.connect(path) as conn:
        for statement in statements:
            sql = statement.replace("-Inf", "-1e999")
            plan = "\n".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
            assert not _TABLE_SCAN.search(plan), f"{sql}\n{plan}"
