"""The fork server ("zygote") that starts isolate hosts in milliseconds instead of ~0.3 s.

Started once per server process with the runtime modules imported and V8 *not* initialised (V8
starts threads, after which forking is unsafe). For each host the server sends one socket end,
its taken-calls mark (taken.py) and the V8 heap cap; the zygote forks, the child becomes the
host (it only has to initialise V8 and boot an engine), and the zygote answers with the child's
pid. It reaps its children and reports each exit status, which tells a V8 abort from a kill.

Wire (server -> zygote): 4-byte heap cap in MiB with the two fds attached (SCM_RIGHTS).
(zygote -> server): b"P" + pid, one per launch in order; b"X" + pid + signed status when a host
ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import structlog

from flux_edge.collector import freeze_start_heap
from flux_edge.lean_imports import HTTPX_EXTRAS, import_without
from flux_edge.runtime.hosting.process import die_with_parent

log = structlog.get_logger("flux_edge.runtime.hosts")

# What hosts import on first use (fetch: httpx and its transport, ~0.1 s of CPU): the zygote
# imports it once it is first idle this long, so hosts forked after that inherit it instead of
# paying it inside a call, and the spare hosts booted at server start are not delayed by it.
_IDLE_IMPORT_SECONDS = 0.2
_IMPORTED_WHEN_IDLE = ("flux_edge.runtime.capabilities.net",)

_LAUNCH = struct.Struct(">I")
_REPLY = struct.Struct(">cIi")  # kind, pid, status (0 for b"P")


def serve(control: socket.socket) -> None:
    """The zygote's loop: fork a host per request, report pids and exit statuses."""
    # Imported here, in the zygote, so that the server's side of this module does not load V8.
    from flux_edge.runtime.hosting.host import run
    from flux_edge.runtime.prelude import prelude_source

    die_with_parent()
    # Built once here (plain Python, fork-safe), so every forked host inherits the cached prelude
    # instead of generating its data tables (webdata.py) again.
    prelude_source()
    _load_v8_library()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    idle_imports = True
    while True:
        ready = selector.select(_IDLE_IMPORT_SECONDS if idle_imports else None)
        if not ready and idle_imports:
            idle_imports = False
            import_without("httpx", HTTPX_EXTRAS)
            for module in _IMPORTED_WHEN_IDLE:
                importlib.import_module(module)
        for key, _ in ready:
            if key.data == "child":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _report_exits(control)
                continue
            data, fds, _, _ = socket.recv_fds(control, _LAUNCH.size, 2)
            if not data:
                os._exit(0)  # the server closed the control socket
            (heap_mb,) = _LAUNCH.unpack(data)
            freeze_start_heap()  # a host's collections then leave the pages it shares alone
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                selector.close()
                control.close()
                os.close(wake_r)
                os.close(wake_w)
                run(socket.socket(fileno=fds[0]), fds[1], heap_mb)
                os._exit(0)
            for fd in fds:
                os.close(fd)
            control.sendall(_REPLY.pack(b"P", pid, 0))


# v8::V8::InitializeICU(const char*), exported by mini-racer's library (Itanium C++ mangling).
_INITIALIZE_ICU = "_ZN2v82V813InitializeICUEPKc"


def _load_v8_library() -> None:
    """Load mini-racer's library and V8's ICU data before any fork, without initialising V8
    (which would start threads): hosts then share both with the zygote, copy-on-write.

    Each host relocated its own copy of the library (~1 MB private) and read the 10.3 MB ICU
    data file into a buffer of its own; V8 reads it once per process (a second InitializeICU
    returns at once), so the buffer a host inherits is the one its V8 uses. A library without
    that export still works: each host then loads ICU itself, as before.
    """
    from py_mini_racer import _dll  # private API: the file names for this platform

    frozen = getattr(sys, "_MEIPASS", None)  # where PyInstaller's build keeps them (as _dll does)
    folder = Path(frozen) / "py_mini_racer" if frozen else files("py_mini_racer")
    library = ctypes.CDLL(str(folder / _dll._get_lib_filename("mini_racer")))
    try:
        initialize_icu = library[_INITIALIZE_ICU]
    except AttributeError:
        return
    initialize_icu.argtypes = [ctypes.c_char_p]
    initialize_icu.restype = ctypes.c_bool
    initialize_icu(str(folder / _dll._ICU_DATA_FILENAME).encode())


def _report_exits(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.sendall(_REPLY.pack(b"X", pid, os.waitstatus_to_exitcode(status)))


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


def _spawn() -> tuple[_ZygoteProcess, socket.socket]:
    """Start a zygote; its process and the server's end of its control socket."""
    ours, theirs = socket.socketpair()
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
        self._launches: asyncio.Queue[asyncio.Future[int]] = asyncio.Queue()
        self._exits: dict[int, asyncio.Future[int | None]] = {}
        self._exited: dict[int, int] = {}
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the zygote process (it imports the runtime once, ~0.2 s of its own CPU), or
        adopt the one `prestart` started for this process."""
        early = _take_early()
        if early is not None:
            log.debug("adopted the isolate host zygote started before the server's imports")
        self._process, ours = early or _spawn()
        self._control = ours
        # The writer is kept: collecting it would close the socket.
        self._reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        self._reading = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                kind, pid, status = _REPLY.unpack(await self._reader.readexactly(_REPLY.size))
                if kind == b"P":
                    self._launches.get_nowait().set_result(pid)
                else:
                    waiter = self._exits.pop(pid, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(status)
                    else:
                        self._exited[pid] = status
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:  # the zygote is gone: nothing it started can be reported any more
            while not self._launches.empty():
                self._launches.get_nowait().set_exception(
                    ConnectionError("the isolate host zygote stopped")
                )
            for waiter in self._exits.values():
                if not waiter.done():
                    waiter.set_result(None)

    @property
    def alive(self) -> bool:
        """The zygote runs and its control socket is open."""
        return (
            self._process is not None
            and self._process.returncode is None
            and self._reading is not None
            and not self._reading.done()
        )

    async def launch(self, sock: socket.socket, taken_fd: int, heap_mb: int) -> int:
        """Fork a host on `sock` with the mark `taken_fd` (the caller closes its copies);
        returns its pid."""
        assert self._control is not None
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._launches.put_nowait(future)
        # One small datagram-sized message on a local socket: does not block in practice.
        socket.send_fds(self._control, [_LAUNCH.pack(heap_mb)], [sock.fileno(), taken_fd])
        return await future

    async def wait(self, pid: int) -> int | None:
        """How host `pid` ended (its exit status; negative: the signal), once it has."""
        if pid in self._exited:
            return self._exited.pop(pid)
        waiter = self._exits.get(pid)
        if waiter is None:
            waiter = self._exits[pid] = asyncio.get_running_loop().create_future()
        return await asyncio.shield(waiter)

    async def close(self) -> None:
        """Stop the zygote (its hosts die with it: they are killed when their parent ends)."""
        if self._writer is not None:
            self._writer.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        if self._reading is not None:
            self._reading.cancel()
