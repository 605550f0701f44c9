"""A light response cycle for requests whose body has come whole: uvicorn's, made only when needed.

uvicorn's protocol gives every request a `RequestResponseCycle` (with an `asyncio.Event`, a
receive that waits on it, and the two ASGI messages of a response), and flux-edge wraps it in a
`CycleTransport`; then `run_asgi` runs the app. With the app's own path this thin, that
machinery was about a tenth of the server's CPU per call (docs/performance.md, the twenty-fifth
pass). So flux-edge's protocol (flux_edge/http/protocol.py) gives a request a `DirectCycle`
instead, and starts the app once the request's body is complete:

- `receive` hands over the body in one message;
- a complete response of known length that can be written now (`cycle.send_whole`: every
  function response, the server's own JSON answers) goes in one write with its access line;
- anything else turns the cycle into uvicorn's at that moment (`_regular`), with the body, the
  state and the access line's fields so far, and everything after is uvicorn's own: a stream, a
  response that must wait for the client to read, an app that fails or returns without
  answering (uvicorn's `run_asgi` logs it and answers 500 as it does for any app).

A body larger than uvicorn's high-water mark, or a client gone before its request is complete,
hands the request to a regular cycle before the app starts, as uvicorn would have run it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

from flux_edge.api.access_log import ACCESS_FIELDS_KEY
from flux_edge.http.cycle import ACCESS_LINES, CycleTransport, whole_response

if TYPE_CHECKING:
    from flux_edge.http.protocol import BoundedHttpToolsProtocol


class DirectCycle:
    """One request's cycle until it needs uvicorn's (see the module's docstring).

    The protocol reads and sets the attributes it would on uvicorn's cycle (`body`,
    `more_body`, `keep_alive`, `disconnected`, `response_complete`, `message_event.set()`), so
    its own body and connection callbacks serve both kinds unchanged.
    """

    __slots__ = (
        "_app",
        "_body_taken",
        "_in_pieces",
        "_protocol",
        "_regular_cycle",
        "_started",
        "_task",
        "body",
        "disconnected",
        "keep_alive",
        "more_body",
        "response_complete",
        "scope",
    )

    def __init__(
        self, protocol: BoundedHttpToolsProtocol, scope: Any, keep_alive: bool, app: Any
    ) -> None:
        self._protocol = protocol
        self._app = app
        self.scope = scope
        self.keep_alive = keep_alive
        self.body: bytes | bytearray = b""
        self._in_pieces = False  # a piece of the body has come
        self.more_body = True
        self.disconnected = False
        self.response_complete = False
        self._body_taken = False
        self._regular_cycle: RequestResponseCycle | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = time.perf_counter()
        if ACCESS_LINES.write is not None:
            scope[ACCESS_FIELDS_KEY] = {}

    @property
    def message_event(self) -> DirectCycle:
        """What the protocol signals after a body chunk or a lost connection (`set`)."""
        return self

    def set(self) -> None:
        """A chunk came or the client went: a large body or a gone client go the regular way
        before the app starts, as uvicorn would have run them."""
        if type(self.body) is bytes:
            # The protocol appends each piece with `+=`: a body that comes in many small pieces
            # is appended in place from its third (bytes would be copied whole at each piece).
            if self._in_pieces:
                self.body = bytearray(self.body)
            self._in_pieces = True
        if self._task is None and (self.disconnected or len(self.body) > HIGH_WATER_LIMIT):
            self._regular()  # the protocol's callbacks reach uvicorn's cycle from now on
            self._task = self._protocol.start_task(self._finish(self._app))

    def start(self) -> None:
        """The request is complete: run the app on it."""
        if self._task is None:
            self._task = self._protocol.start_task(self._run())

    async def _run(self) -> None:
        outcome: Any
        try:
            await self._app(self.scope, self.receive, self.send)
        except BaseException as exc:  # uvicorn's cycle logs it and answers or closes
            outcome = _Raising(exc)
        else:
            if self._regular_cycle is None and self.response_complete:
                return  # answered in one write
            outcome = _returned
        await self._finish(outcome)

    async def _finish(self, app: Any) -> None:
        """Run `app` in uvicorn's cycle for this request: the request's own app when it goes the
        regular way from the start, else one that ends as the app did, for the cycle to check."""
        cycle = self._regular()
        await cycle.run_asgi(app)
        transport = cycle.transport
        if isinstance(transport, CycleTransport):
            transport.app_returned(None)

    async def receive(self) -> Any:
        """The body, whole; after it, uvicorn's receive (which waits for the client to go)."""
        if not self._body_taken and self._regular_cycle is None:
            self._body_taken = True
            body = self.body
            return {
                "type": "http.request",
                "body": bytes(body) if type(body) is bytearray else body,
                "more_body": False,
            }
        return await self._regular().receive()

    async def send(self, message: Any) -> None:
        """A message the app sends: uvicorn's cycle from here on."""
        await self._regular().send(message)

    def write_whole(self, status: int, fields: bytes, body: bytes) -> bool:
        """Write a complete response now, access line first (see `cycle.send_whole`);
        False, having done nothing, if uvicorn's cycle must send it."""
        protocol = self._protocol
        if (
            self._regular_cycle is not None
            or self.response_complete
            or self.disconnected
            or protocol.flow.write_paused
            or status not in STATUS_LINE
        ):
            return False
        self.response_complete = True
        write = ACCESS_LINES.write
        if write is not None:
            write(self.scope, status, self._started, self.scope[ACCESS_FIELDS_KEY])
        keep_alive = self.keep_alive
        transport = protocol.transport
        transport.write(
            whole_response(
                status,
                protocol.server_state.default_headers,
                fields,
                body if self.scope["method"] != "HEAD" else b"",
                keep_alive,
            )
        )
        if not keep_alive:
            transport.close()
        protocol.on_response_complete()
        return True

    def _regular(self) -> RequestResponseCycle:
        """uvicorn's cycle for this request from now on, made once."""
        cycle = self._regular_cycle
        if cycle is not None:
            return cycle
        protocol = self._protocol
        cycle = protocol.regular_cycle(self.scope, self.keep_alive)
        cycle.body = bytearray() if self._body_taken else bytearray(self.body)
        cycle.more_body = self.more_body
        cycle.disconnected = self.disconnected
        if self.disconnected or (not self._body_taken and (self.body or not self.more_body)):
            cycle.message_event.set()  # what uvicorn's protocol does once there is news
        # An answer written whole already went with its access line: none again.
        logged = self.response_complete
        cycle.response_started = cycle.response_complete = logged
        access = None if logged else ACCESS_LINES.write
        CycleTransport.attach(cycle, protocol.transport, protocol.loop, access, self._started)
        self._regular_cycle = cycle
        current: object = protocol.cycle
        if current is self:  # (a pipelined request's cycle may have taken its place)
            protocol.cycle = cycle
        return cycle


class _Raising:
    """An app that raises what the direct cycle's app raised, for uvicorn's cycle to handle."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise self.exc


async def _returned(scope: Any, receive: Any, send: Any) -> None:
    """An app that has returned: uvicorn's cycle checks what it sent."""
