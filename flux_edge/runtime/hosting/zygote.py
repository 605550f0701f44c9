"""The fork server ("zygote") that starts isolate hosts in milliseconds instead of ~0.3 s: the
server's side (its loop, in its own process, is fork_server.py).

Started with the runtime modules imported and V8 *not* initialised (V8 starts threads, after
which forking is unsafe). For each host the server sends one socket end, its taken-calls mark
(taken.py) and the V8 heap cap; the zygote forks, the child becomes the host (it only has to
initialise V8 and boot an engine), and the zygote answers with the child's pid. It reaps its
children and reports each exit status, which tells a V8 abort from a kill.

A server with one worker starts its zygote before its own imports (`prestart`). With several
workers, the supervisor starts one zygote before it forks them (`start_shared`) and each worker
registers with it, instead of each booting its own (~30 MB and ~0.3 s of CPU a worker). A worker
whose zygote is gone starts one of its own. Through the shared zygote the workers also share each
function's host (`bind`, `join`; fork_server.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys

import structlog

from flux_edge.runtime.cpus import release
from flux_edge.runtime.hosting.fork_server import (
    BIND,
    EXITED,
    JOIN,
    JOINED,
    LAUNCH,
    LAUNCHED,
    REPLY,
    REQUEST,
)

log = structlog.get_logger("flux_edge.runtime.hosts")


def _command(fd: int) -> list[str]:
    """How to start a zygote with its end of the control socket on `fd`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "__isolate-host", "zygote", str(fd)]
    return [sys.executable, "-m", "flux_edge.runtime.hosting", "zygote", str(fd)]


def _env() -> dict[str, str]:
    """The server's own settings (its admin token among them) stay out of the hosts."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}


class _ZygoteProcess:
    """The zygote's process, started with `subprocess` (also before any event loop exists, see
    `prestart`), with the awaitable wait its owner needs."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._popen = process

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def kill(self) -> None:
        self._popen.kill()

    async def wait(self) -> int:
        return await asyncio.to_thread(self._popen.wait)


def _spawn(kind: socket.SocketKind = socket.SOCK_STREAM) -> tuple[_ZygoteProcess, socket.socket]:
    """Start a zygote; its process and this end of its control socket (a registrar if `kind`
    is SOCK_SEQPACKET, see fork_server.py)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, kind)
    try:
        process = subprocess.Popen(
            _command(theirs.fileno()),
            env=_env(),
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            # In the server's process group (a supervisor that stops the group stops the hosts
            # too); a terminal's Ctrl-C is ignored by the zygote and the hosts.
        )
    finally:
        theirs.close()
    release(process.pid)  # started by a worker that has a CPU of its own (runtime/cpus.py)
    return _ZygoteProcess(process), ours


# The zygote `prestart` started, until this process's first runtime adopts it.
_early: tuple[_ZygoteProcess, socket.socket] | None = None


def prestart() -> None:
    """Start this process's zygote now, before the server imports its modules and opens its
    event loop: it imports the runtime on the other CPU meanwhile (~0.3 s here), so the first
    isolate hosts are up that much sooner after start. Only for a process whose one runtime will
    adopt it (`flux-edge serve` with one worker: its main thread is the serving loop's, so the
    zygote, which dies with the thread that started it, lives as long as the server)."""
    global _early
    _early = _spawn()


# The zygote `start_shared` started in the supervisor of several workers: its registrar, which
# the workers inherit when they are forked (never an exec'd process: the socket is not
# inheritable), and its pid, which is not a worker's child (never waited for there).
_shared: tuple[socket.socket, int] | None = None


def start_shared() -> None:
    """Start the zygote this process's forked workers will share (call before forking them)."""
    global _shared
    process, registrar = _spawn(socket.SOCK_SEQPACKET)
    _shared = (registrar, process.pid)


def shared_zygote_pid() -> int | None:
    """The pid of the zygote the supervisor started for its workers, if any."""
    return _shared[1] if _shared is not None else None


def _join_shared() -> socket.socket | None:
    """A control socket of this process's own on the supervisor's zygote, or None when there is
    none or it is gone."""
    if _shared is None:
        return None
    ours, theirs = socket.socketpair()
    try:
        socket.send_fds(_shared[0], [b"C"], [theirs.fileno()])
    except OSError:
        ours.close()
        return None
    finally:
        theirs.close()
    return ours


