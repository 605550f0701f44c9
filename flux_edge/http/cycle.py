"""The transport a request's response cycle writes to, and the access lines it writes.

uvicorn's response cycle writes a response's head and body to its transport; flux-edge's protocol
(flux_edge/http/protocol.py) hands each cycle this wrapper instead, which sends the head with the
first body bytes and writes the request's access line (flux_edge/api/access_log.py). A complete
function response can skip the cycle's two ASGI messages altogether (`send_whole`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from flux_edge.api.access_log import ACCESS_FIELDS_KEY, AccessWriter

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # the interim answer uvicorn writes on its own


class AccessLines:
    """Where the serving process's access lines go: set by its app factory (flux_edge/app.py)
    before the first connection; None writes none."""

    def __init__(self) -> None:
        self.write: AccessWriter | None = None


ACCESS_LINES = AccessLines()


class CycleTransport:
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
        started: float | None = None,
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
        self._started = time.perf_counter() if started is None else started
        if access is not None and ACCESS_FIELDS_KEY not in cycle.scope:
            cycle.scope[ACCESS_FIELDS_KEY] = {}  # type: ignore[literal-required]

    @classmethod
    def attach(
        cls,
        cycle: RequestResponseCycle,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        access: AccessWriter | None,
        started: float | None = None,
    ) -> CycleTransport:
        """Make `cycle` write through a new CycleTransport (its app's task calls
        `app_returned` when it ends, for a response that never completed)."""
        wrapper = cls(transport, loop, cycle, access, started)
        cycle.transport = wrapper  # type: ignore[assignment]
        if access is not None:
            cycle.on_response = wrapper.responded
        return wrapper

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
            access(scope, self._status, self._started, scope[ACCESS_FIELDS_KEY])

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

    def write_whole(self, status: int, response: bytes) -> None:
        """Write a whole response of known length at once: its access line first."""
        self._headed = True
        self._status = status
        self.log()
        self._transport.write(response)

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


def wire_fields(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Header fields as they go on the wire, `name: value\r\n` each."""
    return b"".join(b"%s: %s\r\n" % pair for pair in headers)


class _DefaultFields:
    """uvicorn's default header fields (date, server) as they go on the wire: the server makes a
    new list each second, so they are joined once per list, not once per response."""

    def __init__(self) -> None:
        self._of: list[tuple[bytes, bytes]] | None = None
        self._fields = b""

    def __call__(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        if headers is not self._of:
            self._of = headers
            self._fields = wire_fields(headers)
        return self._fields


_default_fields = _DefaultFields()


class SendWithFields:
    """A cycle's send that adds header fields to the response's start, as a middleware does (the
    rate limiter's X-RateLimit-* fields); `send_whole` sees through it, so a complete response
    still goes out in one write. The fields are given as they go on the wire (`name: value\r\n`
    each), the form the one write takes; the messages' path splits them."""

    __slots__ = ("fields", "send")

    def __init__(self, send: Callable[..., Any], fields: bytes) -> None:
        self.send = send
        self.fields = fields

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            added = [
                (name, value)
                for name, _, value in (f.partition(b": ") for f in self.fields.split(b"\r\n") if f)
            ]
            message["headers"] = [*message.get("headers", ()), *added]
        await self.send(message)


def whole_response(
    status: int,
    default_headers: list[tuple[bytes, bytes]],
    fields: bytes,
    body: bytes,
    keep_alive: bool,
) -> bytes:
    """A complete response as it goes on the wire: the status line, uvicorn's default fields
    (date, server), `fields`, `connection: close` unless kept alive, and the body."""
    parts = [STATUS_LINE[status], _default_fields(default_headers), fields]
    if not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)


def send_whole(send: Callable[..., Any], status: int, fields: bytes, body: bytes) -> bool:
    """Send a complete response of known length in one write, doing for the cycle what its
    `http.response.start` and `http.response.body` would; False, having done nothing, unless
    `send` is the send of a cycle of flux-edge's protocol that may write now (the caller sends
    the messages then). `fields` are the response's header fields as they go on the wire
    (`name: value\r\n` each), its content-length among them unless `status` allows no body.

    The cycle's own path cost the server 5-7 % of its CPU per call (two messages, two awaits,
    two regular expressions per header; docs/performance.md, the twenty-second pass). The
    headers here need no check: the function's were checked against RFC 9110 in the runtime
    (runtime/results.py), and the rest are the server's own.
    """
    while type(send) is SendWithFields:  # each adds its fields after those it was sent
        fields += send.fields
        send = send.send
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle:
        # flux_edge/http/direct.py's light cycle writes it itself (imported there, not here).
        write_whole = getattr(cycle, "write_whole", None)
        return write_whole is not None and bool(write_whole(status, fields, body))
    transport: object = cycle.transport  # a CycleTransport under flux-edge's protocol
    if (
        not isinstance(transport, CycleTransport)
        or cycle.response_started
        or cycle.disconnected
        or cycle.flow.write_paused  # the cycle's send waits for the client to drain first
        or cycle.access_log
        or status not in STATUS_LINE
    ):
        return False
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    keep_alive = cycle.keep_alive
    head = cycle.scope["method"] == "HEAD"
    response = whole_response(
        status, cycle.default_headers, fields, b"" if head else body, keep_alive
    )
    cycle.chunked_encoding = False
    cycle.expected_content_length = 0
    transport.write_whole(status, response)
    cycle.response_complete = True
    cycle.message_event.set()
    if not keep_alive:
        transport.close()
    cycle.on_response()
    return True
