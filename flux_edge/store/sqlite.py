"""The apsw backend of `Store`: one SQLite file in WAL mode, used by three connections.

Where each call runs, and why:

- Writes (functions, tokens, meta, execution batches, pruning) go to the one writer connection on
  its own thread (`StoreWriter`), so they never block the event loop nor contend with each other.
- Point reads whose result is one row (`get_function`, `get_version`, `find_token`, `get_meta`,
  and `list_tokens`, a handful of rows) run inline on the event loop thread with a read connection.
  In WAL mode a reader never waits for a writer, and an indexed lookup of a cached page costs
  4-10 µs, less than the 50-150 µs of a round trip through a thread (figures from
  `benchmarks/bench_store_reads.py`, 2 shared cores); these calls are on the invoke and auth paths.
- Lists whose size grows with the data (`list_functions` and `list_versions` return code,
  `list_executions` up to 1000 rows: 2 ms with small rows, far more with rows near the 64 KiB and
  256 KiB caps) run on one reader thread with its own connection, so a large page never stalls
  other requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import apsw

from flux_edge.store import _queries as q
from flux_edge.store._connection import enable_wal, open_connection, transaction
from flux_edge.store._generation import FunctionGeneration
from flux_edge.store._migrations import migrate
from flux_edge.store._rows import (
    execution_from_row,
    function_from_row,
    function_params,
    sources_param,
    token_from_row,
    token_params,
    version_from_row,
)
from flux_edge.store._writer import StoreWriter
from flux_edge.store.base import (
    ExecutionQuery,
    ExecutionRecord,
    FunctionRecord,
    FunctionVersionRecord,
    NameConflictError,
    NotFoundError,
    TokenRecord,
    VersionConflictError,
)
from flux_edge.store.clock import to_epoch_us, utc_now

T = TypeVar("T")

PRUNE_BATCH = 5_000  # rows deleted per transaction, so other writes interleave with a long prune
EXECUTION_BATCH = 10_000  # records committed per transaction by the execution writer
MAX_QUEUED_EXECUTIONS = 200_000  # beyond this, while the database refuses writes, the oldest go


class SQLiteStore:
    """`Store` on one SQLite database file; create it with `await SQLiteStore.open(path)`."""

    def __init__(
        self, path: Path, writer: StoreWriter, reader: apsw.Connection, lister: apsw.Connection
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lister = lister
        self._lister_thread = ThreadPoolExecutor(1, thread_name_prefix="flux-edge-store-reader")
        self._generation = FunctionGeneration(path)
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        flush_interval: float = 0.2,
        max_result_bytes: int = 65536,
        max_log_bytes: int = 262144,
        max_queued_executions: int = MAX_QUEUED_EXECUTIONS,
    ) -> SQLiteStore:
        """Open (creating and migrating as needed) the database at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)

        def prepare() -> apsw.Connection:
            conn = open_connection(path)
            enable_wal(conn)
            migrate(conn, path)
            return conn

        writer_conn = await asyncio.to_thread(prepare)
        writer = StoreWriter(
            writer_conn,
            flush_interval=flush_interval,
            max_result_bytes=max_result_bytes,
            max_log_bytes=max_log_bytes,
            max_queued=max_queued_executions,
            batch_size=EXECUTION_BATCH,
        )
        reader = open_connection(path, read_only=True)
        lister = open_connection(path, read_only=True)
        return cls(path, writer, reader, lister)

    @property
    def queued_executions(self) -> int:
        """Execution records accepted and not yet committed."""
        return self._writer.queued

    @property
    def dropped_executions(self) -> int:
        """Execution records dropped: the queue was full while the database refused writes."""
        return self._writer.dropped

    def change_counter(self) -> int:
        """A number that moves after every committed change to functions, in any worker process
        (one read of a memory-mapped counter; see `_generation.py`)."""
        return self._generation.value()

    # Functions

    async def create_function(self, record: FunctionRecord) -> None:
        """Insert a function and its first version row. Raises NameConflictError."""

        def job(conn: apsw.Connection) -> None:
            with transaction(conn):
                if conn.execute(q.FUNCTION_NAME_TAKEN, (record.name,)).fetchone():
                    raise NameConflictError(record.name)
                conn.execute(q.INSERT_FUNCTION, function_params(record))
                conn.execute(q.INSERT_VERSION, _version_params(record))

        await self._writer.run(job)
        self._generation.bump()

    async def get_function(self, name: str) -> FunctionRecord | None:
        """The function with its current code, or None."""
        row = self._reader.execute(q.SELECT_FUNCTION_BY_NAME, (name,)).fetchone()
        return None if row is None else function_from_row(row)

    async def list_functions(self) -> list[FunctionRecord]:
        """All functions ordered by name."""
        rows = await self._list(lambda c: c.execute(q.SELECT_FUNCTIONS).fetchall())
        return [function_from_row(row) for row in rows]

    async def update_function(self, record: FunctionRecord, *, new_code: bool) -> None:
        """Replace the function row; with `new_code`, also store version `record.version`."""

        def job(conn: apsw.Connection) -> None:
            with transaction(conn):
                params = function_params(record)
                try:
                    conn.execute(q.UPDATE_FUNCTION, (*params[1:], record.id))
                except apsw.ConstraintError as exc:  # the name is the only other unique column
                    raise NameConflictError(record.name) from exc
                if conn.changes() == 0:
                    raise NotFoundError(record.id)
                if new_code:
                    if conn.execute(q.VERSION_EXISTS, (record.id, record.version)).fetchone():
                        raise VersionConflictError(f"{record.name} version {record.version}")
                    conn.execute(q.INSERT_VERSION, _version_params(record))

        await self._writer.run(job)
        self._generation.bump()

    async def delete_function(self, name: str) -> FunctionRecord:
        """Delete the function; its versions and executions go with it (ON DELETE CASCADE)."""

        def job(conn: apsw.Connection) -> FunctionRecord:
            with transaction(conn):
                row = conn.execute(q.SELECT_FUNCTION_BY_NAME, (name,)).fetchone()
                if row is None:
                    raise NotFoundError(name)
                record = function_from_row(row)
                conn.execute(q.DELETE_FUNCTION, (record.id,))
            return record

        deleted = await self._writer.run(job)
        self._generation.bump()
        return deleted

    async def list_versions(self, function_id: str) -> list[FunctionVersionRecord]:
        """Every stored version of a function, oldest first."""
        rows = await self._list(lambda c: c.execute(q.SELECT_VERSIONS, (function_id,)).fetchall())
        return [version_from_row(row) for row in rows]

    async def get_version(self, function_id: str, version: int) -> FunctionVersionRecord | None:
        """One stored version, or None."""
        row = self._reader.execute(q.SELECT_VERSION, (function_id, version)).fetchone()
        return None if row is None else version_from_row(row)

    # Executions

    def enqueue_execution(self, record: ExecutionRecord) -> None:
        """Hand a finished execution to the batched writer: an O(1) append, no I/O."""
        self._writer.enqueue(record)

    async def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        """One function's executions, newest first, filtered and paginated."""
        sql, params = q.executions_query(query)
        rows = await self._list(lambda c: c.execute(sql, params).fetchall())
        return [execution_from_row(row) for row in rows]

    async def flush_executions(self) -> None:
        """Commit every execution record queued before this call."""
        await self._writer.flush()

    async def prune_executions(self, older_than: str) -> int:
        """Delete executions executed before `older_than`, in batches; returns how many."""
        cutoff = to_epoch_us(older_than)

        def batch(conn: apsw.Connection) -> int:
            with transaction(conn):
                conn.execute(q.PRUNE_EXECUTIONS, (cutoff, PRUNE_BATCH))
                return conn.changes()

        total = 0
        while True:
            deleted = await self._writer.run(batch)
            total += deleted
            if deleted < PRUNE_BATCH:
                return total

    # Tokens and meta

    async def create_token(self, record: TokenRecord) -> None:
        """Store a new API token (hash only). Raises NameConflictError for an unrevoked name."""

        def job(conn: apsw.Connection) -> None:
            with transaction(conn):
                if conn.execute(q.TOKEN_NAME_TAKEN, (record.name,)).fetchone():
                    raise NameConflictError(record.name)
                conn.execute(q.INSERT_TOKEN, token_params(record))

        await self._writer.run(job)

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        """The unrevoked token with this hash, or None."""
        row = self._reader.execute(q.SELECT_ACTIVE_TOKEN_BY_HASH, (token_hash,)).fetchone()
        return None if row is None else token_from_row(row)

    async def list_tokens(self) -> list[TokenRecord]:
        """All tokens, revoked ones included, oldest first."""
        return [token_from_row(row) for row in self._reader.execute(q.SELECT_TOKENS).fetchall()]

    async def revoke_token(self, id_or_name: str) -> TokenRecord:
        """Revoke the token with this id, or else the unrevoked token with this name.

        Revoking a revoked token (by id) keeps its first revocation time. Raises NotFoundError.
        """

        def job(conn: apsw.Connection) -> TokenRecord:
            with transaction(conn):
                row = conn.execute(q.SELECT_TOKEN_FOR_REVOKE, (id_or_name, id_or_name)).fetchone()
                if row is None:
                    raise NotFoundError(id_or_name)
                token = token_from_row(row)
                if token.revoked_at is None:
                    token.revoked_at = utc_now()
                    conn.execute(q.REVOKE_TOKEN, (token.revoked_at, token.id))
            return token

        return await self._writer.run(job)

    async def get_meta(self, key: str) -> str | None:
        """A small server-level value, or None."""
        row = self._reader.execute(q.SELECT_META, (key,)).fetchone()
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        """Set a server-level value."""

        def job(conn: apsw.Connection) -> None:
            with transaction(conn):
                conn.execute(q.UPSERT_META, (key, value))

        await self._writer.run(job)

    async def close(self) -> None:
        """Flush pending executions, stop the threads and close every connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._writer.close()
        await asyncio.get_running_loop().run_in_executor(self._lister_thread, self._lister.close)
        self._lister_thread.shutdown()
        self._reader.close()
        self._generation.close()

    async def _list(self, read: Callable[[apsw.Connection], T]) -> T:
        """Run `read` on the reader thread with the lister connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._lister_thread, read, self._lister)


def _version_params(record: FunctionRecord) -> tuple[Any, ...]:
    # A version row is created when the code changes, so it carries the change's time.
    return (
        record.id,
        record.version,
        record.code,
        record.compiled,
        record.updated_at,
        record.created_by,
        sources_param(record.sources),
    )
