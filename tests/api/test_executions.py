"""GET /api/v1/functions/:name/executions: filters, pagination and parameter validation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from flux_edge.store.base import ExecutionRecord
from flux_edge.store.clock import format_utc
from flux_edge.store.sqlite import SQLiteStore

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

HANDLER = "function handler() { return { status: 200, body: 'x' }; }"
# (status, trigger_type) of the records written, oldest first.
HISTORY = [
    ("success", "http"),
    ("error", "http"),
    ("timeout", "cron"),
    ("success", "cron"),
    ("success", "websocket"),
]


@pytest.fixture(scope="module")
def history(admin, server):
    """A function with the five executions of HISTORY, written through a real store."""
    name = f"hist-{uuid.uuid4().hex[:8]}"
    function_id = admin.post("/api/v1/functions", json={"name": name, "code": HANDLER}).json()["id"]
    start = datetime(2026, 1, 1, tzinfo=UTC)

    async def write():
        store = await SQLiteStore.open(server.database_path)
        try:
            for n, (status, trigger) in enumerate(HISTORY):
                at = format_utc(start + timedelta(minutes=n))
                store.enqueue_execution(
                    ExecutionRecord(
                        id=f"exec-{n}", function_id=function_id, function_version=1,
                        trigger_type=trigger, status=status, status_code=200, duration_ms=n,
                        result=None, logs="console.log: hi", error_message=None,
                        executed_at=at, completed_at=at,
                    )
                )  # fmt: skip
            await store.flush_executions()
        finally:
            await store.close()

    asyncio.run(write())
    return name


def ids(response):
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_executions_are_newest_first(admin, history):
    assert ids(admin.get(f"/api/v1/functions/{history}/executions")) == [
        "exec-4",
        "exec-3",
        "exec-2",
        "exec-1",
        "exec-0",
    ]


def test_executions_carry_the_reference_fields_the_version_and_the_resources(admin, history):
    first = admin.get(f"/api/v1/functions/{history}/executions", params={"limit": 1}).json()[0]
    assert set(first) == {
        "id", "function_id", "function_version", "trigger_type", "status", "status_code",
        "duration_ms", "result", "logs", "error_message", "executed_at", "completed_at",
        "cpu_time_ms", "heap_used_bytes",
    }  # fmt: skip
    # Written without them (as records from before the columns existed): null, not made up.
    assert first["cpu_time_ms"] is None
    assert first["heap_used_bytes"] is None


def test_executions_filter_by_status(admin, history):
    url = f"/api/v1/functions/{history}/executions"
    assert ids(admin.get(url, params={"status": "success"})) == ["exec-4", "exec-3", "exec-0"]


def test_executions_filter_by_trigger_type(admin, history):
    url = f"/api/v1/functions/{history}/executions"
    assert ids(admin.get(url, params={"trigger_type": "cron"})) == ["exec-3", "exec-2"]


def test_executions_filter_by_status_and_trigger_type_together(admin, history):
    params = {"status": "success", "trigger_type": "cron"}
    assert ids(admin.get(f"/api/v1/functions/{history}/executions", params=params)) == ["exec-3"]


def test_executions_paginate_with_limit_and_offset(admin, history):
    url = f"/api/v1/functions/{history}/executions"
    assert ids(admin.get(url, params={"limit": 2, "offset": 1})) == ["exec-3", "exec-2"]
    assert ids(admin.get(url, params={"limit": 1000, "offset": 5})) == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"offset": -1},
        {"status": "failed"},
        {"trigger_type": "email"},
    ],
)
def test_bad_execution_query_parameters_are_400(admin, history, params):
    response = admin.get(f"/api/v1/functions/{history}/executions", params=params)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "message"}
    assert next(iter(params)) in response.json()["message"]


def test_executions_of_an_unknown_function_are_404(admin):
    assert admin.get("/api/v1/functions/never-created/executions").status_code == 404
