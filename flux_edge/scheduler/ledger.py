"""The scheduler's view of the database: which functions have schedules, and who runs each due run.

Its own apsw connection to the main database. Reading schedules is one small indexed query, done
only when `PRAGMA data_version` says another connection committed (a create, update, enable or
delete in any worker). Claims live in the `cron_claims` table (migration 2): the worker whose
INSERT OR IGNORE adds the (function, due time) row runs it; the others see no change and skip.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import apsw

from flux_edge.store._connection import open_connection, transaction

_SCHEDULES = (
    "SELECT id, name, cron_schedule, timeout_seconds FROM functions "
    "WHERE enabled = 1 AND cron_schedule IS NOT NULL"
)
_RUNNING = (
    "SELECT due_at FROM cron_claims "
    "WHERE function_id = ? AND outcome = 'running' AND lease_until > ?"
)
_CLAIM = (
    "INSERT OR IGNORE INTO cron_claims (function_id, due_at, claimed_by, outcome, lease_until) "
    "SELECT id, ?, ?, ?, ? FROM functions WHERE id = ?"
)
_FINISH = "UPDATE cron_claims SET outcome = 'done' WHERE function_id = ? AND due_at = ?"
_PRUNE = "DELETE FROM cron_claims WHERE due_at < ? AND outcome != 'running'"
# A run may wait a little for an isolate before its timeout starts counting.
LEASE_GRACE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Schedule:
    """An enabled function with a cron expression."""

    function_id: str
    name: str
    expression: str
    timeout_seconds: int


class Claim(Enum):
    """What claiming a due run decided."""

    RUN = "run"  # this worker runs it
    TAKEN = "taken"  # another worker claimed it (or the function is gone)
    SKIPPED = "skipped"  # the previous run of the function is still going


class CronLedger:
    """Schedules and claims in the main SQLite database. Methods block; the scheduler calls them
    all on one thread of its own."""

    def __init__(self, path: Path, *, worker: str) -> None:
        self._conn: apsw.Connection = open_connection(path)
        self._worker = worker
        self._data_version = -1

    def changed(self) -> bool:
        """Whether another connection committed since the last call (always True at first)."""
        row = self._conn.execute("PRAGMA data_version").fetchone()
        version = int(row[0]) if row else 0
        if version == self._data_version:
            return False
        self._data_version = version
        return True

    def schedules(self) -> list[Schedule]:
        """Every enabled function that has a schedule."""
        return [
            Schedule(str(fid), str(name), str(expression), int(str(timeout)))
            for fid, name, expression, timeout in self._conn.execute(_SCHEDULES).fetchall()
        ]

    def claim(self, schedule: Schedule, due_at: str) -> Claim:
        """Try to take the run of `schedule` due at `due_at`; at most one worker gets RUN."""
        now = time.time()
        with transaction(self._conn):
            running = self._conn.execute(_RUNNING, (schedule.function_id, now)).fetchone()
            outcome = "skipped" if running else "running"
            lease = now + schedule.timeout_seconds + LEASE_GRACE_SECONDS
            self._conn.execute(_CLAIM, (due_at, self._worker, outcome, lease, schedule.function_id))
            inserted = self._conn.changes() > 0
        if not inserted:
            return Claim.TAKEN
        return Claim.SKIPPED if running else Claim.RUN

    def finish(self, function_id: str, due_at: str) -> None:
        """Mark a run done, which lets the function's next run start."""
        with transaction(self._conn):
            self._conn.execute(_FINISH, (function_id, due_at))

    def prune(self, older_than: str) -> None:
        """Forget finished claims due before `older_than` (RFC 3339)."""
        with transaction(self._conn):
            self._conn.execute(_PRUNE, (older_than,))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
