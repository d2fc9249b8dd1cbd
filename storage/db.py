"""One SQLite connection (aiosqlite), its pragmas, transactions and schema migrations.

Every transaction and read goes through one asyncio lock: aiosqlite runs statements on a
single thread in order, so without the lock two coroutines' statements would interleave
inside one BEGIN…COMMIT. Writes use BEGIN IMMEDIATE, taking SQLite's write lock before the
first read, so check-then-insert cannot race another connection (or process).
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
from typing import Literal

import aiosqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
# After busy_timeout gives up, BEGIN IMMEDIATE is retried with backoff for this long.
LOCK_WAIT_SECONDS = 30.0
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Synchronous = Literal["FULL", "NORMAL"]


class StoreError(Exception):
    """The database cannot be used as it is (e.g. written by a newer version)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

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


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()

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
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self.conn.close()

    # Transactions --------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (cancellation included)."""
        async with self._lock:
            # BEGIN inside the try: a cancel while it is awaited still lets it run on
            # aiosqlite's thread, and the ROLLBACK queued behind it closes it again.
            try:
                await self._execute_retrying("BEGIN IMMEDIATE")
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                # Shielded: a second cancel must not leave the transaction open.
                await asyncio.shield(self._rollback())
                raise

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """Exclusive use of the connection for reads; `snapshot` makes several selects agree."""
        async with self._lock:
            if not snapshot:
                yield self.conn
                return
            try:
                await self._execute_retrying("BEGIN")  # inside the try, as in transaction()
                yield self.conn
            finally:
                await asyncio.shield(self._rollback())

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

    async def _rollback(self) -> None:
        try:
            await self.conn.execute("ROLLBACK")
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
            async with self.transaction() as conn:
                # Re-read inside the write lock: another process may have just migrated.
                current = await self.user_version()
                if migration.version <= current:
                    continue
                for statement in migration.statements():
                    await conn.execute(statement)
                # user_version is transactional; an int from our own file name, not user input.
                await conn.execute(f"PRAGMA user_version = {migration.version:d}")
                log.info("database %s migrated to version %d (%s)", self.path, migration.version, migration.name)
        return await self.user_version()
