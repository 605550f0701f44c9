"""A request's light cycle (flux_edge/http/direct.py) and the moments it becomes uvicorn's.

A real uvicorn server on loopback runs flux-edge's HTTP protocol over a small ASGI app of this
module, and raw sockets talk to it, so each branch is reached on the wire: a whole response
written at once; two ASGI messages, a stream, a failing app, an app that answers nothing, each
continued by uvicorn's cycle; a large body, an `Expect: 100-continue`, a client gone mid-body,
each handed to uvicorn's cycle before the app starts. Every response header `x-cycle` names the
cycle the app was given, so a test fails if a request takes the other path.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from flux_edge.http.cycle import ACCESS_LINES, send_whole
from flux_edge.http.protocol import BoundedHttpToolsProtocol
from tests.api.test_whole_responses import Wire, request

# What the app saw, by request path: its receive messages after the body, once the client left.
SEEN: dict[str, list[str]] = {}


async def read_body(receive: Any) -> tuple[bytes, int]:
    body, messages = b"", 0
    while True:
        message = await receive()
        messages += 1
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, messages


async def app(scope: Any, receive: Any, send: Any) -> None:
    """One behaviour per path (see the tests)."""
    path = scope["path"]
    cycle = type(getattr(send, "__self__", None)).__name__.encode()
    if path == "/gone-mid-body":
        SEEN[path] = [(await receive())["type"]]
        return
    body, messages = await read_body(receive)
    reply = b"%d bytes in %d messages" % (len(body), messages)
    fields = b"x-cycle: %s\r\ncontent-length: %d\r\n" % (cycle, len(reply))
    if path == "/whole":
        assert send_whole(send, 200, fields, reply)
    elif path == "/whole-then-raise":
        assert send_whole(send, 200, fields, reply)
        raise RuntimeError("after the response")
    elif path == "/messages":
        headers = [(b"x-cycle", cycle), (b"content-length", str(len(reply)).encode())]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": reply})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-cycle", cycle)]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/raise":
        raise RuntimeError("before any response")
    elif path == "/wait-for-the-client":
        assert send_whole(send, 200, fields, reply)
        SEEN[path] = [(await receive())["type"]]
    # "/nothing": returns without a response


class Protocol(BoundedHttpToolsProtocol):
    """flux-edge's protocol as `flux-edge serve` runs it. uvicorn writes its own access lines
    when its access logger has handlers, and then every request keeps uvicorn's cycle; pytest's
    log capture gives that logger handlers, which the server's logging setup never does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False


class Server:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http=Protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )


@pytest.fixture(scope="module")
def access_lines() -> Iterator[list[tuple[str, int]]]:
    lines: list[tuple[str, int]] = []
    previous = ACCESS_LINES.write
    ACCESS_LINES.write = lambda scope, status, started, fields: lines.append(
        (scope["path"], status)
    )
    yield lines
    ACCESS_LINES.write = previous


@pytest.fixture(scope="module")
def port(access_lines: list[tuple[str, int]]) -> Iterator[int]:
    server = Server()
    server.thread.start()
    deadline = time.monotonic() + 10
    while not server.server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield server.port
    server.server.should_exit = True
    server.thread.join(10)


@pytest.fixture
def wire(port: int) -> Iterator[Wire]:
    connection = Wire(port)
    yield connection
    connection.close()


def post(path: str, body: bytes, *extra: str) -> bytes:
    return request("POST", path, f"Content-Length: {len(body)}", *extra) + body


def answer(wire: Wire) -> tuple[str, str, bytes]:
    """The next response's status line, the cycle its app was given, and its body."""
    status, headers, body = wire.response()
    return status, headers["x-cycle"], body


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_whole_response_goes_from_the_light_cycle_with_its_access_line(
    wire: Wire, access_lines: list[tuple[str, int]]
) -> None:
    for _ in range(2):  # and again on the kept-alive connection
        wire.send(post("/whole", b"abc"))
        assert answer(wire) == ("HTTP/1.1 200 OK", "DirectCycle", b"3 bytes in 1 messages")
    assert access_lines.count(("/whole", 200)) >= 2


def test_messages_continue_in_uvicorns_cycle_and_the_connection_goes_on(wire: Wire) -> None:
    wire.send(post("/messages", b"abcd"))
    assert answer(wire) == ("HTTP/1.1 201 Created", "DirectCycle", b"4 bytes in 1 messages")
    wire.send(post("/whole", b""))
    assert wire.response()[2] == b"0 bytes in 1 messages"


