"""Live logs across the workers of one server: a stream answered by one worker shows every
worker's calls.

Each worker listens on a Unix socket in the server's private directory (`live-<boot id>.sock`, in
the per-server metrics directory, mode 0700). A worker with a follower of a function connects to each
sibling and asks for that function's events after the last one it has from that sibling; the
sibling sends its own buffered events, then each new one as its calls end, until the follower's
worker hangs up. So nothing crosses between workers while nobody follows (a call's end costs one
dict lookup), and a worker only ever forwards its own calls' events, never ones it received.

Wire: one JSON line `{"name", "since", "live"}` from the follower's worker; then JSON lines
`[seq, kind, data]`, one per event. `live: false` (a `follow=false` read) ends after the
buffered events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Literal

import msgspec
import structlog

log = structlog.get_logger("flux_edge.live_logs")

# A sibling that does not take its events this fast is cut off rather than buffered for.
_MAX_UNSENT_BYTES = 4 * 1024 * 1024
# How long a `follow=false` read waits for its siblings' buffered events.
_FETCH_SECONDS = 2.0
_LINE_LIMIT = 8 * 1024 * 1024  # one event: a console line is capped well below (max_log_bytes)

LiveEventKind = Literal["console", "execution"]
PeerEvent = tuple[int, LiveEventKind, dict[str, object]]  # the sibling's seq, kind, data
# Gives the hub's own events of a function after a seq, for a sibling asking.
OwnEvents = Callable[[str, int], Iterable[PeerEvent]]
# Takes a sibling's event into the hub's buffer of a function.
Receive = Callable[[str, LiveEventKind, dict[str, object]], None]


class _Request(msgspec.Struct, frozen=True):
    name: str
    since: int = 0
    live: bool = True


class LivePeers:
    """This worker's side of the sharing: serves its siblings, and pulls from them while some
    stream of this worker follows a function."""

    def __init__(self, directory: Path, boot: str, own_events: OwnEvents, receive: Receive) -> None:
        self._directory = directory
        self._path = directory / f"live-{boot}.sock"
        self._own_events = own_events
        self._receive = receive
        self._server: asyncio.AbstractServer | None = None
        # Siblings following a function here: their connections, by function name.
        self._followers: dict[str, set[asyncio.StreamWriter]] = {}
        self._serving: set[asyncio.Task[object]] = set()  # the siblings' connections
        # Streams of this worker following a function, and its pulls (one per sibling socket).
        self._following: dict[str, int] = {}
        self._pulls: dict[str, dict[str, asyncio.Task[None]]] = {}
        # The last seq taken from each sibling, per function: a new pull resumes after it.
        self._seen: dict[tuple[str, str], int] = {}
        self._encoder = msgspec.json.Encoder()

    async def open(self) -> None:
        """Listen for siblings. A socket path that cannot be used leaves this worker's live logs
        its own (logged), as with one worker."""
        try:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self._path), limit=_LINE_LIMIT
            )
        except OSError as exc:
            log.warning("live_log_sharing_unavailable", path=str(self._path), error=str(exc))

    def close(self) -> None:
        """Stop serving and pulling (the server is stopping)."""
        if self._server is not None:
            self._server.close()
            self._server = None
            with contextlib.suppress(OSError):
                self._path.unlink()
        for task in self._serving:
            task.cancel()
        self._followers.clear()
        for pulls in self._pulls.values():
            for task in pulls.values():
                task.cancel()
        self._pulls.clear()
        self._following.clear()

    # A sibling's side: send our own events.

    def followed(self, name: str) -> bool:
        """Whether a sibling follows `name` here (each call's end asks)."""
        return bool(self._followers.get(name))

    def send(self, name: str, events: Iterable[PeerEvent]) -> None:
        """Send our new events of `name` to the siblings following it."""
        writers = self._followers.get(name)
        if not writers:
            return
        data = self._encoder.encode_lines(events)
        for writer in list(writers):
            if writer.transport.get_write_buffer_size() > _MAX_UNSENT_BYTES:
                writers.discard(writer)
                writer.close()
            else:
                writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One sibling's connection. `close` ends it by cancelling, taken here as the end: a
        connection handler that ends cancelled is logged as an error by asyncio (3.11)."""
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        try:
            await self._answer(reader, writer)
        except (asyncio.CancelledError, ConnectionError, ValueError, msgspec.DecodeError):
            pass
        finally:
            if task is not None:
                self._serving.discard(task)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = msgspec.json.decode(await reader.readline(), type=_Request)
        writer.write(self._encoder.encode_lines(self._own_events(request.name, request.since)))
        if not request.live:
            return
        writers = self._followers.setdefault(request.name, set())
        writers.add(writer)
        try:
            await reader.read()  # until the follower's worker hangs up
        finally:
            writers.discard(writer)
            if not writers and self._followers.get(request.name) is writers:
                del self._followers[request.name]

    # A follower's side: pull the siblings' events.

    def follow(self, name: str) -> None:
        """A stream of this worker follows `name`: pull it from every sibling."""
        self._following[name] = self._following.get(name, 0) + 1
        self.link(name)

    def unfollow(self, name: str) -> None:
        """A stream of `name` ended: stop pulling when it was the last one."""
        left = self._following.get(name, 0) - 1
        if left > 0:
            self._following[name] = left
            return
        self._following.pop(name, None)
        for task in self._pulls.pop(name, {}).values():
            task.cancel()

    def link(self, name: str) -> None:
        """Pull `name` from each sibling not pulled yet (one started or restarted since)."""
        if name not in self._following or self._server is None:
            return
        pulls = self._pulls.setdefault(name, {})
        for socket_path in self._siblings():
            key = socket_path.name
            if key not in pulls:
                task = asyncio.get_running_loop().create_task(
                    self._pull(name, socket_path, live=True)
                )
                pulls[key] = task
                task.add_done_callback(partial(_forget, pulls, key))

    async def fetch(self, name: str) -> None:
        """Take in the siblings' buffered events of `name` (a `follow=false` read)."""
        if self._server is None:
            return
        pulls = [self._pull(name, path, live=False) for path in self._siblings()]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*pulls), _FETCH_SECONDS)

    def _siblings(self) -> list[Path]:
        return sorted(p for p in self._directory.glob("live-*.sock") if p != self._path)

    async def _pull(self, name: str, socket_path: Path, *, live: bool) -> None:
        """Take `name`'s events from one sibling: those buffered after the last one taken, then
        (`live`) each new one until the sibling or this worker hangs up."""
        key = (socket_path.name, name)
        try:
            reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=_LINE_LIMIT)
        except OSError:
            return  # a sibling that has ended (its socket stays until the next start)
        try:
            request = _Request(name, self._seen.get(key, 0), live)
            writer.write(self._encoder.encode(request) + b"\n")
            while line := await reader.readline():
                seq, kind, data = msgspec.json.decode(line, type=PeerEvent)
                if seq > self._seen.get(key, 0):
                    self._seen[key] = seq
                    self._receive(name, kind, data)
        except (OSError, ValueError, msgspec.DecodeError):
            pass
        finally:
            writer.close()


def _forget(pulls: dict[str, asyncio.Task[None]], key: str, task: asyncio.Task[None]) -> None:
    """A pull ended (its sibling stopped, or nobody follows any more): a later `link` may start
    another."""
    if pulls.get(key) is task:
        del pulls[key]
