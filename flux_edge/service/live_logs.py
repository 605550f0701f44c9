"""Live logs: each function's recent console lines and execution summaries, for SSE followers.

Console lines reach Python when a call ends (they come back with its result), so a call's lines
are published together with its summary, at the call's end. Each worker process keeps its own
bounded buffer per function; event ids carry the worker's boot id, so a `Last-Event-ID` from
another worker (or an earlier run) replays this worker's whole buffer instead of skipping events.
With several workers, a worker's streams take in its siblings' events too (live_log_peers.py):
they enter its buffer as they arrive, with ids of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

import structlog

from flux_edge.runtime import InvokeResult
from flux_edge.service.live_log_peers import LiveEventKind, LivePeers, PeerEvent

log = structlog.get_logger("flux_edge.function_console")


# An execution's summary: id, status, status code, duration (ms) and error, the call's result
# itself not kept (its body may be large).
_Summary = tuple[str, str, int, float, str | None]


class LiveEvent:
    """One entry of a function's live log: a console line, or the summary of one execution.

    Every call publishes a summary, and most are never read (nobody follows, or the buffer moves
    on), so its id and data are made when first read."""

    __slots__ = ("_boot", "_data", "_summary", "kind", "own", "seq")

    def __init__(
        self,
        boot: str,
        seq: int,
        kind: LiveEventKind,
        data: dict[str, object] | None,
        own: bool = True,  # from this worker's calls, not a sibling's
        summary: _Summary | None = None,
    ) -> None:
        self._boot = boot
        self.seq = seq
        self.kind = kind
        self._data = data
        self.own = own
        self._summary = summary

    @property
    def id(self) -> str:
        """The SSE event id: the worker's boot id and the event's number."""
        return f"{self._boot}-{self.seq}"

    @property
    def data(self) -> dict[str, object]:
        """The event's fields (made from the call's result on first read, for a summary)."""
        if self._data is None:
            assert self._summary is not None
            execution_id, status, status_code, duration_ms, error = self._summary
            self._data = {
                "execution_id": execution_id,
                "status": status,
                "status_code": status_code,
                "duration_ms": round(duration_ms, 3),
                "error": error,
            }
            self._summary = None
        return self._data


class _Channel:
    """One function's buffer and the signal that wakes its followers."""

    __slots__ = ("_changed", "events")

    def __init__(self, size: int) -> None:
        self.events: deque[LiveEvent] = deque(maxlen=size)
        self._changed: asyncio.Event | None = None

    def changed(self) -> asyncio.Event:
        """What a follower waits on: set at the next change. Made only when someone follows, so
        a call's end (every call publishes) costs no event when nobody does."""
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def wake(self) -> None:
        """Wake the followers waiting for a change."""
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()