def _take_early() -> tuple[_ZygoteProcess, socket.socket] | None:
    """The prestarted zygote if it is still running (once), else None."""
    global _early
    early, _early = _early, None
    if early is not None and early[0].returncode is not None:
        early[1].close()
        return None
    return early


class Zygote:
    """The server's handle on its zygote: launch hosts, learn how they ended."""

    def __init__(self) -> None:
        self._process: _ZygoteProcess | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._control: socket.socket | None = None
        self._replies: asyncio.Queue[asyncio.Future[tuple[bytes, int]]] = asyncio.Queue()
        self.shared = False  # registered with the zygote the server's workers share
        self._exits: dict[int, asyncio.Future[int | None]] = {}
        self._exited: dict[int, int] = {}
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the zygote process (it imports the runtime once, ~0.2 s of its own CPU), adopt
        the one `prestart` started for this process, or register with the workers' shared one."""
        early = _take_early()
        if early is not None:
            log.debug("adopted the isolate host zygote started before the server's imports")
            self._process, ours = early
        elif (shared := _join_shared()) is not None:
            log.debug("registered with the isolate host zygote the server's workers share")
            ours = shared
            self.shared = True
        else:
            self._process, ours = _spawn()
        self._control = ours
        # The writer is kept: collecting it would close the socket.
        self._reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        self._reading = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                kind, pid, status = REPLY.unpack(await self._reader.readexactly(REPLY.size))
                if kind != EXITED:
                    reply = self._replies.get_nowait()
                    if not reply.done():  # its asker may have been cancelled
                        reply.set_result((kind, pid))
                else:
                    waiter = self._exits.pop(pid, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(status)
                    else:
                        self._exited[pid] = status
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:  # the zygote is gone: nothing it started can be reported any more
            while not self._replies.empty():
                reply = self._replies.get_nowait()
                if not reply.done():
                    reply.set_exception(ConnectionError("the isolate host zygote stopped"))
            for waiter in self._exits.values():
                if not waiter.done():
                    waiter.set_result(None)

    @property
    def alive(self) -> bool:
        """The zygote runs and its control socket is open (a shared zygote's end of that
        socket closes when it stops)."""
        if self._process is not None and self._process.returncode is not None:
            return False
        return self._reading is not None and not self._reading.done()

    async def _ask(
        self, kind: bytes, number: int, function_id: str = "", fds: tuple[int, ...] = ()
    ) -> tuple[bytes, int]:
        """Send one request (fork_server.py); its reply's kind and pid."""
        assert self._control is not None
        name = function_id.encode()
        # One small message on a local socket: does not block in practice.
        socket.send_fds(self._control, [REQUEST.pack(kind, number, len(name)) + name], list(fds))
        future: asyncio.Future[tuple[bytes, int]] = asyncio.get_running_loop().create_future()
        self._replies.put_nowait(future)
        return await future

    async def launch(self, sock: socket.socket, taken_fd: int, heap_mb: int) -> int:
        """Fork a host on `sock` with the mark `taken_fd` (the caller closes its copies);
        returns its pid."""
        kind, pid = await self._ask(LAUNCH, heap_mb, fds=(sock.fileno(), taken_fd))
        assert kind == LAUNCHED
        return pid

    async def join(self, function_id: str, sock: socket.socket, taken_fd: int) -> int | None:
        """Connect `sock` (with the mark `taken_fd`; the caller closes its copies) to the host
        another worker bound to `function_id`: its pid, or None when there is none."""
        kind, pid = await self._ask(JOIN, 0, function_id, (sock.fileno(), taken_fd))
        return pid if kind == JOINED else None

    async def bind(self, function_id: str, pid: int) -> int:
        """Make host `pid` the one the workers share for `function_id`, unless a live host is
        already: returns the pid of the bound one."""
        _, bound = await self._ask(BIND, pid, function_id)
        return bound

    async def wait(self, pid: int) -> int | None:
        """How host `pid` ended (its exit status; negative: the signal), once it has."""
        if pid in self._exited:
            return self._exited.pop(pid)
        waiter = self._exits.get(pid)
        if waiter is None:
            waiter = self._exits[pid] = asyncio.get_running_loop().create_future()
        return await asyncio.shield(waiter)

    async def close(self) -> None:
        """Stop the zygote (its hosts die with it: they are killed when their parent ends), or
        leave the shared one (which kills the hosts this process still has)."""
        if self._writer is not None:
            self._writer.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        if self._reading is not None:
            self._reading.cancel()
