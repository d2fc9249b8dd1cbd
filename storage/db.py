"""Two SQLite connections (aiosqlite), their pragmas, transactions and schema migrations.

Writes go through one asyncio lock on the writer connection: aiosqlite runs statements on a
single thread in order, so without the lock two coroutines' statements would interleave
inside one BEGIN…COMMIT. Writes use BEGIN IMMEDIATE, taking SQLite's write lock before the
first read, so check-then-insert cannot race another connection (or process).

Group commit: while other writes are waiting, a finished unit of work leaves the transaction
open for them; the last one commits for all (one fsync instead of one each, which is most of
a burst's cost). Each unit runs in its own SAVEPOINT, so one that fails or is cancelled
leaves no trace, and none returns before the COMMIT that holds it has landed.

Reads use a second connection with its own lock: in WAL mode a reader never waits for a
writer, so nothing that only reads (an autocomplete, a modal's lookup) waits behind a write
that itself waits for another process's write lock.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Awaitable, Literal, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
# After busy_timeout gives up, BEGIN IMMEDIATE is retried with backoff for this long.
LOCK_WAIT_SECONDS = 30.0
# A group commit holds at most this many units of work, or this many seconds of them.
MAX_BATCH_UNITS = 64
MAX_BATCH_SECONDS = 0.05
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Synchronous = Literal["FULL", "NORMAL"]
T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be used as it is (e.g. written by a newer version)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def rebuilds(self) -> bool:
        """Rebuilds a table (first line `-- rebuild: foreign keys off`): runs with foreign keys off."""
        return self.sql.startswith("-- rebuild: foreign keys off")

    def statements(self) -> list[str]:
        """Split on complete statements (sqlite3.complete_statement knows trigger bodies)."""
        statements, buffer = [], ""
        for line in self.sql.splitlines(keepends=True):
            buffer += line
            if sqlite3.complete_statement(buffer):
                statements.append(buffer.strip())
                buffer = ""
        leftover = "\n".join(l for l in buffer.splitlines() if l.strip() and not l.strip().startswith("--"))
        if leftover:
            raise StoreError(f"migration {self.name}: incomplete statement at the end")
        return statements


def load_migrations() -> list[Migration]:
    """The packaged `storage/migrations/NNNN_name.sql` files, in order, numbered 1..N."""
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..N: {[m.name for m in found]}")
    return found


MIGRATIONS = load_migrations()
LATEST_VERSION = MIGRATIONS[-1].version


async def _uncancellable(awaitable: Awaitable[T]) -> T:
    """Run to the end even if the caller is cancelled meanwhile, then re-raise the cancel.

    `asyncio.shield` alone returns at the cancel while the work goes on in the background,
    and the lock would be released under a connection still in use."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():
                result = task.result()  # the task itself was cancelled: re-raises
                break
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class _Batch:
    """One open BEGIN IMMEDIATE … COMMIT shared by the units of work that joined it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.units = 0
        self.opened_at = time.monotonic()
        self.committed: asyncio.Future[None] = loop.create_future()

    def full(self) -> bool:
        return self.units >= MAX_BATCH_UNITS or time.monotonic() - self.opened_at >= MAX_BATCH_SECONDS

    def settle(self, error: BaseException | None) -> None:
        if self.committed.done():
            return
        if error is None:
            self.committed.set_result(None)
        else:
            self.committed.set_exception(error)
            self.committed.exception()  # retrieved: a unit whose caller was cancelled need not see it


class BatchLost(StoreError):
    """SQLite ended the shared transaction (disk full, I/O error): none of its units was saved."""


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._reader: aiosqlite.Connection = conn
        self._read_lock = self._lock
        self._batch: _Batch | None = None
        self._writers_waiting = 0
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        migrate_to: int | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> Database:
        """Open (creating parent folders), set pragmas, apply pending migrations."""
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit BEGINs from the sqlite3 module; we say when.
        conn = await aiosqlite.connect(target, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            # PRAGMA values cannot be bound as parameters; these are checked constants.
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            db = cls(conn, target)
            # Switching a new file to WAL needs an exclusive lock and SQLite may report BUSY
            # without waiting (two processes creating the file at once), hence the retry.
            await db._execute_retrying("PRAGMA journal_mode = WAL")
            mode = list(await conn.execute_fetchall("PRAGMA journal_mode"))[0][0]
            if mode != "wal" and target != ":memory:":
                log.warning("database %s is in %s mode, not WAL: readers may wait for writers", target, mode)
            # FULL: a commit survives power loss too (money and API job ids live here).
            await conn.execute(f"PRAGMA synchronous = {synchronous}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await db.migrate(migrate_to)
            if mode == "wal":
                await db._open_reader(busy_timeout_ms)
        except BaseException:
            await db.close() if "db" in locals() else await conn.close()
            raise
        return db

    async def _open_reader(self, busy_timeout_ms: int) -> None:
        reader = await aiosqlite.connect(self.path, isolation_level=None)
        reader.row_factory = aiosqlite.Row
        await reader.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await reader.execute("PRAGMA query_only = ON")  # a write here would be a bug: say so
        self._reader, self._read_lock = reader, asyncio.Lock()

    async def close(self) -> None:
        if self._reader is not self.conn:
            async with self._read_lock:
                await self._reader.close()
        async with self._lock:
            await self.conn.close()

    # Transactions --------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One unit of work, atomic whatever happens: it is saved whole when this returns, and
        not at all when it raises (its body's error, a cancel, or the shared COMMIT failing)."""
        self._writers_waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._writers_waiting -= 1
        batch: _Batch | None = None
        try:
            batch = await self._open_batch()
            try:
                # Run to the end even if cancelled meanwhile; then the cancel lands below.
                await _uncancellable(self.conn.execute("SAVEPOINT unit"))
            except sqlite3.Error as error:
                # No savepoint of its own: ROLLBACK TO would undo the unit before it instead.
                await _uncancellable(self._abandon(batch, error))
                raise
            except BaseException as error:
                await _uncancellable(self._undo_unit(batch, error))
                raise
            try:
                yield self.conn
            except BaseException as error:
                await _uncancellable(self._undo_unit(batch, error))
                raise
            self._unit_done(batch)
        finally:
            try:
                if batch is not None and self._batch is batch:
                    if self._writers_waiting == 0 or batch.full():
                        await _uncancellable(self._commit(batch))
                    elif self._flusher is None or self._flusher.done():
                        # The waiting writers join this transaction; this task commits it after
                        # them, even if a waiter gives up (is cancelled) before its turn.
                        self._flusher = asyncio.create_task(self._flush(batch), name="dreambot-store-commit")
            finally:
                # Whatever was raised above (a cancel re-raised after the COMMIT landed), the
                # lock must go, or every later write waits for ever.
                self._lock.release()
        # Whoever commits for the group settles it; the lock is not held while waiting.
        await asyncio.shield(batch.committed)

    async def _open_batch(self) -> _Batch:
        if self._batch is None:
            try:
                await self._execute_retrying("BEGIN IMMEDIATE")
            except BaseException:
                # A cancel while BEGIN is on aiosqlite's thread does not stop it there (nor one
                # that lands just after it ran): the ROLLBACK queued behind it closes it again.
                await _uncancellable(self._rollback())
                raise
            self._batch = _Batch(asyncio.get_running_loop())
        return self._batch

    @staticmethod
    def _unit_done(batch: _Batch) -> None:
        # No RELEASE: each aiosqlite call is a thread hop, and the savepoints of a batch end with
        # its COMMIT anyway. `ROLLBACK TO unit` undoes the newest one, which is the unit's own.
        batch.units += 1

    async def _flush(self, batch: _Batch) -> None:
        async with self._lock:
            if self._batch is batch:
                await _uncancellable(self._commit(batch))

    async def _undo_unit(self, batch: _Batch, error: BaseException) -> None:
        try:
            await self.conn.execute("ROLLBACK TO unit")
        except (sqlite3.Error, ValueError) as failure:
            await self._abandon(batch, failure)
            return
        if not self.conn.in_transaction:  # SQLite itself ended the transaction (SQLITE_FULL …)
            await self._abandon(batch, error)

    async def _abandon(self, batch: _Batch, error: BaseException) -> None:
        """The shared transaction is gone or unusable: roll it back; its units fail."""
        await self._rollback()
        self._batch = None
        batch.settle(BatchLost(f"a write in the same transaction failed ({type(error).__name__}); nothing "
                               "of this one was saved"))

    async def _commit(self, batch: _Batch) -> None:
        self._batch = None
        try:
            await self.conn.execute("COMMIT")
        except BaseException as error:
            await self._rollback()
            batch.settle(error)
            return
        batch.settle(None)

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """Exclusive use of the reader for reads; `snapshot` makes several selects agree."""
        async with self._read_lock:
            if not snapshot:
                yield self._reader
                return
            try:
                await _uncancellable(self._reader.execute("BEGIN"))
                yield self._reader
            finally:
                await _uncancellable(self._rollback(self._reader))

    async def _execute_retrying(self, statement: str) -> None:
        # busy_timeout already waits inside SQLite; this covers longer contention and the
        # cases where SQLite answers BUSY without calling the busy handler.
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        delay = 0.005
        while True:
            try:
                await self.conn.execute(statement)
                return
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() > deadline:
                    raise
                log.debug("database busy at %s; retrying in %.3fs", statement, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.25)

    async def _rollback(self, conn: aiosqlite.Connection | None = None) -> None:
        try:
            await (conn or self.conn).execute("ROLLBACK")
        except (sqlite3.OperationalError, ValueError):
            pass  # nothing open (e.g. COMMIT had already gone through), or the connection is closed

    # Migrations ------------------------------------------------------------------------

    async def user_version(self) -> int:
        rows = await self.conn.execute_fetchall("PRAGMA user_version")
        return int(list(rows)[0][0])

    async def migrate(self, target: int | None = None) -> int:
        """Apply migrations above the file's version, each in its own transaction."""
        target = LATEST_VERSION if target is None else target
        if not 0 <= target <= LATEST_VERSION:
            raise ValueError(f"no migration {target}; latest is {LATEST_VERSION}")
        current = await self.user_version()
        if current > LATEST_VERSION:
            raise StoreError(f"{self.path} has schema version {current}, newer than this code ({LATEST_VERSION})")
        for migration in MIGRATIONS:
            if migration.version > target:
                break
            if migration.version <= current:
                continue  # no write lock taken on an up-to-date file
            if migration.rebuilds:
                # SQLite's table-rebuild procedure: foreign keys off outside the transaction (a
                # dropped parent table would count as deleted rows), checked again before commit.
                await self.conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self.transaction() as conn:
                    # Re-read inside the write lock: another process may have just migrated.
                    current = await self.user_version()
                    if migration.version <= current:
                        continue
                    for statement in migration.statements():
                        await conn.execute(statement)
                    if migration.rebuilds and list(await conn.execute_fetchall("PRAGMA foreign_key_check")):
                        raise StoreError(f"migration {migration.name} broke a foreign key; nothing was changed")
                    # user_version is transactional; an int from our own file name, not user input.
                    await conn.execute(f"PRAGMA user_version = {migration.version:d}")
                    log.info("database %s migrated to version %d (%s)", self.path, migration.version, migration.name)
            finally:
                if migration.rebuilds:
                    await self.conn.execute("PRAGMA foreign_keys = ON")
        return await self.user_version()
