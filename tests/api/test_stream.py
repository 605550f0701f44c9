"""The WebSocket endpoint /api/v1/functions/stream against a real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ADMIN_TOKEN

ECHO = "function handler(req) { return {status: 201, headers: {'x-echo': '1'}, body: req.body}; }"
SLEEP = (
    "async function handler(req) {\n"
    "  const {ms, tag} = JSON.parse(req.body);\n"
    "  await new Promise((resolve) => setTimeout(resolve, ms));\n"
    "  return {tag};\n"
    "}"
)
TEXT = "function handler() { return 'plain words'; }"
PRIVATE = "function handler(req) { return {who: req.user_id}; }"
NAP = (
    "async function handler() {\n"
    "  await new Promise((resolve) => setTimeout(resolve, 150));\n"
    "  return 'rested';\n"
    "}"
)


def deploy(admin, name: str, code: str, **fields: object) -> None:
    response = admin.post(
        "/api/v1/functions", json={"name": name, "code": code, "enabled": True, **fields}
    )
    assert response.status_code == 201, response.text


def stream_url(server, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/api/v1/functions/stream{query}"


@pytest.fixture
def ws(server) -> Iterator[ClientConnection]:
    """An anonymous socket to the module's server."""
    with connect(stream_url(server), open_timeout=10) as socket:
        yield socket


def receive(socket: ClientConnection) -> dict:
    return json.loads(socket.recv(timeout=15))


def call(socket: ClientConnection, message: dict) -> dict:
    socket.send(json.dumps(message))
    return receive(socket)


def test_a_call_returns_status_headers_parsed_json_body_and_execution_id(admin, ws, fname):
    deploy(admin, fname, ECHO)
    result = call(ws, {"function": fname, "payload": {"hello": [1, 2]}, "id": "a-1"})
    assert result["type"] == "result"
    assert result["id"] == "a-1"
    assert result["status"] == 201
    assert result["body"] == {"hello": [1, 2]}  # the JSON-encoded payload, echoed and parsed
    assert result["headers"]["x-echo"] == "1"
    assert result["execution_id"]


def test_text_bodies_come_back_as_text(admin, ws, fname):
    deploy(admin, fname, TEXT)
    result = call(ws, {"function": fname, "payload": None, "id": 7})
    assert (result["id"], result["status"], result["body"]) == (7, 200, "plain words")


def test_concurrent_calls_answer_as_they_finish_matched_by_id(admin, ws, fname):
    deploy(admin, fname, SLEEP)
    for tag, ms in (("slow", 900), ("medium", 450), ("fast", 0)):
        ws.send(json.dumps({"function": fname, "payload": {"ms": ms, "tag": tag}, "id": tag}))
    results = [receive(ws) for _ in range(3)]
    # Run one after another, the slow call would answer first.
    assert [r["id"] for r in results] == ["fast", "medium", "slow"]
    assert all(r["body"] == {"tag": r["id"]} for r in results)


def test_a_call_is_recorded_with_trigger_type_websocket(admin, ws, fname):
    deploy(admin, fname, ECHO)
    result = call(ws, {"function": fname, "payload": 1, "id": 1})
    deadline = time.monotonic() + 5
    rows: list[dict] = []
    while not rows and time.monotonic() < deadline:
        rows = admin.get(
            f"/api/v1/functions/{fname}/executions", params={"trigger_type": "websocket"}
        ).json()
        time.sleep(0.1)
    assert [r["id"] for r in rows] == [result["execution_id"]]


def test_a_call_running_when_the_client_leaves_still_finishes_and_is_recorded(admin, server, fname):
    deploy(admin, fname, SLEEP)
    with connect(stream_url(server), open_timeout=10) as ws:
        ws.send(json.dumps({"function": fname, "payload": {"ms": 300, "tag": "left"}}))
    deadline = time.monotonic() + 5
    rows: list[dict] = []
    while not rows and time.monotonic() < deadline:
        rows = admin.get(f"/api/v1/functions/{fname}/executions").json()
        time.sleep(0.1)
    assert [(r["status"], r["trigger_type"]) for r in rows] == [("success", "websocket")]
    assert server.client().get("/health").status_code == 200


