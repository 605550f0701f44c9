"""Execution records older than the retention period are pruned; newer ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flux_edge.service.retention import RetentionPruner
from flux_edge.store.base import ExecutionQuery, ExecutionRecord, FunctionRecord
from flux_edge.store.clock import format_utc, utc_now
from flux_edge.store.sqlite import SQLiteStore


def _function() -> FunctionRecord:
    now = utc_now()
    return FunctionRecord(
        id="fn-retention", name="retention", description=None, code="x", compiled="x",
        version=1, enabled=True, timeout_seconds=30, memory_limit_mb=128, allow_net=True,
        allow_env=True, allow_read=False, allow_write=False, allow_unauthenticated=True,
        cron_schedule=None, env={}, created_at=now, updated_at=now, created_by=None,
    )  # fmt: skip


def _execution(execution_id: str, days_ago: float) -> ExecutionRecord:
    at = format_utc(datetime.now(UTC) - timedelta(days=days_ago))
    return ExecutionRecord(
        id=execution_id, function_id="fn-retention", function_version=1, trigger_type="http",
        status="success", status_code=200, duration_ms=1, result="ok", logs=None,
        error_message=None, executed_at=at, completed_at=at,
    )  # fmt: skip


async def test_records_older_than_the_retention_period_are_deleted(tmp_path):
    store = await SQLiteStore.open(tmp_path / "db.sqlite")
    try:
        await store.create_function(_function())
        for execution_id, days_ago in [("old", 31), ("older", 400), ("recent", 29), ("now", 0)]:
            store.enqueue_execution(_execution(execution_id, days_ago))
        await store.flush_executions()
        removed = await RetentionPruner(store, days=30).prune_once()
        kept = await store.list_executions(ExecutionQuery(function_id="fn-retention"))
        assert removed == 2
        assert sorted(record.id for record in kept) == ["now", "recent"]
    finally:
        await store.close()
