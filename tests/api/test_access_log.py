"""The server's own log: one JSON access line per request, and function failures at warning."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from flux_edge.api.access_log import (
    ACCESS_FIELDS_KEY,
    AccessLogMiddleware,
    access_entry,
    note_access,
)

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


# `flux-edge serve` writes the lines from its HTTP protocol (flux_edge/http/cycle.py): these
# check the responses that do not end with one sized body write.

STREAMED = """
export default {
  fetch() {
    const parts = ["one ", "two ", "three"];
    const body = new ReadableStream({
      pull(controller) {
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(part));
      },
    });
    return new Response(body, { status: 202 });
  },
};
"""

SLOW = """
export default {
  async fetch() {
    await new Promise((resolve) => setTimeout(resolve, 700));
    return new Response("late");
  },
};
"""


def lines_for(server, wanted, expected: int = 1, seconds: float = 5.0):
    """The log entries `wanted` picks, once `expected` of them are there (or the time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        found = [e for e in log_entries(server) if wanted(e)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_streamed_response_gets_one_line_with_its_status(server, admin, anonymous):
    admin.post("/api/v1/functions", json={"name": "streamed", "code": STREAMED, "enabled": True})
    answered = anonymous.get("/functions/v1/streamed")
    assert answered.status_code == 202
    assert answered.text == "one two three"
    assert answered.headers.get("transfer-encoding") == "chunked"
    execution_id = answered.headers["x-flux-execution-id"]
    [line] = lines_for(server, lambda e: e.get("execution_id") == execution_id)
    assert (line["status"], line["function"], line["method"]) == (202, "streamed", "GET")


def test_pipelined_requests_get_a_line_each_in_order(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"GET /functions/v1/piped-one HTTP/1.1\r\nHost: x\r\n\r\n"
            b"HEAD /functions/v1/piped-two HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    assert received.count(b"HTTP/1.1 404 ") == 2
    assert received.count(b"HTTP/1.1 200 ") == 1
    paths = ("/functions/v1/piped-one", "/functions/v1/piped-two")
    found = lines_for(server, lambda e: e["event"] == "request" and e["path"] in paths, 2)
    assert [(e["method"], e["path"], e["status"]) for e in found] == [
        ("GET", paths[0], 404),
        ("HEAD", paths[1], 404),
    ]


def test_a_client_that_leaves_before_the_response_is_logged_499(server, admin):
    admin.post("/api/v1/functions", json={"name": "slow-one", "code": SLOW, "enabled": True})
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.url}/functions/v1/slow-one", timeout=0.2)
    # The line comes when the call ends, with the execution the client never heard of.
    [line] = lines_for(server, lambda e: e.get("path") == "/functions/v1/slow-one")
    assert line["status"] == 499
    assert line["function"] == "slow-one"
    assert line["execution_id"]
    assert line["duration_ms"] >= 600


async def answer_204(scope, receive, send):
    note_access(scope, function="f")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_the_middleware_logs_an_app_served_otherwise_and_stands_aside_for_the_protocol():
    written: list[dict] = []

    def write(scope, status, started, noted):
        written.append(access_entry(scope, status, started, noted))

    logged = AccessLogMiddleware(answer_204, write)
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "DELETE", "path": "/x", "client": ("10.0.0.9", 1)}
    await logged(scope, receive, send)
    [line] = written
    assert (line["method"], line["path"], line["status"], line["client"]) == (
        "DELETE",
        "/x",
        204,
        "10.0.0.9",
    )
    assert line["function"] == "f"
    # The protocol put the fields in the scope: it writes the line, the middleware does not.
    served = {**scope, ACCESS_FIELDS_KEY: {}}
    await logged(served, receive, send)
    assert len(written) == 1
    assert served[ACCESS_FIELDS_KEY] == {"function": "f"}
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"] * 2
