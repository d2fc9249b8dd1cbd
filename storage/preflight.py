"""Check DATABASE_PATH before the bot logs in, so a bad path is one plain sentence.

SQLite's own messages ("unable to open database file", "file is not a database") do not
say which setting is wrong or what to do; this turns each way a path can be unusable into
a StoreError that does. It opens the file the way the store will (a read of the header and
a write lock, then nothing written), so a path that passes here is one the store can open.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.db import BUSY_TIMEOUT_MS, StoreError


def check_database_path(path: str | Path, *, lock_wait_seconds: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """Raise StoreError with a one-line reason if the store could not be opened at ``path``."""
    target = Path(path)
    if target.is_dir():
        raise StoreError(f"DATABASE_PATH {target} is a folder; name a file in it, e.g. {target / 'dreambot.sqlite3'}")
    blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise StoreError(f"cannot create the folder of DATABASE_PATH {target}: {blocker} is a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the folder of DATABASE_PATH {target}: {error.strerror}") from None
    if target.exists() and not os.access(target, os.R_OK | os.W_OK):
        raise StoreError(f"DATABASE_PATH {target} cannot be read and written by this user (check its permissions)")
    try:
        conn = sqlite3.connect(target, timeout=lock_wait_seconds, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open DATABASE_PATH {target}: {error}") from None
    try:
        conn.execute("PRAGMA schema_version")  # reads the header: a file that is not SQLite fails here
        conn.execute("BEGIN IMMEDIATE")  # the store writes: a process holding the lock shows here
        conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as error:
        raise StoreError(_explain(target, error, lock_wait_seconds)) from None
    finally:
        conn.close()


def _explain(target: Path, error: sqlite3.DatabaseError, waited: float) -> str:
    text = str(error).lower()
    if "not a database" in text or "malformed" in text:
        return f"DATABASE_PATH {target} is not a SQLite database (is it the right file?)"
    if "locked" in text or "busy" in text:
        return (f"DATABASE_PATH {target} is locked by another process (waited {waited:.0f} s; "
                "is another dreambot or a database tool using it?)")
    if "readonly" in text or "read-only" in text:
        return f"DATABASE_PATH {target} is read-only for this user (check the file and its folder)"
    return f"cannot use DATABASE_PATH {target}: {error}"
