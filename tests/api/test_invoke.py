"""POST|GET|PUT|PATCH|DELETE /api/v1/functions/:name/invoke against a real server."""

from __future__ import annotations

import json
import time

import httpx
import pytest

ECHO = (
    "async function handler(req) {\n"
    "  console.log('method', req.method);\n"
    "  return {status: 200, headers: {'x-echo': '1'}, body: JSON.stringify(req)};\n"
    "}"
)


def deploy(admin: httpx.Client, name: str, code: str, **fields: object) -> dict:
    response = admin.post(
        "/api/v1/functions", json={"name": name, "code": code, "enabled": True, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def executions(admin: httpx.Client, name: str, **params: object) -> list[dict]:
    """The function's executions, once the batched writer has committed `expected` of them."""
    deadline = time.monotonic() + 5
    while True:
        rows = admin.get(f"/api/v1/functions/{name}/executions", params=params).json()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_method_reaches_the_handler_with_the_request_fields(admin, anonymous, fname, method):
    deploy(admin, fname, ECHO)
    response = anonymous.request(
        method,
        f"/api/v1/functions/{fname}/invoke?a=1&b=two",
        content=b'{"email":"user@example.com"}' if method != "GET" else None,
        headers={"X-Custom": "Value"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-echo"] == "1"
    seen = response.json()
    assert seen["method"] == method
    assert seen["url"].endswith(f"/api/v1/functions/{fname}/invoke?a=1&b=two")
    assert seen["url"].startswith("http://127.0.0.1:")
    assert seen["headers"]["x-custom"] == "Value"
    assert seen["params"] == {"a": "1", "b": "two"}
    assert seen["body"] == ('{"email":"user@example.com"}' if method != "GET" else "")
    assert "user_id" not in seen or seen["user_id"] is None
    assert seen["execution_id"] == response.headers["x-flux-execution-id"]


def test_a_missing_function_is_404(anonymous):
    response = anonymous.post("/api/v1/functions/no-such-function/invoke", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "Function not found"


def test_a_disabled_function_is_404(admin, anonymous, fname):
    deploy(admin, fname, ECHO, enabled=False)
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke", json={}).status_code == 404


def test_enabling_a_function_takes_effect_at_once(admin, anonymous, fname):
    deploy(admin, fname, ECHO, enabled=False)
    admin.put(f"/api/v1/functions/{fname}", json={"enabled": True})
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke", json={}).status_code == 200


def test_a_timeout_is_408_with_the_error_json_and_a_timeout_record(admin, anonymous, fname):
    deploy(admin, fname, "function handler() { while (true) {} }", timeout_seconds=1)
    response = anonymous.post(f"/api/v1/functions/{fname}/invoke", json={})
    assert response.status_code == 408, response.text
    body = response.json()
    assert body["error"] == "Function timed out"
    assert body["function"] == fname
    [record] = executions(admin, fname)
    assert record["status"] == "timeout"
    assert record["status_code"] == 408
    assert record["id"] == body["execution_id"]


def test_an_uncaught_error_is_500_and_its_record_keeps_the_stack(admin, anonymous, fname):
    code = "function handler(req) {\n  console.error('about to fail');\n  return someVariable;\n}"
    deploy(admin, fname, code)
    response = anonymous.post(f"/api/v1/functions/{fname}/invoke", json={})
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "Function execution failed"
    assert body["message"] == "ReferenceError: someVariable is not defined"
    assert body["function"] == fname
    [record] = executions(admin, fname)
    assert record["id"] == body["execution_id"]
    assert record["status"] == "error"
    assert record["result"] is None
    assert record["logs"] == "console.error: about to fail"
    assert record["error_message"].startswith("ReferenceError: someVariable is not defined")
    assert "<anonymous>:3:" in record["error_message"]


def test_a_memory_bomb_is_500_and_the_server_still_answers(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "function handler() { const a = []; for (;;) a.push(new Uint8Array(8 << 20).fill(1)) }",
        memory_limit_mb=64,
    )
    response = anonymous.post(f"/api/v1/functions/{fname}/invoke", json={})
    assert response.status_code == 500
    assert "Memory limit exceeded" in response.json()["message"]
    assert anonymous.get("/health").status_code == 200


def test_an_oversized_request_body_is_413(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    response = anonymous.post(f"/api/v1/functions/{fname}/invoke", content=b"x" * (7 << 20))
    assert response.status_code == 413
    assert response.json()["error"]


def test_every_call_is_recorded_with_its_logs_and_result(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    for _ in range(3):
        assert anonymous.post(f"/api/v1/functions/{fname}/invoke", json={"n": 1}).status_code == 200
    deadline = time.monotonic() + 5
    rows: list[dict] = []
    while len(rows) < 3 and time.monotonic() < deadline:
        rows = admin.get(f"/api/v1/functions/{fname}/executions").json()
        time.sleep(0.05)
    assert len(rows) == 3
    for row in rows:
        assert row["status"] == "success"
        assert row["status_code"] == 200
        assert row["trigger_type"] == "http"
        assert row["logs"] == "console.log: method POST"
        assert json.loads(row["result"])["body"] == '{"n":1}'
        assert row["function_version"] == 1


def test_a_function_requiring_auth_refuses_anonymous_calls(admin, anonymous, fname):
    deploy(admin, fname, ECHO, allow_unauthenticated=False)
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke", json={}).status_code == 401
    response = admin.post(f"/api/v1/functions/{fname}/invoke", json={})
    assert response.status_code == 200
    assert response.json()["user_id"]


def test_an_invalid_credential_is_401_even_on_a_public_function(admin, server, fname):
    deploy(admin, fname, ECHO)
    response = server.client("not-a-valid-token").post(f"/api/v1/functions/{fname}/invoke")
    assert response.status_code == 401


def test_a_jwt_caller_is_the_user_id(admin, server, fname, make_jwt):
    deploy(admin, fname, ECHO)
    token = make_jwt({"sub": "user-42", "role": "authenticated", "exp": int(time.time()) + 60})
    response = server.client(token).post(f"/api/v1/functions/{fname}/invoke", json={})
    assert response.json()["user_id"] == "user-42"


def test_an_update_switches_code_without_failed_calls(admin, anonymous, fname):
    deploy(admin, fname, "function handler() { return 'v1' }")
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke").text == "v1"
    admin.put(f"/api/v1/functions/{fname}", json={"code": "function handler() { return 'v2' }"})
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke").text == "v2"


def test_metrics_count_invocations_by_function_and_status(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    anonymous.post(f"/api/v1/functions/{fname}/invoke", json={})
    text = anonymous.get("/metrics").text
    assert f'flux_edge_invocations_total{{function="{fname}",status="success"}} 1.0' in text
    assert "flux_edge_isolates" in text
    assert "flux_edge_queue_depth" in text
