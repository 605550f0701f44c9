"""Notices between the workers of one server when a function is saved or deleted through one of
them, so that the others' isolates follow at once.

Without them a worker learns of another's change from the store's change counter, at its next
call of that function. Until then it keeps what it had: a deleted or disabled function's isolate
host (tens of MB) stays until its idle timeout, an updated function's first call there loads the
new version, and a deleted function's live-log buffer shows its calls under a new function of the
same name. With them, the worker that made the change sends every sibling a notice and each acts
on it (InvocationService.follow).

Each worker binds a Unix datagram socket in the server's private directory (`notices-<token>.sock`,
beside the live-log sockets, mode 0700); a notice is one JSON datagram sent to every sibling,
with no answer. A notice is a hint: a lost one (a sibling not listening yet, its socket's buffer
full) leaves that sibling as it would be without notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import structlog

log = structlog.get_logger("flux_edge.notices")

_MAX_NOTICE_BYTES = 4096  # an id and a name (names are at most 64 characters)


class FunctionNotice(msgspec.Struct, frozen=True):
    """Function `function_id`, named `name`, was saved (a new version) or `deleted`."""

    function_id: str
    name: str
    deleted: bool = False


OnNotice = Callable[[FunctionNotice], Awaitable[None]]


class SiblingNotices:
    """This worker's socket: announces its changes, and hands the siblings' to `on_notice`."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / f"notices-{secrets.token_hex(4)}.sock"
        self._socket: socket.socket | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._encode = msgspec.json.Encoder().encode
        self._decode = msgspec.json.Decoder(FunctionNotice).decode

    def listen(self, on_notice: OnNotice) -> None:
        """Take the siblings' notices in the running loop. A socket that cannot be bound leaves
        this worker without notices (logged), as with one worker."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(str(self._path))
        except OSError as exc:
            sock.close()
            log.warning("sibling_notices_unavailable", path=str(self._path), error=str(exc))
            return
        sock.setblocking(False)
        asyncio.get_running_loop().add_reader(sock.fileno(), self._receive, sock, on_notice)
        self._socket = sock

    def announce(self, notice: FunctionNotice) -> None:
        """Send `notice` to every sibling now, without waiting for any."""
        if self._socket is None:
            return
        data = self._encode(notice)
        for path in self._directory.glob("notices-*.sock"):
            if path != self._path:
                # A sibling that has ended leaves its socket file (refused), a busy one may have
                # a full buffer (would block): either way it goes without this notice.
                with contextlib.suppress(OSError):
                    self._socket.sendto(data, str(path))

    def close(self) -> None:
        """Stop listening (the worker is stopping); notices being handled are cancelled."""
        sock, self._socket = self._socket, None
        if sock is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed already
            asyncio.get_running_loop().remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(OSError):
            self._path.unlink()
        for task in self._handling:
            task.cancel()

    def _receive(self, sock: socket.socket, on_notice: OnNotice) -> None:
        while True:
            try:
                data = sock.recv(_MAX_NOTICE_BYTES)
            except OSError:  # nothing more to read (or the socket failed: nothing to read)
                return
            try:
                notice = self._decode(data)
            except msgspec.DecodeError:
                continue  # not a notice: only this server's workers can write here
            task = asyncio.get_running_loop().create_task(self._handle(on_notice, notice))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    @staticmethod
    async def _handle(on_notice: OnNotice, notice: FunctionNotice) -> None:
        try:
            await on_notice(notice)
        except Exception:  # one notice's failure must not stop the next ones
            log.exception("sibling_notice_failed", function=notice.name)
