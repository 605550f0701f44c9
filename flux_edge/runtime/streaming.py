"""The body of a streamed response: chunks a function produces after its head (status, headers).

A call whose request sets `stream_response` and whose function returns a `Response` with a
`ReadableStream` body resolves early: its InvokeResult carries the head and a ResponseStream, an
async iterator of the body's chunks as JavaScript produces them. Chunks are pulled, not pushed:
JavaScript reads one chunk from the function's stream per credit, and credits are granted only
while fewer than WINDOW chunks wait here, so a slow consumer holds the function back (its
stream's desiredSize drops) instead of making the server buffer without bound.

The protocol is three messages, independent of where the isolate runs (in process here, or in a
host process behind the same interface): `request_more()` (one credit), `push(chunk)` and
`end(result)`; `abort()` asks the isolate to cancel the function's stream.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flux_edge.runtime.types import InvokeResult

# Chunks asked for but not yet taken by the consumer.
WINDOW = 2


class ResponseStreamError(Exception):
    """The function's stream failed, timed out or was cut off; `result` says how (and is what
    the execution record holds)."""

    def __init__(self, result: InvokeResult) -> None:
        super().__init__(result.error_message or "the response stream failed")
        self.result = result


class ResponseStream:
    """Async iterator of a streamed response's body chunks (bytes).

    Iteration ends when the function's stream closes; it raises ResponseStreamError when the
    stream errors or the call hits a limit. `outcome()` gives the call's final InvokeResult (logs,
    duration, outcome) once the stream has ended either way; `aclose()` stops a stream the consumer
    no longer wants (a client that went away).
    """

    def __init__(self, request_more: Callable[[], None], abort: Callable[[], None]) -> None:
        self._request_more = request_more
        self._abort = abort
        self._chunks: deque[bytes] = deque()
        self._requested = 0
        self._result: InvokeResult | None = None
        self._failed = False
        self._changed: asyncio.Event = asyncio.Event()
        self._done: asyncio.Future[InvokeResult] = asyncio.get_running_loop().create_future()
        self.bytes_sent = 0
        self._refill()  # the first chunks are on their way before anyone iterates

    # ---- the consumer's side ----------------------------------------------------------------------
    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> bytes:
        while not self._chunks:
            if self._result is not None:
                if self._failed:
                    raise ResponseStreamError(self._result)
                raise StopAsyncIteration
            self._changed.clear()
            await self._changed.wait()
        chunk = self._chunks.popleft()
        self._refill()
        return chunk

    async def aclose(self) -> None:
        """Stop the stream early: the function's stream is cancelled and the call ends."""
        if self._result is None:
            self._abort()

    async def outcome(self) -> InvokeResult:
        """The call's final result, once its stream has ended, failed or been stopped."""
        return await asyncio.shield(self._done)

    @property
    def ended(self) -> bool:
        """The call is over (no more chunks will come)."""
        return self._result is not None

    # ---- the isolate's side -----------------------------------------------------------------------
    def push(self, chunk: bytes) -> None:
        """A chunk JavaScript read for one credit."""
        self._requested = max(self._requested - 1, 0)
        self._chunks.append(chunk)
        self.bytes_sent += len(chunk)
        self._changed.set()

    def end(self, result: InvokeResult, *, failed: bool) -> None:
        """The call is over: `result` is its final record; `failed` cuts the body off with an error
        after the chunks already here."""
        if self._result is not None:
            return
        self._result = result
        self._failed = failed
        if not self._done.done():
            self._done.set_result(result)
        self._changed.set()

    def _refill(self) -> None:
        while self._result is None and len(self._chunks) + self._requested < WINDOW:
            self._requested += 1
            self._request_more()
