"""DELETE /api/v1/functions/:name removes the function, its versions and its executions."""

from __future__ import annotations

import asyncio
import uuid

from flux_edge.store.base import ExecutionRecord
from flux_edge.store.clock import utc_now
from flux_edge.store.sqlite import SQLiteStore

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

HANDLER = "function handler() { return { status: 200, body: 'x' }; }"


def record_executions(database_path, function_id, count):
    """Write execution records through a second real store on the server's database file."""

    async def write():
        store = await SQLiteStore.open(database_path)
        try:
            for _ in range(count):
                now = utc_now()
                store.enqueue_execution(
                    ExecutionRecord(
                        id=str(uuid.uuid4()), function_id=function_id, function_version=1,
                        trigger_type="http", status="success", status_code=200, duration_ms=3,
                        result="x", logs="", error_message=None, executed_at=now, completed_at=now,
                    )
                )  # fmt: skip
            await store.flush_executions()
        finally:
            await store.close()

    asyncio.run(write())


def test_delete_returns_204_with_no_body(admin, fname):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    response = admin.delete(f"/api/v1/functions/{fname}")
    assert response.status_code == 204
    assert response.content == b""


def test_a_deleted_function_is_gone_everywhere(admin, fname):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    admin.delete(f"/api/v1/functions/{fname}")
    assert admin.get(f"/api/v1/functions/{fname}").status_code == 404
    assert admin.get(f"/api/v1/functions/{fname}/versions").status_code == 404
    assert admin.get(f"/api/v1/functions/{fname}/executions").status_code == 404
    assert fname not in [f["name"] for f in admin.get("/api/v1/functions").json()]


def test_delete_cascades_to_versions_and_executions(admin, server, fname, db_rows):
    created = admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    function_id = created.json()["id"]
    admin.put(f"/api/v1/functions/{fname}", json={"enabled": True})
    record_executions(server.database_path, function_id, 3)
    assert len(admin.get(f"/api/v1/functions/{fname}/executions").json()) == 3

    admin.delete(f"/api/v1/functions/{fname}")

    rows = db_rows()
    assert not [r for r in rows["function_versions"] if function_id in r]
    assert not [r for r in rows["executions"] if function_id in r]


def test_a_recreated_function_starts_fresh(admin, server, fname):
    old_id = admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER}).json()["id"]
    record_executions(server.database_path, old_id, 2)
    admin.delete(f"/api/v1/functions/{fname}")
    again = admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER}).json()
    assert again["version"] == 1
    assert again["id"] != old_id
    assert admin.get(f"/api/v1/functions/{fname}/executions").json() == []


def test_delete_of_an_unknown_function_is_404(admin):
    response = admin.delete("/api/v1/functions/never-created")
    assert response.status_code == 404
    assert response.json()["error"] == "Function not found"
