"""The messages between the server and an isolate host, and how they are framed on the socket.

A frame is a 4-byte big-endian length and a msgpack array of messages: each side batches what
it has to say in one loop turn into one frame (a host's answers to a step's calls go together),
except that the server writes each call at once so the host can start on it (supervisor.py).
Messages embed the runtime's own Structs (FunctionSpec, InvokeRequest, InvokeResult), so a
field added there crosses the boundary without changes here. Every message about a call carries
its id: a streamed response can become a `Result` head followed by chunk messages with the same
id without changing the framing.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any, cast

import msgspec

from flux_edge.runtime.types import FunctionSpec, InvokeRequest, InvokeResult

_LENGTH = struct.Struct(">I")
# A frame larger than this is a broken or hostile peer: responses are capped at 10 MiB, requests
# at the body limit, so a batch stays well below it.
MAX_FRAME_BYTES = 512 * 1024 * 1024


class HostConfig(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The first frame the server sends: how the host's pool and capabilities are set up."""

    max_isolates_per_function: int
    max_concurrency_per_isolate: int
    max_queue_per_function: int
    isolate_max_calls: int
    max_log_bytes: int
    max_response_bytes: int
    spare_engines: int
    net_allow: str
    max_subrequests: int
    max_fetch_response_bytes: int
    file_quota_bytes: int
    # Memory the host may hold beyond its baseline, per isolate, on top of 2 x memory_limit_mb.
    slack_mb: int


