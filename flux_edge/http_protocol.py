"""uvicorn's httptools protocol with limits on request headers, which llhttp does not have.

llhttp accepts a request line and headers of any size (httptools gathers a value in pieces, at a
cost that grows with its square), so a 100 MB header was accepted and a 60 MB one stalled the event
loop for seconds. This protocol counts the bytes of a request's head as they arrive and answers
431 Request Header Fields Too Large, closing the connection, once they pass MAX_HEAD_BYTES (before
httptools sees the excess) or once a request has more than MAX_HEADERS fields; no request of that
kind reaches the app.

Each request's response cycle writes through a `CycleTransport` (flux_edge/http_cycle.py: the
head sent with the first body bytes, the access line), and keep-alive uses one timer per idle
stretch rather than one per response.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from flux_edge.http_cycle import ACCESS_LINES, CycleTransport

# Request line plus header fields, in bytes: Cloudflare's limit (32 KiB), four times Node's 16 KiB
# would be needless; at most MAX_HEADERS fields (Apache's default is 100).
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
_HEAD_END = b"\r\n\r\n"


class _TooManyHeadersError(Exception):
    """Raised from the parser callback to stop the request before it reaches the app."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses oversized request heads with 431 and writes access lines."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._in_head = True  # a request's head is what the next bytes carry
        self._head_bytes = 0
        self._tail = b""  # the last bytes of the head so far, to find its end across chunks
        self._refused = False
        self._idle_since: float | None = None  # loop time of the last response; None: busy
        self._idle_timer: asyncio.TimerHandle | None = None

    def on_message_begin(self) -> None:
        """A new request: its head starts here."""
        super().on_message_begin()
        self._in_head = True

    def on_header(self, name: bytes, value: bytes) -> None:
        """One field; more than MAX_HEADERS stops the request. The rest is uvicorn's, inlined:
        the parser calls this for every field of every request."""
        headers = self.headers
        if len(headers) >= MAX_HEADERS:
            raise _TooManyHeadersError
        name = name.lower()
        value = value.rstrip(b" \t")  # trailing whitespace is not part of a value (RFC 9110 5.5)
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        """The head is complete: what follows is the body (or the next request)."""
        self._in_head = False
        self._head_bytes = 0
        self._tail = b""
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn's (without its opt-in fresh context per task), with the cycle's transport and,
        # for the access line, the task: a response that never completes is logged when the app
        # returns. Pipelined requests start here too, once the one before has been answered.
        access = ACCESS_LINES.write
        transport = CycleTransport(self.transport, self.loop, cycle, access)
        cycle.transport = transport  # type: ignore[assignment]
        task = self.loop.create_task(cycle.run_asgi(app))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)
        if access is not None:
            cycle.on_response = transport.responded
            task.add_done_callback(transport.app_returned)

    # Keep-alive: uvicorn arms a timer after every response and cancels it at the next request's
    # bytes (~3 µs a request with uvloop). Here one timer per idle stretch checks, when it fires,
    # whether the connection has been idle for the whole timeout, and re-arms for the rest if not.

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # bytes came: busy (the timer, if armed, sees it when it fires)

    def on_response_complete(self) -> None:
        """uvicorn's, with the idle stretch marked instead of a timer armed per response."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self._idle_since is None:
            return  # busy: the next response arms the timer again
        left = self._idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self._idle_timer = self.loop.call_later(left, self._check_idle)
        else:
            self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        """uvicorn's, and the idle timer goes."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)

    def on_message_complete(self) -> None:
        """The request ended: the next bytes start the head of a pipelined request."""
        super().on_message_complete()
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        """Count the head's bytes before handing them to httptools."""
        if self._refused:
            return
        if self._in_head:
            window = self._tail + data
            end = window.find(_HEAD_END)
            counted = len(data) if end < 0 else max(0, end + len(_HEAD_END) - len(self._tail))
            if self._head_bytes + counted > MAX_HEAD_BYTES:
                self._refuse(f"the request line and headers pass {MAX_HEAD_BYTES} bytes")
                return
            self._head_bytes += counted
            self._tail = window[-(len(_HEAD_END) - 1) :]
        # uvicorn's data_received, but telling a refused field count from a malformed request.
        self._idle_since = None  # `_unset_keepalive_if_required`, inlined: bytes came, busy
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as error:
            if isinstance(error.__context__, _TooManyHeadersError):
                self._refuse(f"the request has more than {MAX_HEADERS} header fields")
                return
            message = "Invalid HTTP request received."
            self.logger.warning(message)
            self.send_400_response(message)

    def _refuse(self, why: str) -> None:
        message = f"Request Header Fields Too Large: {why}."
        body = message.encode("ascii")
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[431],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()
        self._refused = True


def websocket_protocol(**kwargs: Any) -> asyncio.Protocol:
    """uvicorn's WebSocket protocol (`ws="auto"`), imported at the first upgrade rather than at
    start: the `websockets` package is ~5-10 ms of a start that answers /health without it."""
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    if AutoWebSocketsProtocol is None:  # neither websockets nor wsproto: a dependency is missing
        raise RuntimeError("no WebSocket library for uvicorn (flux-edge depends on websockets)")
    return AutoWebSocketsProtocol(**kwargs)
