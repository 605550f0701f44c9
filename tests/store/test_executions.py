"""Listing, truncating and pruning execution records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apsw

from flux_edge.store._queries import executions_query
from flux_edge.store.base import ExecutionQuery
from flux_edge.store.sqlite import PRUNE_BATCH, SQLiteStore

from .factories import execution_record, function_record


async def _stored(store: SQLiteStore, *records_fields: dict[str, Any]) -> None:
    await store.create_function(function_record())
    for fields in records_fields:
        store.enqueue_execution(execution_record(**fields))
    await store.flush_executions()


async def _ids(store: SQLiteStore, **query: Any) -> list[str]:
    listed = await store.list_executions(ExecutionQuery(function_id="fn-hello", **query))
    return [e.id for e in listed]


async def test_executions_come_back_newest_first_with_their_fields(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    old = execution_record(id="old", executed_at="2024-10-26T09:00:00Z")
    new = execution_record(id="new", executed_at="2024-10-26T11:00:00Z", status="error")
    store.enqueue_execution(old)
    store.enqueue_execution(new)
    await store.flush_executions()
    assert await store.list_executions(ExecutionQuery(function_id="fn-hello")) == [new, old]


async def test_ordering_follows_time_not_text_across_timestamp_forms(store: SQLiteStore) -> None:
    # As text, "10:00:00Z" sorts after "10:00:00.500000Z"; as time it is earlier.
    await _stored(
        store,
        {"id": "whole", "executed_at": "2024-10-26T10:00:00Z"},
        {"id": "half", "executed_at": "2024-10-26T10:00:00.500000Z"},
        {"id": "offset", "executed_at": "2024-10-26T12:00:00.250+02:00"},
    )
    assert await _ids(store) == ["half", "offset", "whole"]


async def test_executions_filter_by_status(store: SQLiteStore) -> None:
    await _stored(store, {"id": "ok", "status": "success"}, {"id": "bad", "status": "error"})
    assert await _ids(store, status="error") == ["bad"]


async def test_executions_filter_by_trigger_type(store: SQLiteStore) -> None:
    await _stored(
        store, {"id": "web", "trigger_type": "http"}, {"id": "tick", "trigger_type": "cron"}
    )
    assert await _ids(store, trigger_type="cron") == ["tick"]


async def test_pages_do_not_overlap_even_with_equal_timestamps(store: SQLiteStore) -> None:
    await _stored(store, *({"id": f"e{i}"} for i in range(5)))
    pages = [await _ids(store, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert pages == [["e4", "e3"], ["e2", "e1"], ["e0"]]


async def test_other_functions_executions_are_not_listed(store: SQLiteStore) -> None:
    await store.create_function(function_record("other"))
    await _stored(store, {"id": "mine"}, {"id": "theirs", "function_id": "fn-other"})
    assert await _ids(store) == ["mine"]


async def test_every_listing_walks_an_index_in_order_without_sorting(
    store: SQLiteStore, db_path: Path
) -> None:
    conn = apsw.Connection(str(db_path))
    filters: list[dict[str, Any]] = [
        {},
        {"status": "error"},
        {"trigger_type": "cron"},
        {"status": "error", "trigger_type": "cron"},
    ]
    for fields in filters:
        sql, params = executions_query(ExecutionQuery(function_id="f", **fields))
        plan = " | ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USING INDEX executions_newest" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    conn.close()


async def test_long_result_and_logs_are_cut_with_a_marker(db_path: Path) -> None:
    small = await SQLiteStore.open(db_path, max_result_bytes=100, max_log_bytes=200)
    try:
        await _stored(small, {"result": "r" * 150, "logs": "l" * 1000, "error_message": "e" * 10})
        (stored,) = await small.list_executions(ExecutionQuery(function_id="fn-hello"))
    finally:
        await small.close()
    assert stored.result == "r" * 100 + "\n…[truncated 50 bytes]"
    assert stored.logs == "l" * 200 + "\n…[truncated 800 bytes]"
    assert stored.error_message == "e" * 10


async def test_truncation_counts_bytes_and_never_splits_a_character(db_path: Path) -> None:
    small = await SQLiteStore.open(db_path, max_result_bytes=10)
    try:
        await _stored(small, {"result": "€" * 5})  # 15 bytes; 10 bytes would split the 4th
        (stored,) = await small.list_executions(ExecutionQuery(function_id="fn-hello"))
    finally:
        await small.close()
    assert stored.result == "€€€\n…[truncated 6 bytes]"


async def test_pruning_deletes_only_older_executions(store: SQLiteStore) -> None:
    await _stored(
        store,
        {"id": "old", "executed_at": "2024-09-01T00:00:00Z"},
        {"id": "edge", "executed_at": "2024-10-01T00:00:00Z"},
        {"id": "new", "executed_at": "2024-10-20T00:00:00Z"},
    )
    assert await store.prune_executions("2024-10-01T00:00:00Z") == 1
    assert await _ids(store) == ["new", "edge"]


async def test_pruning_more_than_one_batch_deletes_them_all(store: SQLiteStore) -> None:
    await _stored(store, *({"executed_at": "2024-01-01T00:00:00Z"} for _ in range(PRUNE_BATCH + 7)))
    assert await store.prune_executions("2024-02-01T00:00:00Z") == PRUNE_BATCH + 7
    assert await _ids(store) == []