def test_a_missing_or_disabled_function_answers_404(admin, ws, fname):
    deploy(admin, fname, ECHO, enabled=False)
    disabled = call(ws, {"function": fname, "payload": {}, "id": "d"})
    missing = call(ws, {"function": "no-such-function", "id": "m"})
    assert (disabled["id"], disabled["status"]) == ("d", 404)
    assert disabled["body"]["error"] == "Function not found"
    assert (missing["id"], missing["status"]) == ("m", 404)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "Send an object"),
        ('{"payload": 1, "id": 3}', "'function'"),
        ('{"function": 5}', "'function'"),
        ('{"function": "f", "extra": true}', "'extra'"),
        ('{"type": "auth"}', "auth"),
    ],
)
def test_a_malformed_message_gets_an_error_and_the_socket_stays_open(
    admin, ws, fname, raw, fragment
):
    deploy(admin, fname, ECHO)
    ws.send(raw)
    error = receive(ws)
    assert error["type"] == "error"
    assert error["error"] == "Invalid message"
    assert fragment in error["message"]
    assert call(ws, {"function": fname, "payload": "still open", "id": 1})["status"] == 201


def test_an_error_for_a_message_with_an_id_carries_that_id(ws):
    ws.send(json.dumps({"function": 12, "id": "bad-1"}))
    assert receive(ws)["id"] == "bad-1"


def test_an_invalid_token_at_connect_is_refused_and_the_socket_closed(server):
    with connect(
        stream_url(server), additional_headers={"Authorization": "Bearer wrong"}, open_timeout=10
    ) as socket:
        error = receive(socket)
        assert (error["type"], error["status"], error["error"]) == ("error", 401, "Unauthorized")
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_an_invalid_auth_message_closes_the_socket(ws):
    ws.send(json.dumps({"type": "auth", "token": "wrong"}))
    assert receive(ws)["status"] == 401
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)


def test_a_function_requiring_a_credential_answers_401_without_one(admin, ws, fname):
    deploy(admin, fname, PRIVATE, allow_unauthenticated=False)
    assert call(ws, {"function": fname, "id": 1})["status"] == 401


@pytest.mark.parametrize("how", ["header", "query", "message"])
def test_a_credential_reaches_the_function_however_it_is_sent(admin, server, fname, make_jwt, how):
    deploy(admin, fname, PRIVATE, allow_unauthenticated=False)
    token = make_jwt({"sub": "user-42"})
    headers = {"Authorization": f"Bearer {token}"} if how == "header" else {}
    query = f"?token={token}" if how == "query" else ""
    with connect(stream_url(server, query), additional_headers=headers, open_timeout=10) as ws:
        if how == "message":
            ack = call(ws, {"type": "auth", "token": token, "id": "auth"})
            assert (ack["type"], ack["status"], ack["id"]) == ("auth", 200, "auth")
        result = call(ws, {"function": fname, "id": 1})
    assert (result["status"], result["body"]) == (200, {"who": "user-42"})


def test_the_admin_token_works_as_for_http(admin, server, fname):
    deploy(admin, fname, PRIVATE, allow_unauthenticated=False)
    with connect(stream_url(server, f"?token={ADMIN_TOKEN}"), open_timeout=10) as ws:
        assert call(ws, {"function": fname, "id": 1})["body"] == {"who": "admin"}


def most_at_once(rows: list[dict]) -> int:
    """The largest number of executions whose [executed_at, completed_at] intervals overlap."""
    events = sorted(
        [(row["executed_at"], 1) for row in rows] + [(row["completed_at"], -1) for row in rows],
        key=lambda event: (datetime.fromisoformat(event[0]), event[1]),
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_in_flight_calls_per_socket_are_bounded(start_server):
    srv = start_server(extra_env={"FLUX_EDGE_WS_MAX_IN_FLIGHT": "2"})
    admin = srv.client(ADMIN_TOKEN)
    deploy(admin, "nap", NAP)
    with connect(stream_url(srv), open_timeout=10) as ws:
        for n in range(6):
            ws.send(json.dumps({"function": "nap", "id": n}))
        assert sorted(receive(ws)["id"] for _ in range(6)) == list(range(6))
    deadline = time.monotonic() + 5
    rows: list[dict] = []
    while len(rows) < 6 and time.monotonic() < deadline:
        rows = admin.get("/api/v1/functions/nap/executions").json()
        time.sleep(0.1)
    assert len(rows) == 6
    # Six were sent at once; the socket read (and so started) the next only when one finished.
    assert most_at_once(rows) == 2


def test_the_invoke_rate_limit_applies_to_each_message(start_server):
    srv = start_server(
        extra_env={"FLUX_EDGE_RATE_LIMITS": "on", "FLUX_EDGE_RATE_LIMIT_INVOKE": "2/min"}
    )
    deploy(srv.client(ADMIN_TOKEN), "limited", TEXT)
    with connect(stream_url(srv), open_timeout=10) as ws:
        results = [call(ws, {"function": "limited", "id": n}) for n in range(3)]
    assert [r["status"] for r in results] == [200, 200, 429]
    assert results[2]["body"]["error"] == "Rate limit exceeded"
    assert results[2]["body"]["retry_after"] == 30
    assert results[2]["headers"]["retry-after"] == "30"
