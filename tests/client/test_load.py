"""The bench's load loops (flux_edge/client/load.py) against small servers on loopback: keep-alive,
a server that closes after each answer, one that answers garbage, one that is not there."""

from __future__ import annotations

import asyncio
import time

import pytest

from flux_edge.client.load import post_target, run_loops

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_the_request_is_built_once_with_the_url_s_prefix_and_host():
    target = post_target("http://edge.local:8080/base/", "/api/v1/x", {"A": "b"}, b"{}")
    assert (target.host, target.port, target.tls) == ("edge.local", 8080, None)
    assert target.request == (
        b"POST /base/api/v1/x HTTP/1.1\r\nHost: edge.local:8080\r\nA: b\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )
    secure = post_target("https://edge.example", "/p", {}, b"")
    assert (secure.port, secure.tls is not None) == (443, True)
    with pytest.raises(ValueError, match="not an http"):
        post_target("ftp://edge.example", "/p", {}, b"")


async def serve(answer: bytes, *, close_after: bool) -> tuple[asyncio.Server, list[int]]:
    """A server answering every request that arrives whole with `answer`; counts connections."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(2)  # the body: {}
                writer.write(answer)
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), connections


async def run(url: str, seconds: float = 0.3) -> dict[str, int]:
    seen: dict[str, int] = {}

    def answered(status: str, _seconds: float) -> None:
        seen[status] = seen.get(status, 0) + 1

    target = post_target(url, "/f", {"Content-Type": "application/json"}, b"{}")
    await run_loops(target, 3, time.monotonic() + seconds, answered)
    return seen


async def test_loops_keep_their_connections_alive():
    server, connections = await serve(ANSWER, close_after=False)
    async with server:
        port = server.sockets[0].getsockname()[1]
        seen = await run(f"http://127.0.0.1:{port}")
    assert seen["200"] > 10
    assert list(seen) == ["200"]
    assert len(connections) == 3  # one per loop


async def test_a_server_that_closes_after_each_answer_gets_new_connections():
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    server, connections = await serve(closing, close_after=True)
    async with server:
        port = server.sockets[0].getsockname()[1]
        seen = await run(f"http://127.0.0.1:{port}")
    assert list(seen) == ["200"]
    assert len(connections) == seen["200"]


async def test_garbage_and_no_server_are_counted_by_what_went_wrong():
    server, _ = await serve(b"not http at all\r\n\r\n", close_after=False)
    async with server:
        port = server.sockets[0].getsockname()[1]
        garbage = await run(f"http://127.0.0.1:{port}", seconds=0.1)
    assert set(garbage) == {"HttpParserError"}
    nobody = await run(f"http://127.0.0.1:{port}", seconds=0.1)  # closed by now
    assert set(nobody) == {"ConnectionRefusedError"}
