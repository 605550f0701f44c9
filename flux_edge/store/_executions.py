"""Execution records on their way to the table: size caps with a marker, and the batch insert."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import apsw
import msgspec
import structlog

from flux_edge.store._connection import transaction
from flux_edge.store.base import ExecutionRecord
from flux_edge.store.clock import to_epoch_us

log = structlog.get_logger(__name__)

ExecutionRow = tuple[Any, ...]  # INSERT_EXECUTION parameters; [1] is the function id

_json = msgspec.json.Encoder()

INSERT_EXECUTION = """
INSERT INTO executions (
    id, function_id, function_version, trigger_type, status, status_code, duration_ms, result, logs,
    error_message, executed_at, executed_us, completed_at, cpu_time_ms, heap_used_bytes
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
LIVE_FUNCTION_IDS = "SELECT id FROM functions WHERE id IN (SELECT value FROM json_each(?))"

# Rows are inserted many to a statement: each statement's step gives the GIL back and takes it
# again, and while the event loop is busy those hand-offs cost more than the inserts (the writer's
# CPU per row 10-11 µs with executemany against 4.8 µs in statements of 128, docs/performance.md).
# The sizes are fixed, so each statement is prepared once (apsw's statement cache).
#
# A statement that writes many rows and may abort halfway makes SQLite keep a statement journal
# (a copy of every page it changes, spilled to a temporary file past 64 KiB) to undo just that
# statement. These cannot abort: `OR FAIL` keeps the rows written before a failing one (the
# transaction is rolled back then anyway, see insert_batch), and they run without foreign-key
# checks, which would abort too; `_of_live_functions` makes the same check in the same
# transaction. 100,000 records took the writer 1.35 s with the journal and 0.77 s without.
_ROW_MARKS = "(" + ", ".join(["?"] * 15) + ")"
_MULTI_ROW_SIZES = (128, 8)
_INSERT_ROWS = {
    size: INSERT_EXECUTION.replace(_ROW_MARKS, ", ".join([_ROW_MARKS] * size)).replace(
        "INSERT INTO", "INSERT OR FAIL INTO"
    )
    for size in _MULTI_ROW_SIZES
}

# Errors that belong to one row rather than to the database (a duplicate id, a value that cannot be
# bound): retrying cannot help, so the batch is written row by row and the bad rows are dropped.
# Every other apsw error (full disk, read-only file, I/O error, busy) is the storage's, and the
# batch is kept for a retry.
ROW_ERRORS: tuple[type[BaseException], ...] = (
    TypeError,
    ValueError,
    OverflowError,
    apsw.BindingsError,
    apsw.ConstraintError,
    apsw.MismatchError,
    apsw.TooBigError,
    apsw.RangeError,
)


def truncate(text: str | None, cap: int) -> str | None:
    """`text` cut to at most `cap` UTF-8 bytes, plus a `\\n…[truncated N bytes]` marker."""
    # A character is at most 4 UTF-8 bytes, so short strings skip the encoding entirely.
    if text is None or len(text) * 4 <= cap:
        return text
    data = text.encode("utf-8", "replace")
    if len(data) <= cap:
        return text
    cut = cap
    while cut > 0 and data[cut] & 0xC0 == 0x80:  # never split a multi-byte character
        cut -= 1
    return f"{data[:cut].decode()}\n…[truncated {len(data) - cut} bytes]"


def prepare_row(record: ExecutionRecord, max_result_bytes: int, max_log_bytes: int) -> ExecutionRow:
    """The INSERT_EXECUTION parameters for `record`, with result, logs and error message capped.

    Raises ValueError or TypeError for a record that cannot be stored (bad timestamp or id).
    """
    if not isinstance(record.function_id, str):  # batches are grouped by it before binding
        raise TypeError(f"function_id must be a string, not {type(record.function_id).__name__}")
    return (
        record.id,
        record.function_id,
        record.function_version,
        record.trigger_type,
        record.status,
        record.status_code,
        record.duration_ms,
        truncate(record.result, max_result_bytes),
        truncate(record.logs, max_log_bytes),
        truncate(record.error_message, max_result_bytes),
        record.executed_at,
        to_epoch_us(record.executed_at),
        record.completed_at,
        record.cpu_time_ms,
        record.heap_used_bytes,
    )


def insert_batch(conn: apsw.Connection, rows: Sequence[ExecutionRow]) -> None:
    """Write `rows` in one transaction; falls back to row by row when a row itself is bad.

    Rows whose function no longer exists are skipped. Raises the storage's error (nothing written)
    when the database cannot take the write.
    """
    try:
        with _without_foreign_key_checks(conn), transaction(conn):
            _insert_rows(conn, _of_live_functions(conn, rows))
    except ROW_ERRORS:
        with transaction(conn):
            for row in _of_live_functions(conn, rows):
                _insert_one(conn, row)


@contextmanager
def _without_foreign_key_checks(conn: apsw.Connection) -> Iterator[None]:
    """Foreign keys off around a transaction (the pragma does nothing inside one), then on again:
    the writer's connection also deletes functions, whose records go by ON DELETE CASCADE."""
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def _insert_rows(conn: apsw.Connection, rows: list[ExecutionRow]) -> None:
    """Insert `rows` in as few statements as the fixed sizes allow (see _MULTI_ROW_SIZES)."""
    start = 0
    for size in _MULTI_ROW_SIZES:
        statement = _INSERT_ROWS[size]
        while len(rows) - start >= size:
            conn.execute(statement, [value for row in rows[start : start + size] for value in row])
            start += size
    if start < len(rows):
        conn.executemany(INSERT_EXECUTION, rows[start:])


def _of_live_functions(conn: apsw.Connection, rows: Sequence[ExecutionRow]) -> list[ExecutionRow]:
    # Records of a function deleted before they were written are dropped here, inside the write
    # transaction (so no delete can slip in between). Checking each row with INSERT ... SELECT ...
    # WHERE EXISTS was measured 2-3 times slower than this one lookup per batch.
    wanted = _json.encode(list({row[1] for row in rows})).decode()
    live = {str(found[0]) for found in conn.execute(LIVE_FUNCTION_IDS, (wanted,))}
    return [row for row in rows if row[1] in live]


def _insert_one(conn: apsw.Connection, row: ExecutionRow) -> None:
    try:
        # Lone surrogates (possible in JavaScript strings) cannot be stored as UTF-8 text.
        conn.execute(INSERT_EXECUTION, tuple(_scrub(value) for value in row))
    except ROW_ERRORS as exc:
        log.error("execution record dropped", execution_id=str(row[0]), error=repr(exc))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode()
    return value