def test_a_stream_is_sent_chunked_by_uvicorns_cycle(wire: Wire) -> None:
    wire.send(request("GET", "/stream"))
    while b"0\r\n\r\n" not in wire.buffer:
        assert wire._fill()
    head, _, chunked = bytes(wire.buffer).partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert b"x-cycle: DirectCycle" in head
    assert chunked == b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"


@pytest.mark.parametrize("path", ["/raise", "/nothing"])
def test_an_app_that_fails_or_answers_nothing_gets_uvicorns_500(
    wire: Wire, path: str, access_lines: list[tuple[str, int]]
) -> None:
    wire.send(request("GET", path))
    status, headers, body = wire.response()
    assert (status, body) == ("HTTP/1.1 500 Internal Server Error", b"Internal Server Error")
    assert headers["connection"] == "close"
    assert wire.closed_by_server()
    assert (path, 500) in access_lines


def test_an_app_that_fails_after_its_whole_response_closes_the_connection(
    wire: Wire, access_lines: list[tuple[str, int]]
) -> None:
    wire.send(post("/whole-then-raise", b"x"))
    assert wire.response()[2] == b"1 bytes in 1 messages"
    assert wire.closed_by_server()
    assert access_lines.count(("/whole-then-raise", 200)) == 1  # one line, not two


def test_after_its_body_the_app_hears_the_client_leave(wire: Wire) -> None:
    wire.send(post("/wait-for-the-client", b"x"))
    assert wire.response()[1]["x-cycle"] == "DirectCycle"
    wire.close()
    wait_for(lambda: "/wait-for-the-client" in SEEN)
    assert SEEN["/wait-for-the-client"] == ["http.disconnect"]


@pytest.mark.parametrize("size", [100 * 1024, 1024 * 1024])
def test_a_body_past_the_high_water_mark_goes_to_uvicorns_cycle_whole(
    wire: Wire, size: int, access_lines: list[tuple[str, int]]
) -> None:
    # 100 KiB come in one read, its end with it; 1 MiB in several.
    before = len(access_lines)
    wire.send(post("/whole", b"y" * size) + post("/whole", b"next"))
    _, headers, reply = wire.response()
    assert headers["x-cycle"] == "RequestResponseCycle"
    assert reply.startswith(b"%d bytes in " % size)
    assert wire.response()[2] == b"4 bytes in 1 messages"
    wire.send(request("GET", "/whole", "Connection: close"))
    assert wire.response()[2] == b"0 bytes in 1 messages"
    assert wire.closed_by_server()  # and no other response came: the app ran once a request
    assert access_lines[before:] == [("/whole", 200)] * 3


def test_a_chunked_body_that_fits_is_read_whole_by_the_light_cycle(wire: Wire) -> None:
    head = request("POST", "/whole", "Transfer-Encoding: chunked")
    wire.send(head + b"3\r\nabc\r\n")
    for piece in (b"2\r\nde\r\n", b"1\r\nf\r\n", b"4\r\nghij\r\n"):  # the rest comes later
        time.sleep(0.02)
        wire.send(piece)
    wire.send(b"0\r\n\r\n")
    _, headers, reply = wire.response()
    assert (headers["x-cycle"], reply) == ("DirectCycle", b"10 bytes in 1 messages")


def test_a_client_waiting_for_100_continue_gets_uvicorns_cycle(wire: Wire) -> None:
    wire.send(request("POST", "/whole", "Content-Length: 2", "Expect: 100-continue"))
    while b"\r\n\r\n" not in wire.buffer:
        assert wire._fill()
    assert bytes(wire.buffer).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    del wire.buffer[:25]
    wire.send(b"ok")
    _, headers, reply = wire.response()
    assert (headers["x-cycle"], reply) == ("RequestResponseCycle", b"2 bytes in 1 messages")


def test_a_client_gone_mid_body_is_run_as_uvicorn_runs_it(
    wire: Wire, access_lines: list[tuple[str, int]]
) -> None:
    wire.send(request("POST", "/gone-mid-body", "Content-Length: 100") + b"only part")
    time.sleep(0.05)
    wire.close()
    wait_for(lambda: "/gone-mid-body" in SEEN)
    assert SEEN["/gone-mid-body"] == ["http.disconnect"]  # what uvicorn's receive says then
    wait_for(lambda: ("/gone-mid-body", 499) in access_lines)
