"""Every write of the Store is atomic under cancellation.

For each public write method (one or more scenarios each) the call is cancelled at every
await point it reaches (every statement the store hands to aiosqlite's thread, counted by
wrapping `aiosqlite.Connection._execute`, the one funnel every Connection and Cursor
coroutine goes through), in three variants:

  before    the cancel is delivered just before the statement is queued (it never runs);
  inflight  the cancel lands while the statement is on aiosqlite's thread (it still runs);
  after     the statement has finished, the cancel lands at whatever the store awaits next
            (the next statement, a shielded rollback/commit, or the wait for a group commit).

and in three arrangements, so the lock wait and a transaction shared with another writer are
await points too:

  solo      the call alone;
  follow    another write (`set_meta`) starts first: the call waits for the write lock behind
            it (or joins its transaction, if the store groups commits), and is cancelled there
            or at any of its own statements;
  lead      the call starts first and another write queues behind it: the call is cancelled
            at its statements or while its unit of work waits for a shared COMMIT.

After each cancelled run the test asserts: the call raised CancelledError or ended exactly as
the uncancelled reference did (and then its write is there); the other writer, never
cancelled, succeeded; no connection of the store is left in a transaction, no background task
is left running, and the store holds no write lock; the whole database (every table, every
row, read through a separate plain sqlite3 connection) equals the "before" or the "after"
state of the reference runs, nothing half-written; and the next write on the same Store
succeeds: when nothing was written, the same call again, which must give exactly the
reference's result and "after"; otherwise a fresh reserve, which must add exactly its own rows.

Statements run by another task (the other writer, or a task the store spawns to finish a
commit) get the "inflight" and "after" variants only: the call is suspended elsewhere then, and
"before" reaches it the same way. A point after the call has ended is skipped.

`test_every_public_coroutine_of_store_is_classified` fails when Store grows a public
coroutine that is neither in READS nor has a scenario in SCENARIOS: a new write method must
get a scenario here.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import storage.db as storage_db
from storage import ReserveRefused, Store, UnknownGeneration

T0 = 1_000_000.0  # the fixed clock: timestamps in both reference and cancelled runs agree
COST = 500_000
GUILD, USER, ACTOR = 1, 10, 77
NEXT_USER = 999  # the "next write" after each cancelled run: a DM reserve
COTENANT_KEY = "cancel-test-cotenant"
TIMEOUT = 1.0  # a call, next write or close taking longer (they take milliseconds) is reported as wedged
DRAIN_SECONDS = 0.5  # background tasks of the store still running after this are reported
MAX_BAD_RUNS = 12  # per test: enough to see the pattern
MAX_WEDGED_RUNS = 2  # a wedged store costs seconds of timeouts per run

# Public coroutines of Store that only read (no scenario needed). Everything else public and
# async must be a write with a scenario in SCENARIOS, or lifecycle.
READS = frozenset({
    "schema_version", "get", "by_message", "jobs_to_poll", "jobs_to_post", "unsent", "provider_unknown",
    "recent", "queue_position", "member_budget", "top_spenders", "member_history", "daily_spend",
    "ledger_totals", "provider_totals", "ledger_entries", "guild_settings", "member_settings",
    "member_overrides", "is_channel_allowed", "audit_log", "get_meta", "undeliverable", "run_times",
})
LIFECYCLE = frozenset({"open", "close"})


# Scenarios ---------------------------------------------------------------------------------

Ctx = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str  # test id: method[variant]
    method: str  # the Store method under test
    setup: Callable[[Store], Awaitable[Ctx]]  # builds the "before" state; returns ids for `call`
    call: Callable[[Store, Ctx], Awaitable[Any]]
    changes: bool = True  # whether the uncancelled call writes anything


async def _reserve(store: Store, user_id: int = USER, guild_id: int | None = GUILD, **kw: Any):
    return await store.reserve(guild_id=guild_id, channel_id=kw.pop("channel_id", 100), user_id=user_id,
                               kind=kw.pop("kind", "dream"), prompt=kw.pop("prompt", "a cat"),
                               cost=kw.pop("cost", COST), **kw)


async def _base(store: Store) -> None:
    """Some unrelated state so the dumps are never trivially empty."""
    await store.set_guild_running_limits(GUILD, 5, 20, actor_id=ACTOR)
    other = await _reserve(store, user_id=11)
    await store.mark_submitted(other.id, "job-other")
    await store.complete(other.id, "https://v/other.mp4", 200_000)
    await store.set_meta("sync-digest", "abc")


def _gen(*steps: str, **reserve_kw: Any) -> Callable[[Store], Awaitable[Ctx]]:
    """Setup: the base state plus one generation of USER taken through `steps`."""

    async def setup(store: Store) -> Ctx:
        await _base(store)
        g = await _reserve(store, **reserve_kw)
        for step in steps:
            if step == "submitted":
                await store.mark_submitted(g.id, f"job-{g.id}")
            elif step == "running":
                await store.mark_running(g.id)
            elif step == "completed":
                await store.complete(g.id, f"https://v/{g.id}.mp4", None)
            elif step == "failed":
                await store.fail(g.id, "setup")
            elif step == "posted":
                await store.mark_posted(g.id, 100, 5000)
            elif step == "undeliverable":
                await store.mark_undeliverable(g.id, "403 Missing Access (50001)")
            else:
                raise AssertionError(step)
        return {"g": g.id}

    return setup


def _settings(*, override: bool = False, channels: tuple[int, ...] = (), blocked: bool = False):
    async def setup(store: Store) -> Ctx:
        await _base(store)
        await store.set_guild_cap(GUILD, 50 * COST, "week", actor_id=ACTOR)
        await store.set_cooldown(GUILD, 30, actor_id=ACTOR)
        if override:
            await store.set_member_cap(GUILD, USER, 3 * COST, "day", actor_id=ACTOR)
        if channels:
            await store.set_allowed_channels(GUILD, channels, actor_id=ACTOR)
        if blocked:
            await store.set_blocked(GUILD, USER, True, actor_id=ACTOR)
        return {}

    return setup


async def _with_parent(store: Store) -> Ctx:
    ctx = await _gen("submitted", "completed", user_id=12)(store)
    await store.set_cooldown(GUILD, 60, actor_id=ACTOR)
    return ctx


RUN_KEY = "luma:ray-2:720p:5s:text"


async def _run_times_full(store: Store) -> Ctx:
    """As many run times as are kept for one option: the next one inserts and prunes."""
    from storage import run_times

    await _base(store)
    await store.record_run_time("luma:ray-flash-2:540p:5s:text", 12.0)
    for i in range(run_times.KEPT_PER_OPTION):
        await store.record_run_time(RUN_KEY, 30.0 + i)
    return {}


SCENARIOS: list[Scenario] = [
    Scenario("reserve[guild]", "reserve", _settings(override=True),
             call=lambda s, c: _reserve(s, model="ray-2", options={"aspect_ratio": "16:9"}, dialect="luma",
                                        price_text="0.5 tokens")),
    Scenario("reserve[dm]", "reserve", _settings(), call=lambda s, c: _reserve(s, guild_id=None)),
    Scenario("reserve[child-with-cooldown]", "reserve", _with_parent,
             call=lambda s, c: _reserve(s, kind="extend_forward", parent_id=c["g"])),
    Scenario("reserve[refused]", "reserve", _settings(blocked=True), call=lambda s, c: _reserve(s),
             changes=False),
    Scenario("mark_submitted", "mark_submitted", _gen(), call=lambda s, c: s.mark_submitted(c["g"], "job-x")),
    Scenario("mark_submitted[noop]", "mark_submitted", _gen("submitted"),
             call=lambda s, c: s.mark_submitted(c["g"], "job-y"), changes=False),
    Scenario("mark_in_doubt", "mark_in_doubt", _gen(), call=lambda s, c: s.mark_in_doubt(c["g"])),
    Scenario("set_provider_credits", "set_provider_credits", _gen("submitted", "completed"),
             call=lambda s, c: s.set_provider_credits(c["g"], 123_000)),
    Scenario("mark_running", "mark_running", _gen("submitted"), call=lambda s, c: s.mark_running(c["g"])),
    Scenario("complete[charge-and-refund]", "complete", _gen("submitted", "running"),
             call=lambda s, c: s.complete(c["g"], "https://v/x.mp4", 320_000)),
    Scenario("complete[list-price]", "complete", _gen("submitted"),
             call=lambda s, c: s.complete(c["g"], "https://v/x.mp4")),
    Scenario("complete[noop]", "complete", _gen("failed"),
             call=lambda s, c: s.complete(c["g"], "https://v/x.mp4", 1), changes=False),
    Scenario("fail", "fail", _gen("submitted", "running"), call=lambda s, c: s.fail(c["g"], "timeout")),
    Scenario("reject", "reject", _gen(), call=lambda s, c: s.reject(c["g"], "400 bad prompt")),
    Scenario("set_status_message", "set_status_message", _gen("submitted"),
             call=lambda s, c: s.set_status_message(c["g"], 100, 4242)),
    Scenario("mark_posted", "mark_posted", _gen("submitted", "completed"),
             call=lambda s, c: s.mark_posted(c["g"], 100, 5151)),
    Scenario("mark_posted[given-up]", "mark_posted", _gen("failed"),
             call=lambda s, c: s.mark_posted(c["g"], None, None)),
    Scenario("bump_post_attempts", "bump_post_attempts", _gen("submitted", "completed"),
             call=lambda s, c: s.bump_post_attempts(c["g"])),
    Scenario("bump_post_attempts[unknown]", "bump_post_attempts", _gen(),
             call=lambda s, c: s.bump_post_attempts(c["g"] + 1000), changes=False),
    Scenario("mark_undeliverable", "mark_undeliverable", _gen("submitted", "completed"),
             call=lambda s, c: s.mark_undeliverable(c["g"], "400 Bad Request (50035)")),
    Scenario("retry_delivery", "retry_delivery", _gen("submitted", "completed", "undeliverable"),
             call=lambda s, c: s.retry_delivery(c["g"])),
    Scenario("record_run_time[prunes]", "record_run_time", _run_times_full,
             call=lambda s, c: s.record_run_time(RUN_KEY, 41.5)),
    Scenario("record_refusal", "record_refusal", _settings(),
             call=lambda s, c: s.record_refusal(GUILD, actor_id=5, command="cap", reason="not a moderator",
                                                target_user_id=USER, details={"tokens": 3})),
    Scenario("set_guild_cap", "set_guild_cap", _settings(),
             call=lambda s, c: s.set_guild_cap(GUILD, 7 * COST, actor_id=ACTOR)),
    Scenario("set_member_cap", "set_member_cap", _settings(override=True),
             call=lambda s, c: s.set_member_cap(GUILD, USER, None, "month", actor_id=ACTOR)),
    Scenario("clear_member_cap", "clear_member_cap", _settings(override=True),
             call=lambda s, c: s.clear_member_cap(GUILD, USER, actor_id=ACTOR)),
    Scenario("clear_member_cap[none]", "clear_member_cap", _settings(),
             call=lambda s, c: s.clear_member_cap(GUILD, USER, actor_id=ACTOR), changes=False),
    Scenario("set_member_running_limit", "set_member_running_limit", _settings(override=True),
             call=lambda s, c: s.set_member_running_limit(GUILD, USER, 4, actor_id=ACTOR)),
    Scenario("set_guild_running_limits", "set_guild_running_limits", _settings(),
             call=lambda s, c: s.set_guild_running_limits(GUILD, 3, None, actor_id=ACTOR)),
    Scenario("set_cooldown", "set_cooldown", _settings(), call=lambda s, c: s.set_cooldown(GUILD, 0, actor_id=ACTOR)),
    Scenario("set_reply_mode", "set_reply_mode", _settings(),
             call=lambda s, c: s.set_reply_mode(GUILD, "direct", actor_id=ACTOR)),
    Scenario("set_blocked", "set_blocked", _settings(), call=lambda s, c: s.set_blocked(GUILD, USER, True,
                                                                                       actor_id=ACTOR)),
    Scenario("set_allowed_channels", "set_allowed_channels", _settings(channels=(100, 101)),
             call=lambda s, c: s.set_allowed_channels(GUILD, [102, 100, 103], actor_id=ACTOR)),
    Scenario("allow_channel", "allow_channel", _settings(channels=(100,)),
             call=lambda s, c: s.allow_channel(GUILD, 104, actor_id=ACTOR)),
    Scenario("disallow_channel[last]", "disallow_channel", _settings(channels=(100,)),
             call=lambda s, c: s.disallow_channel(GUILD, 100, actor_id=ACTOR)),
    Scenario("set_moderator_role", "set_moderator_role", _settings(),
             call=lambda s, c: s.set_moderator_role(GUILD, 555, actor_id=ACTOR)),
    Scenario("set_meta", "set_meta", _settings(), call=lambda s, c: s.set_meta("sync-digest", "def")),
]
SCENARIO_BY_NAME = {s.name: s for s in SCENARIOS}
assert len(SCENARIO_BY_NAME) == len(SCENARIOS), "scenario names must be unique"

MODES = ("solo", "follow", "lead")
VARIANTS = ("before", "inflight", "after")


def _public_coroutines() -> set[str]:
    found = set()
    for name, member in inspect.getmembers(Store):
        if name.startswith("_"):
            continue
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            found.add(name)
    return found


def test_every_public_coroutine_of_store_is_classified():
    found = _public_coroutines()
    writes = {s.method for s in SCENARIOS}
    unclassified = found - READS - LIFECYCLE - writes
    assert not unclassified, (
        f"Store has public coroutine(s) {sorted(unclassified)} this test does not know: a write needs a "
        "Scenario in SCENARIOS (tests/test_storage_cancel.py), a pure read goes in READS")
    stale = (READS | LIFECYCLE | writes) - found
    assert not stale, f"listed here but not (or no longer) public coroutines of Store: {sorted(stale)}"
    assert not READS & writes
    # A "read" that opens a write transaction is a write filed in the wrong list.
    misfiled = [name for name in READS if "transaction(" in inspect.getsource(getattr(Store, name))]
    assert not misfiled, f"listed in READS but open a write transaction: {misfiled}"


# Instrumentation ---------------------------------------------------------------------------


def _describe(fn: Any, args: tuple[Any, ...]) -> str:
    if args and isinstance(args[0], str):
        return " ".join(args[0].split())[:70]
    return getattr(fn, "__name__", repr(fn))


class Probe:
    """Counts the statements handed to aiosqlite while armed; cancels `victim` at the Nth."""

    def __init__(self) -> None:
        self.armed = False
        self.ops: list[str] = []
        self.where: list[str] = []
        self.cancel_at: int | None = None
        self.variant = "inflight"
        self.victim: asyncio.Task[Any] | None = None
        self.fired = False

    def arm(self, cancel_at: int | None, variant: str) -> None:
        self.armed, self.ops, self.cancel_at, self.variant, self.fired = True, [], cancel_at, variant, False
        self.where: list[str] = []  # per statement: run by the victim's task, another task, or after it ended
        self.victim = None

    async def around(self, real: Callable[..., Awaitable[Any]], conn: Any, fn: Any, args: tuple, kwargs: dict):
        if not self.armed:
            return await real(conn, fn, *args, **kwargs)
        self.ops.append(_describe(fn, args))
        victim = self.victim
        if victim is None or victim.done():
            self.where.append("done")
        else:
            self.where.append("victim" if asyncio.current_task() is victim else "other")
        if len(self.ops) != self.cancel_at:
            return await real(conn, fn, *args, **kwargs)
        self.fired = True
        assert self.victim is not None
        if self.variant == "before":
            self.victim.cancel()
            await asyncio.sleep(0)  # in the victim's own task the CancelledError is raised here
            return await real(conn, fn, *args, **kwargs)
        if self.variant == "inflight":
            self.victim.cancel()  # queued first, then the cancel lands in the await of its future
            return await real(conn, fn, *args, **kwargs)
        try:
            return await real(conn, fn, *args, **kwargs)
        finally:
            self.victim.cancel()  # lands at the store's next await, whatever it is


@pytest.fixture
def probe(monkeypatch) -> Probe:
    p = Probe()
    real = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        return await p.around(real, self, fn, args, kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    # Deterministic client request ids, so reference and cancelled runs dump identically.
    monkeypatch.setattr(secrets, "token_hex", lambda nbytes=None: "ab" * (nbytes or 16))
    # If the store groups commits with a time limit, a slow machine must not change the
    # sequence of statements between the reference run and the cancelled ones.
    if hasattr(storage_db, "MAX_BATCH_SECONDS"):
        monkeypatch.setattr(storage_db, "MAX_BATCH_SECONDS", 3600.0)
    return p


# Database state ----------------------------------------------------------------------------

Dump = dict[str, list[tuple]]


def _plain(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def dump(path: Path) -> Dump:
    """Every table's rows (sorted), the schema and user_version, read by a separate connection."""
    with _plain(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out: Dump = {"@schema": sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall(),
                                       key=repr),
                     "@user_version": conn.execute("PRAGMA user_version").fetchall()}
        for table in tables:
            out[table] = sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
    conn.close()
    return out


