"""Records with sensible defaults for the store tests; override any field by keyword."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import apsw

from flux_edge.store.base import ExecutionRecord, FunctionRecord, TokenRecord

_ids = itertools.count(1)


def function_record(name: str = "hello", **fields: Any) -> FunctionRecord:
    values: dict[str, Any] = {
        "id": f"fn-{name}",
        "name": name,
        "description": "says hello",
        "code": "function handler(req) { return 'hi'; }",
        "compiled": "function handler(req) { return 'hi'; }",
        "version": 1,
        "enabled": True,
        "timeout_seconds": 30,
        "memory_limit_mb": 128,
        "allow_net": True,
        "allow_env": True,
        "allow_read": False,
        "allow_write": False,
        "allow_unauthenticated": True,
        "cron_schedule": None,
        "env": {"GREETING": "hi"},
        "created_at": "2024-10-26T10:00:00Z",
        "updated_at": "2024-10-26T10:00:00Z",
        "created_by": "user-1",
    }
    values.update(fields)
    return FunctionRecord(**values)


def execution_record(function_id: str = "fn-hello", **fields: Any) -> ExecutionRecord:
    values: dict[str, Any] = {
        "id": f"exec-{next(_ids)}",
        "function_id": function_id,
        "function_version": 1,
        "trigger_type": "http",
        "status": "success",
        "status_code": 200,
        "duration_ms": 12,
        "result": '{"ok":true}',
        "logs": "console.log: hi",
        "error_message": None,
        "executed_at": "2024-10-26T10:00:00Z",
        "completed_at": "2024-10-26T10:00:01Z",
    }
    values.update(fields)
    return ExecutionRecord(**values)


def token_record(name: str = "ci", **fields: Any) -> TokenRecord:
    values: dict[str, Any] = {
        "id": f"tok-{next(_ids)}",
        "name": name,
        "token_hash": f"hash-{next(_ids)}",
        "created_at": "2024-10-26T10:00:00Z",
    }
    values.update(fields)
    return TokenRecord(**values)


def count_rows(path: Path, table: str) -> int:
    """Count rows through a connection of its own, i.e. what is committed on disk."""
    conn = apsw.Connection(str(path))
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
    finally:
        conn.close()
