"""Cron on a real two-worker server: a per-minute schedule fires once per minute, with the
cron request. Slow: it waits for the next minute boundary (up to ~60 s)."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import ADMIN_TOKEN, database_rows

ECHO = "function handler(req) { return {status: 200, body: JSON.stringify(req)}; }"


@pytest.mark.slow
def test_a_per_minute_schedule_fires_once_per_due_time_across_two_workers(start_server):
    srv = start_server(args=["--workers", "2"])
    admin = srv.client(ADMIN_TOKEN)
    created = admin.post(
        "/api/v1/functions",
        json={"name": "tick", "code": ECHO, "enabled": True, "cron_schedule": "* * * * *"},
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 75
    runs: list[dict] = []
    while not runs and time.monotonic() < deadline:
        time.sleep(0.5)
        runs = admin.get("/api/v1/functions/tick/executions?trigger_type=cron").json()
    assert runs, "no cron run within 75 s"
    time.sleep(2)  # time for a second worker's duplicate, if there were one, to be recorded
    runs = admin.get("/api/v1/functions/tick/executions?trigger_type=cron").json()
    assert len(runs) == 1
    request = json.loads(runs[0]["result"])
    assert request["method"] == "POST"
    assert request["url"] == f"http://127.0.0.1:{srv.port}/api/v1/functions/tick/invoke"
    assert request["headers"] == {"x-flux-trigger": "cron"}
    assert request["body"] == ""
    claims = database_rows(srv.database_path)["cron_claims"]
    assert len(claims) == 1
    assert claims[0][3] == "done"
