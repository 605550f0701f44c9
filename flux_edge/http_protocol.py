"""uvicorn's httptools protocol with limits on request headers, which llhttp does not have.

llhttp accepts a request line and headers of any size (httptools gathers a value in pieces, at a
cost that grows with its square), so a 100 MB header was accepted and a 60 MB one stalled the event
loop for seconds. This protocol counts the bytes of a request's head as they arrive and answers
431 Request Header Fields Too Large, closing the connection, once they pass MAX_HEAD_BYTES (before
httptools sees the excess) or once a request has more than MAX_HEADERS fields; no request of that
kind reaches the app.

It also sends a response's head and its first body bytes in one write (one `send` and one TCP
segment instead of two: the client wakes once), and writes each request's access line as its
response goes out (flux_edge/api/access_log.py), see `_CycleTransport`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httptools
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from flux_edge.api.access_log import ACCESS_FIELDS_KEY, AccessWriter, access_entry

# Request line plus header fields, in bytes: Cloudflare's limit (32 KiB), four times Node's 16 KiB
# would be needless; at most MAX_HEADERS fields (Apache's default is 100).
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # the interim answer uvicorn writes on its own


class _CycleTransport:
    """The transport a request's response cycle writes to.

    The response head (the cycle's first write, bar a 100 Continue) is held until the body's first
    write, and both go out together. uvicorn writes the head on `http.response.start` and the body
    on `http.response.body`, which an app sends one after the other without the loop running in
    between; if the body has not come by the end of this loop turn (a stream waiting for its first
    chunk), the head goes alone.

    With an access writer, the request's line is written just before the last bytes of a response
    of known length go out, so whoever reads the log after getting the response finds it there;
    for a chunked response, as its last chunk goes; for a response that never completes (the
    client went away, the app failed after starting it), when the app returns, with status 499
    if the client left before the response started.
    """

    __slots__ = (
        "_access",
        "_cycle",
        "_head",
        "_headed",
        "_loop",
        "_on_response",
        "_started",
        "_status",
        "_transport",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        cycle: RequestResponseCycle,
        access: AccessWriter | None,
    ) -> None:
        self._transport = transport
        self._loop = loop
        # Kept until the line is written, then let go: the cycle holds this transport, and a
        # reference cycle per request would leave every request to the garbage collector.
        self._cycle: RequestResponseCycle | None = cycle if access is not None else None
        self._on_response = cycle.on_response
        self._head: bytes | None = None
        self._headed = False  # the head has been written (or is held)
        self._access = access  # None once the line is written
        self._status = 500  # what the client sees if the app fails before sending anything
        self._started = time.perf_counter()
        if access is not None:
            cycle.scope[ACCESS_FIELDS_KEY] = {}  # type: ignore[literal-required]

    def write(self, data: bytes) -> None:
        """Hold the head; write anything else, after the held head."""
        if self._access is not None and self._headed:
            cycle: Any = self._cycle
            # uvicorn counts a body's bytes off before writing them: none left is the last write.
            if not cycle.chunked_encoding and cycle.expected_content_length == 0:
                self.log()
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
        elif self._headed or data == _CONTINUE:
            self._transport.write(data)
        else:
            self._headed = True
            self._status = int(data[9:12])  # b"HTTP/1.1 200 OK\r\n..."
            self._head = data
            self._loop.call_soon(self._flush)

    def log(self) -> None:
        """Write the request's access line, once."""
        access, self._access = self._access, None
        cycle, self._cycle = self._cycle, None
        if access is not None and cycle is not None:
            scope: Any = cycle.scope
            access(access_entry(scope, self._status, self._started, scope[ACCESS_FIELDS_KEY]))

    def responded(self) -> None:
        """The response is complete (the cycle calls this): a chunked one is logged now."""
        self.log()
        self._on_response()

    def app_returned(self, _task: object) -> None:
        """The request's app is done: a response that never completed gets its line now."""
        cycle = self._cycle
        if cycle is not None and cycle.disconnected and not self._headed:
            self._status = 499  # the client went away before any response (nginx's code)
        self.log()

    def _flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def close(self) -> None:
        """Write a held head first: the cycle closes after `connection: close` responses."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _TooManyHeadersError(Exception):
    """Raised from the parser callback to stop the request before it reaches the app."""


class AccessLines:
    """Where the serving process's access lines go: set by its app factory (flux_edge/app.py)
    before the first connection; None writes none."""

    def __init__(self) -> None:
        self.write: AccessWriter | None = None


ACCESS_LINES = AccessLines()


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
        """One field; more than MAX_HEADERS stops the request."""
        if len(self.headers) >= MAX_HEADERS:
            raise _TooManyHeadersError
        super().on_header(name, value)

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
        transport = _CycleTransport(self.transport, self.loop, cycle, access)
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
        self._unset_keepalive_if_required()
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