class LiveLogHub:
    """Per-worker buffers of live log events, `buffer_size` events per function.

    `peers_dir`: the server's directory its workers share (several workers), where the streams
    of each find the others' events."""

    def __init__(
        self,
        buffer_size: int = 1000,
        *,
        mirror_console: bool = False,
        peers_dir: Path | None = None,
    ) -> None:
        self._size = buffer_size
        self._mirror = mirror_console
        self._boot = secrets.token_hex(4)
        self._seq = 0
        self._channels: dict[str, _Channel] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._closed = False
        self._peers = (
            None
            if peers_dir is None
            else LivePeers(peers_dir, self._boot, self._own_events, self._receive)
        )

    async def bind(self) -> None:
        """Remember the serving loop, so completions from other threads are handed to it, and
        start sharing events with the sibling workers."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        if self._peers is not None:
            await self._peers.open()

    def publish(self, name: str, execution_id: str, result: InvokeResult) -> None:
        """Add a finished call's console lines and its summary to `name`'s buffer."""
        if self._loop is not None and threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._publish, name, execution_id, result)
        else:
            self._publish(name, execution_id, result)

    def close(self) -> None:
        """End every follower's stream (the server is stopping: open streams would otherwise
        hold its graceful shutdown until the timeout). Safe to call from a signal handler."""
        if self._loop is not None and threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self._close)
        else:
            self._close()

    def _close(self) -> None:
        self._closed = True
        if self._peers is not None:
            self._peers.close()
        for channel in self._channels.values():
            channel.wake()

    def forget(self, name: str) -> None:
        """Drop a deleted function's buffer (its followers move on to the fresh one)."""
        channel = self._channels.pop(name, None)
        if channel is not None:
            channel.wake()

    def _publish(self, name: str, execution_id: str, result: InvokeResult) -> None:
        channel = self._channel(name)
        first_seq = self._seq + 1
        for line in result.logs.split("\n") if result.logs else ():
            level, _, text = line.partition(": ")
            level = level.removeprefix("console.") if text else "log"
            self._add(
                channel,
                "console",
                {"execution_id": execution_id, "level": level, "message": text or line},
            )
            if self._mirror:
                log.info("function_console", function=name, execution_id=execution_id, line=line)
        self._add(
            channel,
            "execution",
            None,
            # The stack starts with the message and keeps the user's line numbers.
            summary=(
                execution_id,
                result.outcome,
                result.status_code,
                result.duration_ms,
                result.error_stack or result.error_message,
            ),
        )
        channel.wake()
        if self._peers is not None and self._peers.followed(name):
            added = itertools.takewhile(lambda e: e.seq >= first_seq, reversed(channel.events))
            self._peers.send(name, [(e.seq, e.kind, e.data) for e in reversed(list(added))])

    def _add(
        self,
        channel: _Channel,
        kind: LiveEventKind,
        data: dict[str, object] | None,
        own: bool = True,
        summary: _Summary | None = None,
    ) -> None:
        self._seq += 1
        channel.events.append(LiveEvent(self._boot, self._seq, kind, data, own, summary))

    def _own_events(self, name: str, since: int) -> list[PeerEvent]:
        """This worker's own buffered events of `name` after `since`, for a sibling."""
        channel = self._channels.get(name)
        if channel is None:
            return []
        return [(e.seq, e.kind, e.data) for e in channel.events if e.own and e.seq > since]

    def _receive(self, name: str, kind: LiveEventKind, data: dict[str, object]) -> None:
        """Take in a sibling's event of `name`."""
        channel = self._channel(name)
        self._add(channel, kind, data, own=False)
        channel.wake()

    def _channel(self, name: str) -> _Channel:
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel(self._size)
        return channel

    async def after(self, name: str, last_event_id: str | None) -> list[LiveEvent]:
        """Buffered events newer than `last_event_id` (all of them for None or a foreign id),
        the siblings' buffered events taken in first."""
        if self._peers is not None:
            await self._peers.fetch(name)
        channel = self._channels.get(name)
        if channel is None:
            return []
        since = self._seq_of(last_event_id)
        return [event for event in channel.events if event.seq > since]

    async def follow(
        self, name: str, last_event_id: str | None, *, keepalive: float = 15.0
    ) -> AsyncIterator[LiveEvent | None]:
        """Events of `name` as they are published, starting after `last_event_id`; None every
        `keepalive` seconds without events (a cue to send a comment that keeps proxies open)."""
        since = self._seq_of(last_event_id)
        if self._peers is not None:
            self._peers.follow(name)
        try:
            while not self._closed:
                channel = self._channel(name)
                changed = channel.changed()
                fresh = [event for event in channel.events if event.seq > since]
                for event in fresh:
                    yield event
                if fresh:
                    since = fresh[-1].seq
                    continue
                if self._closed:
                    return
                try:
                    await asyncio.wait_for(changed.wait(), keepalive)
                except TimeoutError:
                    if self._peers is not None:
                        self._peers.link(name)  # a sibling started since
                    yield None
        finally:
            if self._peers is not None and not self._closed:
                self._peers.unfollow(name)

    def _seq_of(self, last_event_id: str | None) -> int:
        if not last_event_id:
            return 0
        boot, _, seq = last_event_id.strip().partition("-")
        if boot != self._boot or not seq.isdigit():
            return 0
        return int(seq)