def diff(a: Dump, b: Dump) -> dict[str, tuple[list, list]]:
    """table -> (rows only in a, rows only in b)."""
    changed = {}
    for table in sorted(set(a) | set(b)):
        ra, rb = a.get(table, []), b.get(table, [])
        if ra != rb:
            changed[table] = ([r for r in ra if r not in rb], [r for r in rb if r not in ra])
    return changed


def write_lock_free(path: Path) -> bool:
    conn = _plain(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def integrity(path: Path) -> list[tuple]:
    with _plain(path) as conn:
        problems = [r for r in conn.execute("PRAGMA integrity_check") if r != ("ok",)]
        problems += conn.execute("PRAGMA foreign_key_check").fetchall()
    conn.close()
    return problems


def connections(store: Store) -> list[aiosqlite.Connection]:
    """The store's aiosqlite connections (the writer, and a reader if there is one)."""
    db = store._db
    found = {id(v): v for v in vars(db).values() if isinstance(v, aiosqlite.Connection)}
    assert id(db.conn) in found
    return list(found.values())


# Runs --------------------------------------------------------------------------------------

Outcome = tuple[str, Any]  # ("ok", value) | ("raised", exception type) | ("cancelled", None)


def outcome_of(task: asyncio.Task[Any]) -> Outcome:
    if task.cancelled():
        return ("cancelled", None)
    error = task.exception()
    if error is not None:
        return ("raised", type(error))
    return ("ok", task.result())


async def open_store(path: Path) -> Store:
    return await Store.open(path, clock=lambda: T0, synchronous="NORMAL")


async def drain() -> list[asyncio.Task[Any]]:
    """Let background work (a group commit's flusher, a shielded rollback) finish."""
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    spins = 0
    while True:
        others = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not others:
            return []
        if loop.time() > deadline:
            for task in others:  # stuck (e.g. on a lock never released): reported, then ended
                task.cancel()
            return others
        spins += 1
        await asyncio.sleep(0 if spins < 20 else 0.005)


def cotenant(store: Store) -> Awaitable[None]:
    return store.set_meta(COTENANT_KEY, "written")


@dataclass
class Run:
    ops: list[str]
    where: list[str]
    outcome: Outcome
    cotenant: Outcome | None
    state: Dump
    problems: list[str] = field(default_factory=list)
    retried: bool = False


class Bench:
    """One scenario in one arrangement: the template file, references, and cancelled runs."""

    def __init__(self, scenario: Scenario, mode: str, probe: Probe, folder: Path) -> None:
        self.scenario, self.mode, self.probe, self.folder = scenario, mode, probe, folder
        self.template = folder / "template.sqlite3"
        self.runs = 0
        self.ctx: Ctx = {}

    async def make_template(self) -> None:
        store = await open_store(self.template)
        try:
            self.ctx = await self.scenario.setup(store)
        finally:
            await store.close()

    def fresh_copy(self) -> Path:
        self.runs += 1
        for old in self.folder.glob(f"run{self.runs - 1}.sqlite3*"):
            old.unlink(missing_ok=True)
        path = self.folder / f"run{self.runs}.sqlite3"
        shutil.copyfile(self.template, path)
        return path

    async def call_tasks(self, store: Store, mode: str, with_target: bool = True):
        """Start the call (and the cotenant write) in the arrangement's order."""
        target = None
        other = None
        if mode == "follow":
            other = asyncio.create_task(cotenant(store))
        if with_target:
            target = asyncio.create_task(self.scenario.call(store, self.ctx))
        if mode == "lead":
            other = asyncio.create_task(cotenant(store))
        return target, other

    async def run(self, mode: str, cancel_at: int | None = None, variant: str = "inflight", *,
                  with_target: bool = True, retry_expect: Dump | None = None,
                  allowed: dict[str, Dump] | None = None, reference: Run | None = None) -> Run:
        path = self.fresh_copy()
        store = await open_store(path)
        problems: list[str] = []
        probe = self.probe
        try:
            probe.arm(cancel_at, variant)
            target, other = await self.call_tasks(store, mode, with_target)
            probe.victim = target
            tasks = [t for t in (target, other) if t is not None]
            done, pending = await asyncio.wait(tasks, timeout=TIMEOUT)
            probe.armed = False
            if pending:
                for t in pending:
                    t.cancel()
                await asyncio.wait(pending, timeout=1)
                return Run(list(probe.ops), list(probe.where), ("wedged", None), None, {},
                           [f"call did not finish in {TIMEOUT}s"])
            ops, where = list(probe.ops), list(probe.where)
            result = outcome_of(target) if target is not None else ("ok", None)
            other_result = outcome_of(other) if other is not None else None
            if cancel_at is not None and not probe.fired:
                problems.append(f"await point {cancel_at} was not reached (only {len(ops)})")
            if reference is not None and cancel_at is not None and ops[:cancel_at - 1] != reference.ops[:cancel_at - 1]:
                problems.append(f"statements before the cancel differ from the reference run: {ops} vs {reference.ops}")

            leftover = await drain()
            if leftover:
                problems.append(f"background tasks still running: {leftover}")
            problems += await self.idle_problems(store, path, "after the call")
            state = dump(path)
            run = Run(ops, where, result, other_result, state, problems)
            if allowed is not None:
                self.judge(run, allowed, reference)
                if not run.problems and retry_expect is not None and state == allowed["before"]:
                    await self.retry(store, path, retry_expect, reference, run)
            # The next write on the same Store: the retried call when nothing was written (its
            # exact result is known), else a fresh reserve that must add exactly its own rows.
            if allowed is not None and not run.problems and not run.retried:
                await self.next_write(store, path, run, state)
            return run
        finally:
            probe.armed = False
            try:
                await asyncio.wait_for(store.close(), TIMEOUT)
            except Exception as error:  # noqa: BLE001 - reported, not raised, so every point is tried
                problems.append(f"close failed: {error!r}")
                for conn in connections(store):
                    conn.stop()  # a wedged store: at least end aiosqlite's threads

    async def idle_problems(self, store: Store, path: Path, when: str) -> list[str]:
        """No transaction open on any store connection and SQLite's write lock free. First a
        barrier: a statement cancelled in flight may still be queued on aiosqlite's thread
        (which runs in order), and the state is only settled once it has run."""
        problems = []
        for conn in connections(store):
            try:
                await asyncio.wait_for(conn.execute("SELECT 1"), TIMEOUT)
            except ValueError:
                pass  # closed: reported below
            except Exception as error:  # noqa: BLE001
                problems.append(f"{when}: a store connection does not answer: {error!r}")
        for conn in connections(store):
            try:
                if conn.in_transaction:
                    problems.append(f"{when}: a store connection is still in a transaction")
            except ValueError:
                problems.append(f"{when}: a store connection is closed")
        if not write_lock_free(path):
            problems.append(f"{when}: the store still holds SQLite's write lock")
        return problems

    def judge(self, run: Run, allowed: dict[str, Dump], reference: Run | None) -> None:
        assert reference is not None
        kind = run.outcome[0]
        if kind not in ("cancelled",) and run.outcome != reference.outcome:
            run.problems.append(f"ended with {run.outcome}, neither CancelledError nor the reference's "
                                f"{reference.outcome}")
        if run.cotenant is not None and run.cotenant != ("ok", None):
            run.problems.append(f"the other writer (never cancelled) ended with {run.cotenant}")
        if run.state not in allowed.values():
            near = min(allowed, key=lambda k: len(diff(allowed[k], run.state)))
            run.problems.append(f"half-written: the database is neither before nor after; against "
                                f"{near!r}: {diff(allowed[near], run.state)}")
        elif (kind == "ok" and self.scenario.changes and run.state == allowed["before"]):
            run.problems.append(f"returned {run.outcome[1]!r} as if done, but nothing was written")

    async def retry(self, store: Store, path: Path, expect: Dump, reference: Run, run: Run) -> None:
        """Nothing was written: the same call again, uncancelled, must give the reference's result."""
        run.retried = True
        try:
            task = asyncio.create_task(self.scenario.call(store, self.ctx))
            await asyncio.wait({task}, timeout=TIMEOUT)
            if not task.done():
                task.cancel()
                run.problems.append("the retried call did not finish")
                return
            again = outcome_of(task)
        except Exception as error:  # noqa: BLE001
            run.problems.append(f"the retried call failed: {error!r}")
            return
        if again != reference.outcome:
            run.problems.append(f"the retried call ended with {again}, the reference with {reference.outcome}")
        run.problems += await self.idle_problems(store, path, "after the retried call")
        state = dump(path)
        if state != expect:
            run.problems.append(f"the retried call left a different database: {diff(expect, state)}")

    async def next_write(self, store: Store, path: Path, run: Run, before: Dump) -> None:
        try:
            made = await asyncio.wait_for(
                store.reserve(guild_id=None, channel_id=7, user_id=NEXT_USER, kind="dream",
                              prompt="the next write", cost=1), TIMEOUT)
        except BaseException as error:  # noqa: BLE001 - a wedged connection shows up here
            run.problems.append(f"the next write failed: {error!r} (a TimeoutError: the store is wedged)")
            return
        leftover = await drain()
        if leftover:
            run.problems.append(f"background tasks still running after the next write: {leftover}")
        run.problems += await self.idle_problems(store, path, "after the next write")
        changes = diff(before, dump(path))
        added = {t: len(new) for t, (_, new) in changes.items() if new}
        removed = {t: len(old) for t, (old, _) in changes.items() if old and t != "sqlite_sequence"}
        if (added.get("generations"), added.get("ledger")) != (1, 1) or removed or \
                set(added) - {"generations", "ledger", "sqlite_sequence"}:
            run.problems.append(f"the next write changed more or less than its own rows: {changes}")
        else:
            row = changes["generations"][1][0]
            if row[0] != made.id or made.user_id != NEXT_USER:
                run.problems.append(f"the next write's row {row} is not the generation returned {made}")


@pytest.fixture
def folder(tmp_path):
    """A folder on tmpfs when there is one: thousands of small databases are opened and closed,
    and fsyncs on a real disk would be most of the runtime."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="dreambot-cancel-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(SCENARIO_BY_NAME))
async def test_cancel_at_every_await_point_leaves_before_or_after(name, mode, probe, folder):
    scenario = SCENARIO_BY_NAME[name]
    bench = Bench(scenario, mode, probe, folder)
    await bench.make_template()
    before = dump(bench.template)

    # References: the call uncancelled (its statements, its result, the "after" state), and
    # for the two-writer arrangements the other writer alone (the target's write vanished).
    reference = await bench.run(mode)
    assert not reference.problems, reference.problems
    assert reference.outcome[0] in ("ok", "raised"), reference.outcome
    if reference.outcome[0] == "raised":
        assert reference.outcome[1] in (ReserveRefused, UnknownGeneration), reference.outcome
    if mode == "solo":
        allowed = {"before": before, "after": reference.state}
        retry_expect = reference.state
        assert (before != reference.state) == scenario.changes, diff(before, reference.state)
    else:
        assert reference.cotenant == ("ok", None), reference.cotenant
        alone = await bench.run(mode, with_target=False)  # only the other writer
        allowed = {"before": alone.state, "after": reference.state}
        # Nothing of the call written: running it now is "the other writer, then the call".
        retry_expect = reference.state if mode == "follow" else (await bench.run("follow")).state
    points = len(reference.ops)
    assert points >= 1, "the call reached no await point: is it instrumented?"

    failures = []
    bad_runs = wedged_runs = 0
    for n in range(1, points + 1):
        if bad_runs >= MAX_BAD_RUNS or wedged_runs >= MAX_WEDGED_RUNS:
            failures.append(f"... stopped after {bad_runs} failing runs, {wedged_runs} of them wedged "
                            f"(at await {n}/{points})")
            break
        where = reference.where[n - 1]
        if where == "done":
            continue  # the call had already ended: a cancel now is the reference run again
        # While another task runs the statement, the call is suspended elsewhere (the lock, a
        # shield, a shared commit): "before" and "inflight" reach it the same way.
        for variant in VARIANTS if where == "victim" else ("inflight", "after"):
            run = await bench.run(mode, n, variant, retry_expect=retry_expect, allowed=allowed, reference=reference)
            bad_runs += bool(run.problems)
            wedged_runs += any(marker in problem for problem in run.problems
                               for marker in ("Timeout", "did not finish", "still running"))
            for problem in run.problems:
                failures.append(f"{name} [{mode}] cancel {variant} await {n}/{points} "
                                f"({reference.ops[n - 1]}): {problem}")
    assert not failures, "\n".join(failures)
    assert not integrity(bench.folder / f"run{bench.runs}.sqlite3")