# ---- server -> host ---------------------------------------------------------------------------
class Load(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A function version the next messages refer to by (function_id, version)."""

    spec: FunctionSpec


class Invoke(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Run one call of a loaded version; answered by `Result` or `Unavailable` with this id."""

    id: int
    function_id: str
    version: int
    request: InvokeRequest


class Check(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Load a loaded version's code in a fresh isolate and keep it warm; answered by `Checked`."""

    id: int
    function_id: str
    version: int


class Prewarm(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Make sure a loaded version has a warm isolate (no answer)."""

    function_id: str
    version: int


class Retire(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Drain and close a function's isolates (no answer)."""

    function_id: str


class Pull(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A streamed response (`Result` with `streamed`): the server wants one more chunk."""

    id: int


class StopStream(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A streamed response the server's client no longer wants: cancel the function's stream."""

    id: int


class Place(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Run every thread on `cpu` from now on (sent when the host is given a function)."""

    cpu: int


class Ping(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Liveness: a host whose event loop is alive answers with `Pong` at once."""

    seq: int


# ---- host -> server ---------------------------------------------------------------------------
class Pong(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The answer to `Ping`."""

    seq: int


class Ready(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The host has booted V8 and its spare engines."""

    pid: int


class Result(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The result of an `Invoke`. `pending`: the call answered and works on (waitUntil); its
    complete result follows in a `Completed` with the same id."""

    id: int
    result: InvokeResult
    pending: bool = False
    # The head of a streamed response: its body follows as `Chunk` messages, one per `Pull`,
    # then `StreamEnd`; `Completed` carries the record (a streamed result is also `pending`).
    streamed: bool = False


class Completed(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The complete result of a call whose `Result` was pending: what to record."""

    id: int
    result: InvokeResult


class Chunk(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A chunk of a streamed response's body."""

    id: int
    data: bytes


class StreamEnd(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A streamed response is over: `result` is the call's final record; `failed` cuts the body
    off with an error after the chunks sent."""

    id: int
    result: InvokeResult
    failed: bool


class Unavailable(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The host's pool could not take the call (queue full, shutting down): HTTP 503."""

    id: int
    message: str
    retry_after: int


class Checked(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The answer to `Check`: `message` set means the code cannot be deployed."""

    id: int
    message: str | None = None
    line: int | None = None
    column: int | None = None
    file: str | None = None  # the module, for a linked (multi-file) function


class Usage(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """How many isolates the host runs and the memory it may hold (sent when they change)."""

    isolates: int
    budget_bytes: int


class Recycle(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The host cannot be trusted with new calls (an isolate it could not stop, memory over its
    budget): the server routes new calls elsewhere and stops it once its calls are answered."""

    reason: str


ToHost = HostConfig | Load | Invoke | Check | Prewarm | Retire | Ping | Place | Pull | StopStream
FromHost = (
    Ready | Result | Completed | Unavailable | Checked | Usage | Recycle | Pong | Chunk | StreamEnd
)


class FrameReader:
    """Splits a byte stream into decoded frames (lists of messages of one union type)."""

    def __init__(self, message_type: Any) -> None:
        self._decode = msgspec.msgpack.Decoder(list[message_type]).decode
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        """Add received bytes; return the messages of every frame now complete."""
        if self._buffer:  # the rest of a frame came earlier
            self._buffer += data
            data = bytes(self._buffer)
            self._buffer.clear()
        # Usually whole frames: decoded where they lie, only a partial one at the end is kept.
        view = memoryview(data)
        messages: list[Any] = []
        offset = 0
        while len(data) - offset >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(data, offset)
            if size > MAX_FRAME_BYTES:
                raise ValueError(f"frame of {size} bytes")
            start = offset + _LENGTH.size
            end = start + size
            if len(data) < end:
                break
            messages.extend(self._decode(view[start:end]))
            offset = end
        if offset < len(data):
            self._buffer += view[offset:]
        return messages


def _builtin(value: Any) -> Any:
    """Values msgspec does not encode itself: str subclasses (multidict's `istr` header names from
    the web layer) cross as plain strings."""
    if isinstance(value, str):
        return str.__str__(value)
    raise NotImplementedError(f"cannot send a {type(value).__name__} to an isolate host")


_encode = msgspec.msgpack.Encoder(enc_hook=_builtin).encode


def encode_frame(messages: list[Any]) -> bytes:
    """One frame carrying `messages`."""
    return frame_of_encoded([_encode(message) for message in messages])


def _array_header(count: int) -> bytes:
    if count < 16:
        return bytes((0x90 | count,))
    if count < 0x10000:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def frame_of_encoded(encoded: list[bytes]) -> bytes:
    """One frame of messages already encoded one by one: a msgpack array of them."""
    body = _array_header(len(encoded)) + b"".join(encoded)
    return _LENGTH.pack(len(body)) + body


class FrameConnection(asyncio.Protocol):
    """One end of the host socket: messages sent in one loop turn leave in one frame."""

    def __init__(
        self,
        message_type: Any,
        on_messages: Callable[[list[Any]], None],
        on_lost: Callable[[], None],
    ) -> None:
        self._reader = FrameReader(message_type)
        self._on_messages = on_messages
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._outbox: list[bytes] = []
        self._flush_handle: asyncio.Handle | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport (asyncio calls this)."""
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        """Decode complete frames and hand their messages on (asyncio calls this)."""
        try:
            messages = self._reader.feed(data)
        except (ValueError, msgspec.DecodeError):
            self.close()
            return
        if messages:
            self._on_messages(messages)

    def connection_lost(self, exc: Exception | None) -> None:
        """The peer went away (asyncio calls this)."""
        self.closed = True
        self._on_lost()

    def send(self, message: Any) -> None:
        """Queue a message; the queue is written as one frame at the end of this loop turn.

        The message is encoded now, so one that cannot be encoded raises here, to its sender,
        instead of losing the whole frame with every other call's messages in it.
        """
        if self.closed:
            return
        self._outbox.append(_encode(message))
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self.flush)

    def send_now(self, message: Any) -> None:
        """Send a message at once, after any queued earlier in this turn (see `send`)."""
        if self.closed:
            return
        self._outbox.append(_encode(message))
        self.flush()

    def flush(self) -> None:
        """Write the queued messages now."""
        self._flush_handle = None
        if not self._outbox or self._transport is None or self.closed:
            return
        encoded, self._outbox = self._outbox, []
        self._transport.write(frame_of_encoded(encoded))

    def close(self) -> None:
        """Close the socket (pending messages are flushed first)."""
        if self._transport is not None and not self.closed:
            self.flush()
            self._transport.close()
        self.closed = True
