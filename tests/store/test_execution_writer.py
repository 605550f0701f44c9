"""The batched execution writer: queueing, durability, shutdown, a database refusing writes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from flux_edge.store._executions import insert_batch, prepare_row
from flux_edge.store._writer import StoreClosedError
from flux_edge.store.base import ExecutionQuery
from flux_edge.store.sqlite import SQLiteStore

from .factories import count_rows, execution_record, function_record


async def _eventually(condition: Callable[[], bool]) -> bool:
    """Poll `condition` (state on disk, which has no event to wait on) for up to five seconds."""
    for _ in range(250):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def test_a_flushed_record_is_on_disk(store: SQLiteStore, db_path: Path) -> None:
    await store.create_function(function_record())
    store.enqueue_execution(execution_record())
    await store.flush_executions()
    assert count_rows(db_path, "executions") == 1
    assert store.queued_executions == 0


async def test_a_queued_record_is_written_within_the_flush_interval(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path, flush_interval=0.05)
    try:
        await store.create_function(function_record())
        store.enqueue_execution(execution_record())
        assert await _eventually(lambda: count_rows(db_path, "executions") == 1)
    finally:
        await store.close()


async def test_enqueue_only_queues_and_the_writer_thread_commits(
    store: SQLiteStore, db_path: Path
) -> None:
    await store.create_function(function_record())
    committing_threads: list[str] = []

    def watch_commits(conn: apsw.Connection) -> None:
        def hook() -> bool:
            committing_threads.append(threading.current_thread().name)
            return False  # False lets the commit proceed

        conn.set_commit_hook(hook)

    await store._writer.run(watch_commits)

    store.enqueue_execution(execution_record())

    assert store.queued_executions == 1
    assert committing_threads == []
    assert count_rows(db_path, "executions") == 0
    await store.flush_executions()
    assert committing_threads == ["flux-edge-store-writer"]
    assert threading.current_thread().name != "flux-edge-store-writer"
    assert count_rows(db_path, "executions") == 1


async def test_close_writes_every_queued_record(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path, flush_interval=30.0)
    await store.create_function(function_record())
    for _ in range(3):
        store.enqueue_execution(execution_record())
    await store.close()

    reopened = await SQLiteStore.open(db_path)
    try:
        assert len(await reopened.list_executions(ExecutionQuery(function_id="fn-hello"))) == 3
    finally:
        await reopened.close()


async def test_a_closed_store_refuses_records(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.close()
    with pytest.raises(StoreClosedError):
        store.enqueue_execution(execution_record())


async def test_records_of_a_deleted_function_are_dropped_quietly(
    store: SQLiteStore, db_path: Path
) -> None:
    await store.create_function(function_record("gone"))
    await store.create_function(function_record("kept"))
    store.enqueue_execution(execution_record("fn-gone"))
    store.enqueue_execution(execution_record("fn-kept", id="kept-1"))
    await store.delete_function("gone")

    await store.flush_executions()

    assert store.queued_executions == 0
    listed = await store.list_executions(ExecutionQuery(function_id="fn-kept"))
    assert [e.id for e in listed] == ["kept-1"]
    assert count_rows(db_path, "executions") == 1


async def test_a_malformed_record_does_not_hold_back_the_others(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    store.enqueue_execution(execution_record(id="bad", executed_at="yesterday"))
    store.enqueue_execution(execution_record(id="good"))
    await store.flush_executions()
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello"))
    assert [e.id for e in listed] == ["good"]


def _fill_up(conn: apsw.Connection) -> None:
    pages = conn.execute("PRAGMA page_count").fetchall()[0][0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # no room to grow: SQLITE_FULL


def _make_room(conn: apsw.Connection) -> None:
    conn.execute("PRAGMA max_page_count = 1073741823")


def _make_read_only(conn: apsw.Connection) -> None:
    conn.execute("PRAGMA query_only = ON")  # SQLITE_READONLY, like a file mounted read-only


def _make_writable(conn: apsw.Connection) -> None:
    conn.execute("PRAGMA query_only = OFF")


@pytest.mark.parametrize(
    ("refuse", "allow", "error"),
    [(_fill_up, _make_room, apsw.FullError), (_make_read_only, _make_writable, apsw.ReadOnlyError)],
    ids=["full-disk", "read-only"],
)
async def test_a_database_refusing_writes_keeps_the_records_and_retries_them(
    db_path: Path,
    refuse: Callable[[apsw.Connection], None],
    allow: Callable[[apsw.Connection], None],
    error: type[apsw.Error],
) -> None:
    store = await SQLiteStore.open(db_path, flush_interval=0.02)
    try:
        await store.create_function(function_record())
        await store._writer.run(refuse)
        store.enqueue_execution(execution_record(logs="x" * 100_000))

        with pytest.raises(error):
            await store.flush_executions()
        await asyncio.sleep(0.2)  # several periodic attempts fail meanwhile
        assert store.queued_executions == 1
        assert count_rows(db_path, "executions") == 0
        assert store._writer.thread.is_alive()

        await store._writer.run(allow)
        assert await _eventually(lambda: count_rows(db_path, "executions") == 1)
        assert store.queued_executions == 0
    finally:
        await store.close()


async def test_beyond_the_queue_cap_the_oldest_records_are_dropped_and_counted(
    db_path: Path,
) -> None:
    store = await SQLiteStore.open(db_path, flush_interval=30.0, max_queued_executions=3)
    try:
        await store.create_function(function_record())
        for i in range(5):
            store.enqueue_execution(execution_record(id=f"e{i}"))
        assert (store.queued_executions, store.dropped_executions) == (3, 2)
        await store.flush_executions()
        listed = await store.list_executions(ExecutionQuery(function_id="fn-hello"))
        assert sorted(e.id for e in listed) == ["e2", "e3", "e4"]
    finally:
        await store.close()


async def test_a_duplicate_execution_id_loses_only_the_duplicate(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    store.enqueue_execution(execution_record(id="same", status="success"))
    store.enqueue_execution(execution_record(id="same", status="error"))
    store.enqueue_execution(execution_record(id="other"))
    await store.flush_executions()
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello"))
    assert sorted((e.id, e.status) for e in listed) == [("other", "success"), ("same", "success")]


async def test_a_large_batch_keeps_every_row_and_its_fields(store: SQLiteStore) -> None:
    # 128 + 8 + 3 rows: one statement of each multi-row size, then the rest one by one; each row
    # comes back with its own values, none shifted into a neighbour's columns.
    await store.create_function(function_record())
    sent = [
        execution_record(
            id=f"r{n:03d}",
            status_code=200 + n,
            duration_ms=n,
            result=f"body {n}",
            logs=f"line {n}",
            executed_at=f"2024-10-26T10:{n // 60:02d}:{n % 60:02d}Z",
            cpu_time_ms=n / 8,
            heap_used_bytes=1000 + n,
        )
        for n in range(139)
    ]
    for record in sent:
        store.enqueue_execution(record)
    await store.flush_executions()
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello", limit=500))
    assert sorted(listed, key=lambda e: e.id) == sent


async def test_a_duplicate_in_a_multi_row_statement_loses_only_the_duplicate(
    store: SQLiteStore,
) -> None:
    await store.create_function(function_record())
    for n in range(200):
        store.enqueue_execution(execution_record(id="same" if n in (5, 70) else f"e{n}"))
    await store.flush_executions()
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello", limit=500))
    assert len(listed) == 199
    assert sum(e.id == "same" for e in listed) == 1


async def test_closing_twice_is_harmless(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.close()
    await store.close()
    assert not store._writer.thread.is_alive()


async def test_a_record_with_a_non_string_function_id_is_dropped(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    store.enqueue_execution(execution_record(function_id=42))
    store.enqueue_execution(execution_record(id="good"))
    await store.flush_executions()
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello"))
    assert [e.id for e in listed] == ["good"]
    assert store.queued_executions == 0


async def test_a_lone_surrogate_in_logs_is_stored_as_a_replacement(store: SQLiteStore) -> None:
    # JavaScript strings may hold unpaired surrogates, which UTF-8 cannot encode.
    await store.create_function(function_record())
    store.enqueue_execution(execution_record(id="odd", logs="console.log: a\udc80b"))
    store.enqueue_execution(execution_record(id="plain"))
    await store.flush_executions()
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello"))
    assert {e.id: e.logs for e in listed} == {"odd": "console.log: a?b", "plain": "console.log: hi"}


async def test_two_stores_on_one_file_both_get_their_records_written(db_path: Path) -> None:
    # Several worker processes share the database; each has its own writer.
    first = await SQLiteStore.open(db_path)
    second = await SQLiteStore.open(db_path)
    try:
        await first.create_function(function_record())
        for i in range(200):
            (first if i % 2 else second).enqueue_execution(execution_record())
        await asyncio.gather(first.flush_executions(), second.flush_executions())
        assert count_rows(db_path, "executions") == 200
    finally:
        await first.close()
        await second.close()


class _FileOpens(apsw.VFS):
    """The default VFS, noting the kind (SQLITE_OPEN_* flags) of every file SQLite opens."""

    def __init__(self, name: str) -> None:
        self.flags: list[int] = []
        super().__init__(name, "")

    def xOpen(self, name: str | apsw.URIFilename | None, flags: list[int]) -> apsw.VFSFile:
        self.flags.append(flags[0])
        return super().xOpen(name, flags)


async def test_a_batch_is_written_without_a_statement_journal(db_path: Path) -> None:
    # A multi-row INSERT that could abort halfway makes SQLite copy every page it changes into a
    # statement journal, spilled to a temporary file past 64 KiB: ~40 % of the writer's time.
    store = await SQLiteStore.open(db_path)
    await store.create_function(function_record())
    await store.close()
    opens = _FileOpens("flux-edge-test-opens")
    conn = apsw.Connection(str(db_path), vfs="flux-edge-test-opens")
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        rows = [
            prepare_row(execution_record(logs="console.log: " + "x" * 2000), 65536, 65536)
            for _ in range(1000)
        ]
        insert_batch(conn, rows)
        assert conn.execute("SELECT count(*) FROM executions").fetchall() == [(1000,)]
        assert not [f for f in opens.flags if f & apsw.SQLITE_OPEN_SUBJOURNAL]
    finally:
        conn.close()
        opens.unregister()


async def test_foreign_keys_stay_enforced_after_batches(store: SQLiteStore, db_path: Path) -> None:
    # Batches run without foreign-key checks; the writer's connection gets them back after each,
    # the one that falls back to row by row (a duplicate id) included, so deletes still cascade.
    await store.create_function(function_record("gone"))
    await store.create_function(function_record("kept"))
    for n in range(150):
        store.enqueue_execution(execution_record("fn-gone"))
        store.enqueue_execution(execution_record("fn-kept", id="dup" if n in (3, 90) else f"k{n}"))
    await store.flush_executions()
    assert count_rows(db_path, "executions") == 299

    def enforced(conn: apsw.Connection) -> object:
        return conn.execute("PRAGMA foreign_keys").fetchall()[0][0]

    assert await store._writer.run(enforced) == 1
    await store.delete_function("gone")
    assert count_rows(db_path, "executions") == 149
