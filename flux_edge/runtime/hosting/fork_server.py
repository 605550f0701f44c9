"""The zygote's own loop, run in its process: fork an isolate host per request, report how each
ended to the server process that asked for it (zygote.py is the server's side).

A zygote serves either one server process, on the control socket it was started with (its end
of file ends the zygote), or every worker of one server: it is then started with a registrar
socket (SOCK_SEQPACKET) on which each worker hands over its own control socket. Hosts belong to
the worker that asked for them: a worker's exit reports go to it alone, and when its control
socket closes (the worker stopped or was killed) the hosts it still has are killed, as they
would be had their own zygote died with it. The registrar's end (the supervisor and every worker
gone) ends the zygote.

Wire (server -> zygote): 4-byte heap cap in MiB with the two fds attached (SCM_RIGHTS).
(zygote -> server): b"P" + pid, one per launch in order; b"X" + pid + signed status when a host
ends. Registrar: one byte with the worker's end of a new control socket attached.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import selectors
import signal
import socket
import struct
import sys
from importlib.resources import files
from pathlib import Path

from flux_edge.collector import freeze_start_heap
from flux_edge.lean_imports import HTTPX_EXTRAS, import_without
from flux_edge.runtime.hosting.process import die_with_parent

# What hosts import on first use (fetch: httpx and its transport, ~0.1 s of CPU): the zygote
# imports it once it is first idle this long, so hosts forked after that inherit it instead of
# paying it inside a call, and the spare hosts booted at server start are not delayed by it.
_IDLE_IMPORT_SECONDS = 0.2
_IMPORTED_WHEN_IDLE = ("flux_edge.runtime.capabilities.net",)

LAUNCH = struct.Struct(">I")
REPLY = struct.Struct(">cIi")  # kind, pid, status (0 for b"P")

_REGISTRAR = "registrar"
_CHILD = "child"
_CLIENT = "client"


class _ForkServer:
    def __init__(self, control: socket.socket) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _CHILD)
        self._clients: set[socket.socket] = set()
        self._owner: dict[int, socket.socket] = {}  # each live host's client
        self._shared = control.type == socket.SOCK_SEQPACKET
        if self._shared:
            self._selector.register(control, selectors.EVENT_READ, _REGISTRAR)
        else:
            self._add_client(control)

    def run(self) -> None:
        idle_imports = True
        while True:
            ready = self._selector.select(_IDLE_IMPORT_SECONDS if idle_imports else None)
            if not ready and idle_imports:
                idle_imports = False
                import_without("httpx", HTTPX_EXTRAS)
                for module in _IMPORTED_WHEN_IDLE:
                    importlib.import_module(module)
            for key, _ in ready:
                if key.data == _CHILD:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    self._report_exits()
                elif key.data == _REGISTRAR:
                    self._register(key.fileobj)  # type: ignore[arg-type]
                else:
                    self._serve(key.fileobj)  # type: ignore[arg-type]

    def _add_client(self, client: socket.socket) -> None:
        self._clients.add(client)
        self._selector.register(client, selectors.EVENT_READ, _CLIENT)

    def _register(self, registrar: socket.socket) -> None:
        data, fds, _, _ = socket.recv_fds(registrar, 1, 1)
        if not data:
            os._exit(0)  # the server's supervisor and all its workers are gone
        for fd in fds:
            self._add_client(socket.socket(fileno=fd))

    def _serve(self, client: socket.socket) -> None:
        if client not in self._clients:
            return  # dropped earlier in this turn
        try:
            data, fds, _, _ = socket.recv_fds(client, LAUNCH.size, 2)
        except OSError:
            data, fds = b"", []
        if not data:
            if not self._shared:
                os._exit(0)  # the server closed the control socket
            self._drop(client)
            return
        (heap_mb,) = LAUNCH.unpack(data)
        freeze_start_heap()  # a host's collections then leave the pages it shares alone
        pid = os.fork()
        if pid == 0:
            self._become_host(client, fds, heap_mb)
        for fd in fds:
            os.close(fd)
        self._owner[pid] = client
        self._send(client, REPLY.pack(b"P", pid, 0))

    def _become_host(self, client: socket.socket, fds: list[int], heap_mb: int) -> None:
        from flux_edge.runtime.hosting.host import run

        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # No host keeps another server process's control socket (or the registrar) open.
        for key in list(self._selector.get_map().values()):
            if isinstance(key.fileobj, socket.socket):
                key.fileobj.close()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        run(socket.socket(fileno=fds[0]), fds[1], heap_mb)
        os._exit(0)

    def _drop(self, client: socket.socket) -> None:
        """A worker went away: the hosts it still has go too (reaped, not reported)."""
        self._selector.unregister(client)
        client.close()
        self._clients.discard(client)
        for pid in [pid for pid, owner in self._owner.items() if owner is client]:
            del self._owner[pid]
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _send(self, client: socket.socket, message: bytes) -> None:
        try:
            client.sendall(message)
        except OSError:
            if not self._shared:
                os._exit(0)
            self._drop(client)

    def _report_exits(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            client = self._owner.pop(pid, None)
            if client is not None:
                self._send(client, REPLY.pack(b"X", pid, os.waitstatus_to_exitcode(status)))


def serve(control: socket.socket) -> None:
    """The zygote's loop on `control`: one server process's control socket, or the registrar of
    a server's workers (SOCK_SEQPACKET)."""
    from flux_edge.runtime.prelude import prelude_source

    die_with_parent()
    # Built once here (plain Python, fork-safe), so every forked host inherits the cached prelude
    # instead of generating its data tables (webdata.py) again.
    prelude_source()
    _load_v8_library()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _ForkServer(control).run()


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
