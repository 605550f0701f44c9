"""uvicorn's httptools protocol with limits on request headers, which llhttp does not have.

llhttp accepts a request line and headers of any size (httptools gathers a value in pieces, at a
cost that grows with its square), so a 100 MB header was accepted and a 60 MB one stalled the event
loop for seconds. This protocol counts the bytes of a request's head as they arrive and answers
431 Request Header Fields Too Large, closing the connection, once they pass MAX_HEAD_BYTES (before
httptools sees the excess) or once a request has more than MAX_HEADERS fields; no request of that
kind reaches the app.

Each request's response cycle writes through a `CycleTransport` (flux_edge/http/cycle.py: the
head sent with the first body bytes, the access line), and keep-alive uses one timer per idle
stretch rather than one per response.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Coroutine
from typing import Any

import httptools
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from flux_edge.http.cycle import ACCESS_LINES, CycleTransport
from flux_edge.http.direct import DirectCycle

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
        """The head is complete: what follows is the body (or the next request). A request
        that nothing before it still holds gets a light cycle (flux_edge/http/direct.py); one
        that waits for 100 Continue or upgrades, or a pipelined one, gets uvicorn's."""
        self._in_head = False
        self._head_bytes = 0
        self._tail = b""
        existing = self.cycle
        parser = self.parser
        if (
            (existing is None or existing.response_complete)
            and not self.expect_100_continue
            and not parser.should_upgrade()
            and self.limit_concurrency is None
            and not self.access_log
        ):
            self._direct_cycle(parser)
            return
        super().on_headers_complete()

    def _direct_cycle(self, parser: httptools.HttpRequestParser) -> None:
        """uvicorn's `on_headers_complete` for a request, with a DirectCycle."""
        scope = self.scope
        scope["method"] = parser.get_method().decode("ascii")
        http_version = parser.get_http_version()
        if http_version != "1.1":
            scope["http_version"] = http_version
        parsed_url = httptools.parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        root_path = self.root_path
        scope["path"] = root_path + path if root_path else path
        scope["raw_path"] = root_path.encode("ascii") + raw_path if root_path else raw_path
        scope["query_string"] = parsed_url.query or b""
        keep_alive = http_version != "1.0" and parser.should_keep_alive()
        self.cycle = DirectCycle(self, scope, keep_alive, self.app)  # type: ignore[assignment]

    def regular_cycle(self, scope: Any, keep_alive: bool) -> RequestResponseCycle:
        """uvicorn's cycle for a request that began in a DirectCycle."""
        return RequestResponseCycle(
            scope=scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=keep_alive,
            on_response=self.on_response_complete,
        )

    def start_task(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a request's coroutine as uvicorn runs its app: a task the server waits for at
        shutdown."""
        task = self.loop.create_task(coroutine)
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)
        return task

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn's (without its opt-in fresh context per task), with the cycle's transport and,
        # for the access line, the task: a response that never completes is logged when the app
        # returns. Pipelined requests start here too, once the one before has been answered.
        access = ACCESS_LINES.write
        transport = CycleTransport.attach(cycle, self.transport, self.loop, access)
        task = self.start_task(cycle.run_asgi(app))
        if access is not None:
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
        """The request ended: a light cycle's app starts; the next bytes start the head of a
        pipelined request."""
        cycle: object = self.cycle
        if type(cycle) is DirectCycle:
            cycle.more_body = False
            cycle.start()
        else:
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
