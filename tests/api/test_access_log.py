"""The server's own log: one JSON access line per request, and function failures at warning."""

from __future__ import annotations

import json

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}


def log_entries(server):
    return [json.loads(line) for line in server.stdout().splitlines() if line.startswith("{")]


def test_an_invocation_line_names_the_function_execution_and_caller(server, admin, anonymous):
    code = "function handler() { return { status: 201, body: 'made' }; }"
    admin.post("/api/v1/functions", json={"name": "logged", "code": code, "enabled": True})
    answered = anonymous.post("/api/v1/functions/logged/invoke", content=b"{}")
    assert answered.status_code == 201
    execution_id = answered.headers["x-flux-execution-id"]
    [line] = [e for e in log_entries(server) if e.get("execution_id") == execution_id]
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["function"] == "logged"
    assert line["caller"] == "anonymous"
    assert line["status"] == 201
    assert line["method"] == "POST"
    assert line["path"] == "/api/v1/functions/logged/invoke"
    assert line["client"] == "127.0.0.1"
    assert line["duration_ms"] > 0
    assert line["timestamp"].endswith("Z")


def test_an_authenticated_call_logs_the_callers_kind_never_its_token(server, admin):
    code = "function handler() { return { status: 200, body: 'ok' }; }"
    admin.post("/api/v1/functions", json={"name": "by-admin", "code": code, "enabled": True})
    answered = admin.post("/api/v1/functions/by-admin/invoke", content=b"{}")
    execution_id = answered.headers["x-flux-execution-id"]
    [line] = [e for e in log_entries(server) if e.get("execution_id") == execution_id]
    assert line["caller"] == "admin"
    assert server.admin_token not in server.stdout()


def test_a_failing_function_is_logged_at_warning_with_its_error(server, admin, anonymous):
    code = "function handler() { throw new RangeError('the widget is out of range'); }"
    admin.post("/api/v1/functions", json={"name": "failing", "code": code, "enabled": True})
    answered = anonymous.post("/api/v1/functions/failing/invoke", content=b"{}")
    assert answered.status_code == 500
    execution_id = answered.headers["x-flux-execution-id"]
    entries = [e for e in log_entries(server) if e.get("execution_id") == execution_id]
    [failure] = [e for e in entries if e["event"] == "function_failed"]
    assert failure["level"] == "warning"
    assert failure["function"] == "failing"
    assert failure["outcome"] == "error"
    assert "RangeError: the widget is out of range" in failure["error"]


def test_at_log_level_warning_requests_are_not_logged(start_server):
    quiet = start_server(extra_env={"FLUX_EDGE_LOG_LEVEL": "warning"})
    assert quiet.client().get("/health?probe=quiet").status_code == 200
    assert "probe=quiet" not in quiet.stdout()
    assert not [e for e in log_entries(quiet) if e.get("event") == "request"]
