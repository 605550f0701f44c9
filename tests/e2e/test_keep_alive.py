"""Keep-alive connections (flux_edge/http/protocol.py): one that stays idle for the timeout
(uvicorn's 5 s) is closed; one used again within it stays open, however long it lives."""

from __future__ import annotations

import socket
import time

KEEP_ALIVE_SECONDS = 5.0  # uvicorn's timeout_keep_alive, which `flux-edge serve` keeps


def get_health(sock: socket.socket) -> bytes:
    """Send GET /health on `sock` and read its whole response (head and sized body)."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65_536)
        assert chunk, "the server closed the connection instead of answering"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65_536)
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body


def seconds_until_closed(sock: socket.socket) -> float:
    started = time.monotonic()
    sock.settimeout(KEEP_ALIVE_SECONDS * 3)
    assert sock.recv(1) == b""  # end of stream: the server closed it
    return time.monotonic() - started


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        get_health(sock)
        waited = seconds_until_closed(sock)
    assert KEEP_ALIVE_SECONDS - 0.5 < waited < KEEP_ALIVE_SECONDS + 2, waited


def test_a_connection_used_within_the_timeout_stays_open_past_it(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        get_health(sock)
        time.sleep(KEEP_ALIVE_SECONDS * 0.6)
        get_health(sock)  # 3 s in: the first idle stretch ended before its timeout
        time.sleep(KEEP_ALIVE_SECONDS * 0.6)
        get_health(sock)  # 6 s in: past the first response's timeout, still open
        waited = seconds_until_closed(sock)
    # Closed a full timeout after the last response, not on the first response's schedule.
    assert KEEP_ALIVE_SECONDS - 0.5 < waited < KEEP_ALIVE_SECONDS + 2, waited
