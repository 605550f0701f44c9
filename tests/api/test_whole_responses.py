"""A function's complete response goes out in one write (flux_edge/http/cycle.py `send_whole`),
doing for the connection what uvicorn's response cycle does: checked here on the wire, with raw
sockets against a real server, for keep-alive, HEAD, bodiless statuses, `Connection: close`,
HTTP/1.0, pipelining, and a client too slow to take a large body (the cycle's own path then waits
for the socket to drain)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess

ECHO = """
export default {
  async fetch(req) {
    const url = new URL(req.url);
    const status = Number(url.searchParams.get("status") ?? "200");
    const size = Number(url.searchParams.get("size") ?? "0");
    if (status === 204 || status === 304) return new Response(null, { status });
    const body = size ? "x".repeat(size) : JSON.stringify({ method: req.method, q: url.search });
    return new Response(body, { status, headers: { "x-echo": "yes" } });
  },
};
"""


@pytest.fixture(scope="module")
def echo(server: ServerProcess, admin: httpx.Client) -> str:
    response = admin.post(
        "/api/v1/functions", json={"name": "whole", "code": ECHO, "enabled": True}
    )
    assert response.status_code == 201, response.text
    return "/functions/v1/whole"


class Wire:
    """One client connection that reads responses off the socket exactly as sent."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65_536)
        self.buffer += chunk
        return bool(chunk)

    def response(self, *, head_request: bool = False) -> tuple[str, dict[str, str], bytes]:
        """The next response: status line, headers (lower-cased names), body."""
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"the connection closed mid-head: {self.buffer!r}"
        end = self.buffer.index(b"\r\n\r\n")
        head = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        status_line, *fields = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for field in fields:
            name, _, value = field.partition(":")
            assert name.lower() not in headers, f"{name} twice in {head!r}"
            headers[name.lower()] = value.strip()
        length = 0 if head_request else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "the connection closed mid-body"
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return status_line, headers, body

    def closed_by_server(self) -> bool:
        return not self.buffer and not self._fill()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(server: ServerProcess) -> Iterator[Wire]:
    connection = Wire(server.port)
    yield connection
    connection.close()


def request(method: str, target: str, *extra: str, version: str = "1.1") -> bytes:
    lines = [f"{method} {target} HTTP/{version}", "Host: x", *extra, "", ""]
    return "\r\n".join(lines).encode()


def test_responses_on_one_kept_alive_connection(wire: Wire, echo: str) -> None:
    for query in ("?a=1", "?a=2", "?a=3"):
        wire.send(request("GET", echo + query))
        status, headers, body = wire.response()
        assert status == "HTTP/1.1 200 OK"
        assert json.loads(body) == {"method": "GET", "q": query}
        assert headers["content-length"] == str(len(body))
        assert headers["x-echo"] == "yes"
        assert headers["x-flux-execution-id"]
        assert "connection" not in headers  # kept alive: nothing to say
        assert "date" in headers  # the server's default headers come first, as uvicorn sends them


def test_head_announces_the_length_sends_no_body_and_keeps_the_connection(
    wire: Wire, echo: str
) -> None:
    wire.send(request("HEAD", echo + "?size=1000"))
    status, headers, body = wire.response(head_request=True)
    assert (status, headers["content-length"], body) == ("HTTP/1.1 200 OK", "1000", b"")
    wire.send(request("GET", echo + "?size=7"))
    assert wire.response()[2] == b"xxxxxxx"  # nothing of the HEAD's body was in between


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_status_has_no_length_or_body_and_the_connection_goes_on(
    wire: Wire, echo: str, status: int
) -> None:
    wire.send(request("GET", f"{echo}?status={status}"))
    line, headers, body = wire.response()
    assert line.startswith(f"HTTP/1.1 {status} ")
    assert "content-length" not in headers
    assert "transfer-encoding" not in headers
    assert body == b""
    wire.send(request("GET", echo + "?size=3"))
    assert wire.response()[2] == b"xxx"


def test_a_client_asking_to_close_gets_connection_close_and_the_end(wire: Wire, echo: str) -> None:
    wire.send(request("GET", echo, "Connection: close"))
    status, headers, body = wire.response()
    assert (status, headers["connection"]) == ("HTTP/1.1 200 OK", "close")
    assert json.loads(body)["method"] == "GET"
    assert wire.closed_by_server()


def test_an_http_1_0_client_gets_its_response_and_the_end(wire: Wire, echo: str) -> None:
    wire.send(request("GET", echo, version="1.0"))
    status, headers, body = wire.response()
    assert status.endswith(" 200 OK")
    assert headers["connection"] == "close"
    assert json.loads(body)["method"] == "GET"
    assert wire.closed_by_server()


def test_pipelined_requests_are_answered_in_order(wire: Wire, echo: str) -> None:
    wire.send(
        request("GET", echo + "?n=1")
        + request("HEAD", echo + "?size=5")
        + request("GET", echo + "?status=201")
        + request("GET", echo + "?n=4", "Connection: close")
    )
    answers = [
        wire.response(),
        wire.response(head_request=True),
        wire.response(),
        wire.response(),
    ]
    assert [a[0].split(" ")[1] for a in answers] == ["200", "200", "201", "200"]
    assert json.loads(answers[0][2])["q"] == "?n=1"
    assert answers[1][1]["content-length"] == "5"
    assert answers[1][2] == b""
    assert json.loads(answers[3][2])["q"] == "?n=4"
    assert wire.closed_by_server()


def test_a_slow_reader_gets_every_byte_of_large_pipelined_bodies(wire: Wire, echo: str) -> None:
    # Each body is far larger than what the sockets hold: after the first, the transport's
    # writes are paused until the client reads, and the next response waits for the drain.
    size = 8 * 1024 * 1024
    wire.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    wire.send(request("GET", f"{echo}?size={size}") * 2 + request("GET", echo + "?last=1"))
    time.sleep(1.0)  # the server has run the first call and written what the sockets take
    for _ in range(2):
        status, headers, body = wire.response()
        assert (status, headers["content-length"], len(body)) == (
            "HTTP/1.1 200 OK",
            str(size),
            size,
        )
        assert body.count(b"x") == size
    assert json.loads(wire.response()[2])["q"] == "?last=1"


def test_each_response_has_its_access_line_when_the_client_has_it(
    server: ServerProcess, wire: Wire, echo: str
) -> None:
    wire.send(request("GET", echo + "?logged=1"))
    _, headers, _ = wire.response()
    execution_id = headers["x-flux-execution-id"]
    lines = [json.loads(x) for x in server.stdout().splitlines() if x.startswith("{")]
    [line] = [e for e in lines if e.get("execution_id") == execution_id]
    assert (line["status"], line["method"], line["function"]) == (200, "GET", "whole")
