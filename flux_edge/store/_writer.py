"""The one thread that writes to the database: management changes and batches of execution records.

A single thread owns the single writer connection, so writes never wait on one another's locks
inside a process and never run on the event loop. Jobs (functions, tokens, meta) run in submission
order, one transaction each. Execution records wait in an in-memory deque and are committed in
batches at least every `flush_interval` seconds. When the database cannot take a batch (full disk,
read-only file, I/O error) the batch is kept and retried with backoff; the deque is capped, and
the oldest records are dropped (and counted) beyond the cap.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import apsw
import structlog

from flux_edge.store._executions import ExecutionRow, insert_batch, prepare_row
from flux_edge.store.base import ExecutionRecord

log = structlog.get_logger(__name__)

T = TypeVar("T")
Job = Callable[[apsw.Connection], T]

_MAX_BACKOFF_SECONDS = 1.0
_LOG_EVERY_N_FAILURES = 60  # about once a minute during an outage, not once a second


class StoreClosedError(RuntimeError):
    """The store was closed; nothing more can be written."""


class StoreWriter:
    """Owns the writer connection and the thread that uses it."""

    def __init__(
        self,
        conn: apsw.Connection,
        *,
        flush_interval: float,
        max_result_bytes: int,
        max_log_bytes: int,
        max_queued: int,
        batch_size: int,
    ) -> None:
        self.connection = conn
        self._flush_interval = flush_interval
        self._max_result_bytes = max_result_bytes
        self._max_log_bytes = max_log_bytes
        self._batch_size = batch_size
        # maxlen makes append drop the oldest record once the cap is reached: bounded memory.
        self._records: deque[ExecutionRecord] = deque(maxlen=max_queued)
        self._jobs: deque[tuple[Job[object], Future[object]]] = deque()
        self._retry: list[ExecutionRow] = []  # a prepared batch the database refused, written first
        self._wake = threading.Event()
        self._refusing_records = False  # set first on close, so every accepted record is flushed
        self._closing = False
        self.dropped = 0
        self._dropped_logged = 0
        self._failures = 0
        self.thread = threading.Thread(target=self._run, name="flux-edge-store-writer", daemon=True)
        self.thread.start()

    @property
    def queued(self) -> int:
        """Execution records accepted but not yet committed."""
        return len(self._records) + len(self._retry)

    def enqueue(self, record: ExecutionRecord) -> None:
        """Queue one execution record: an O(1) append, no I/O, no lock."""
        if self._refusing_records:
            raise StoreClosedError("the store is closed; execution record not accepted")
        if len(self._records) == self._records.maxlen:
            self.dropped += 1
        self._records.append(record)

    def submit(self, job: Job[T]) -> Future[T]:
        """Run `job(connection)` on the writer thread; the future gets its result or exception."""
        if self._closing:
            raise StoreClosedError("the store is closed")
        future: Future[T] = Future()
        self._jobs.append((job, future))  # type: ignore[arg-type]
        self._wake.set()
        return future

    async def run(self, job: Job[T]) -> T:
        """Await `job(connection)` run on the writer thread."""
        return await asyncio.wrap_future(self.submit(job))

    async def flush(self) -> int:
        """Commit every record queued before this call; returns how many were written.

        Raises the storage's error when the database cannot take them (they stay queued to retry).
        """
        return await self.run(lambda _conn: self._write_queued())

    async def close(self) -> None:
        """Write what is queued, stop the thread and close the connection."""
        if self._refusing_records:
            return
        self._refusing_records = True
        try:
            await self.flush()
        except Exception as exc:  # whatever went wrong, the thread must still be stopped
            log.error("execution records lost at shutdown", count=self.queued, error=repr(exc))
        self._closing = True
        self._wake.set()
        await asyncio.to_thread(self.thread.join)

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        while True:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            while self._jobs:
                self._run_job(*self._jobs.popleft())
            if self._closing:
                break
            if time.monotonic() >= next_flush:
                next_flush = time.monotonic() + self._periodic_flush()
        self.connection.close()

    def _run_job(self, job: Job[object], future: Future[object]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(job(self.connection))
        except BaseException as exc:  # the caller decides; the thread must live on
            future.set_exception(exc)

    def _periodic_flush(self) -> float:
        """Flush if anything is queued; returns the seconds until the next attempt."""
        try:
            self._write_queued()
        except Exception as exc:  # keep the thread alive whatever the database does
            self._failures += 1
            # Back off, but never past a second, so records are durable within about a second of
            # the database taking writes again.
            delay = min(self._flush_interval * 2.0**self._failures, _MAX_BACKOFF_SECONDS)
            if self._failures == 1 or self._failures % _LOG_EVERY_N_FAILURES == 0:
                log.error(
                    "execution records not written; retrying",
                    queued=self.queued,
                    failed_attempts=self._failures,
                    error=repr(exc),
                )
            return delay
        if self._failures:
            log.info("execution records written again", failed_attempts=self._failures)
            self._failures = 0
        return self._flush_interval

    def _write_queued(self) -> int:
        """Commit the queued records, `batch_size` per transaction; runs on the writer thread."""
        self._log_drops()
        written = 0
        while self._retry or self._records:
            if not self._retry:
                self._retry = self._take_batch()
            insert_batch(self.connection, self._retry)
            written += len(self._retry)
            self._retry = []
        return written

    def _take_batch(self) -> list[ExecutionRow]:
        rows: list[ExecutionRow] = []
        while self._records and len(rows) < self._batch_size:
            record = self._records.popleft()
            try:
                rows.append(prepare_row(record, self._max_result_bytes, self._max_log_bytes))
            except Exception as exc:  # a malformed record must not hold back the others
                log.error("execution record dropped", execution_id=record.id, error=repr(exc))
        return rows

    def _log_drops(self) -> None:
        dropped = self.dropped
        if dropped != self._dropped_logged:
            log.warning(
                "execution queue full; oldest records dropped",
                dropped=dropped - self._dropped_logged,
                dropped_total=dropped,
            )
            self._dropped_logged = dropped
