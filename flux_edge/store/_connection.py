"""Opening apsw connections with the settings every flux-edge connection needs, and transactions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import apsw

# Waiting for another process's write lock happens only on the writer thread (readers in WAL mode
# never wait for writers), so a generous timeout costs the event loop nothing.
BUSY_TIMEOUT_MS = 10_000


def open_connection(path: Path, *, read_only: bool = False) -> apsw.Connection:
    """A connection with foreign keys on and a busy timeout; `read_only` refuses writes."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    conn.execute("PRAGMA foreign_keys = ON")
    # NORMAL is safe in WAL mode: a crash of the process loses nothing committed; only a power cut
    # can roll back the last transactions since the previous checkpoint.
    conn.execute("PRAGMA synchronous = NORMAL")
    # 32 MiB of page cache (the default is 2 MiB): batches touch five indexes at random places.
    conn.execute("PRAGMA cache_size = -32768")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


def enable_wal(conn: apsw.Connection) -> None:
    """Switch the database file to WAL mode (persistent; a no-op when it already is).

    Switching needs an exclusive lock, and SQLite answers BUSY at once, without its busy handler,
    when waiting could deadlock (another process switching the same new file at the same moment,
    as worker processes starting together do), so the wait is ours.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
            break
        except apsw.BusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
    if str(mode).lower() != "wal":
        raise apsw.CantOpenError(f"could not switch the database to WAL mode (got {mode!r})")


@contextmanager
def transaction(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolling back on any error.

    IMMEDIATE takes the write lock up front, so a second process waits in the busy handler instead
    of failing on a lock upgrade halfway through the transaction.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # SQLite rolls back by itself after some errors (a full disk during COMMIT, for one).
        if conn.in_transaction:
            with suppress(apsw.Error):
                conn.execute("ROLLBACK")
        raise
