"""Limits through side doors: request heads of any size, error bodies past the response cap
(issue 12, case 8). Each is refused or capped without stalling anyone else."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.conftest import ServerProcess

from .support import SERVER_ENV, assert_record, deploy, invoke, measured_attack

__all__ = ["SERVER_ENV"]

MAX_HEAD_BYTES = 32 * 1024
ECHO_HEADER = "function handler(req) { return String((req.headers['x-big'] || '').length) }"


def _raw_exchange(server: ServerProcess, head: bytes, then_send: int = 0) -> bytes:
    """Send a request head, read the answer, then try to keep sending `then_send` bytes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        answer = sock.recv(4096)
        sent = 0
        chunk = b"a" * (1024 * 1024)
        try:
            while sent < then_send:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what the test wants
        assert sent < then_send or then_send == 0, "the server kept reading an oversized head"
        return answer


def test_a_100_mb_request_header_is_a_431_and_stalls_nobody(
    server: ServerProcess, admin: httpx.Client, control: str
) -> None:
    name = deploy(admin, ECHO_HEADER)
    head = (
        f"POST /api/v1/functions/{name}/invoke HTTP/1.1\r\nHost: x\r\nX-Big: ".encode()
        + b"a" * (2 * MAX_HEAD_BYTES)
    )
    with measured_attack(server, admin, control):
        for _ in range(3):
            answer = _raw_exchange(server, head, then_send=100 * 1024 * 1024)
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            assert b"the request line and headers pass 32768 bytes" in answer
    assert admin.get(f"/api/v1/functions/{name}/executions").json() == []


def test_more_than_100_header_fields_are_a_431(server: ServerProcess, admin, unharmed) -> None:
    name = deploy(admin, ECHO_HEADER)
    fields = "".join(f"X-F{i}: v\r\n" for i in range(101))
    head = f"GET /api/v1/functions/{name}/invoke HTTP/1.1\r\nHost: x\r\n{fields}\r\n".encode()
    answer = _raw_exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"more than 100 header fields" in answer
    unharmed()


@pytest.mark.parametrize("size", [1, 30 * 1024])
def test_a_head_within_the_limits_reaches_the_function(admin, unharmed, size) -> None:
    name = deploy(admin, ECHO_HEADER)
    extra = {f"x-f{i}": "v" for i in range(90)}
    response = admin.post(
        f"/api/v1/functions/{name}/invoke", headers={"x-big": "b" * size, **extra}
    )
    assert (response.status_code, response.text) == (200, str(size))
    unharmed()


def test_pipelined_requests_with_bodies_are_not_counted_as_heads(
    server: ServerProcess, admin, unharmed
) -> None:
    name = deploy(admin, "function handler(req) { return String(req.body.length) }")
    body = b"x" * (200 * 1024)  # far more than the head limit, in the same packets as heads
    request = (
        f"POST /api/v1/functions/{name}/invoke HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {server.admin_token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request * 3)
        received = b""
        while received.count(b"HTTP/1.1 200 ") < 3:
            chunk = sock.recv(65536)
            assert chunk, received[:500]
            received += chunk
    assert b"HTTP/1.1 431" not in received
    unharmed()


def test_an_error_body_is_capped_like_a_response_body(admin: httpx.Client, unharmed) -> None:
    outcome = invoke(
        admin, deploy(admin, "function handler() { throw new Error('x'.repeat(2e7)) }")
    )
    assert_record(outcome, "error", 500, "Error: xxxx")
    assert len(outcome.response.content) < 200 * 1024
    assert outcome.response.json()["message"].endswith("…[truncated: 20000007 characters]")
    assert len(outcome.record["error_message"]) < 200 * 1024
    unharmed()
