"""The zygote's own loop, run in its process: fork an isolate host per request, report how each
ended to the server processes that use it (zygote.py is the server's side).

A zygote serves either one server process, on the control socket it was started with (its end
of file ends the zygote), or every worker of one server: it is then started with a registrar
socket (SOCK_SEQPACKET) on which each worker hands over its own control socket. The registrar's
end (the supervisor and every worker gone) ends the zygote.

The workers of one server share each function's host: the first worker to need a host for a
function binds one of its own to it here, and the others join that host (the zygote hands it
their connection over the host's channel, a socket each host gets when it is forked) instead of
running one each. A host is used by the workers that launched or joined it: they get its exit
report, and when the last of them has gone (its control socket closed: the worker stopped or was
killed) the host is killed, as it would be had its own zygote died with the worker. A host that
stops taking new calls (recycling) says so on its channel, and is unbound.

Wire (server -> zygote): REQUEST (kind, number, length of the function id that follows) and the
id: b"L" launch (number: heap cap in MiB) and b"J" join a function's host, both with a socket
and a taken-calls mark attached (SCM_RIGHTS); b"B" bind host `number` to the function unless
another host is bound to it. (zygote -> server), one reply per request in order: b"P" + pid
(launched), b"J" + pid (joined) or b"N" (no host to join), b"B" + the bound host's pid; and
b"X" + pid + signed status when a host the worker uses ends. Registrar: one byte with the
worker's end of a new control socket attached. Host channel (zygote -> host): one byte with a
joining worker's socket and mark attached; (host -> zygote): b"D", unbind me.
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

REQUEST = struct.Struct(">cIH")  # kind, heap cap or pid, length of the function id
REPLY = struct.Struct(">cIi")  # kind, pid, status (0 but for b"X")
LAUNCH, JOIN, BIND = b"L", b"J", b"B"
LAUNCHED, JOINED, NO_HOST, BOUND, EXITED = b"P", b"J", b"N", b"B", b"X"
UNBIND = b"D"

_REGISTRAR = "registrar"
_CHILD = "child"
_CLIENT = "client"


class _Host:
    """A live host: its channel, the workers that use it and the function it is bound to."""

    __slots__ = ("channel", "clients", "function_id")

    def __init__(self, channel: socket.socket, client: socket.socket) -> None:
        self.channel = channel
        self.clients = {client}
        self.function_id: str | None = None


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
        self._hosts: dict[int, _Host] = {}
        self._bound: dict[str, int] = {}  # function id -> the pid of the host its workers share
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
            # Exits and hosts' unbinding first: a worker's join in the same turn must not find a
            # host that has ended or is recycling.
            ready.sort(key=lambda event: event[0].data in (_REGISTRAR, _CLIENT))
            for key, _ in ready:
                if key.data == _CHILD:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    self._report_exits()
                elif key.data == _REGISTRAR:
                    self._register(key.fileobj)  # type: ignore[arg-type]
                elif key.data == _CLIENT:
                    self._serve(key.fileobj)  # type: ignore[arg-type]
                else:
                    self._hear_host(key.data, key.fileobj)  # type: ignore[arg-type]

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
            data, fds, _, _ = socket.recv_fds(client, REQUEST.size, 2)
            kind, number, length = REQUEST.unpack(data) if data else (b"", 0, 0)
            function_id = client.recv(length).decode() if length else ""
        except (OSError, struct.error, UnicodeDecodeError):
            kind, fds = b"", []
        if kind == LAUNCH:
            self._launch(client, fds, number)
        elif kind == JOIN:
            self._join(client, fds, function_id)
        elif kind == BIND:
            self._bind(client, number, function_id)
        else:
            for fd in fds:
                os.close(fd)
            if not self._shared:
                os._exit(0)  # the server closed the control socket
            self._drop(client)

    def _launch(self, client: socket.socket, fds: list[int], heap_mb: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        freeze_start_heap()  # a host's collections then leave the pages it shares alone
        pid = os.fork()
        if pid == 0:
            ours.close()
            self._become_host(fds, heap_mb, theirs)
        theirs.close()
        for fd in fds:
            os.close(fd)
        ours.setblocking(False)  # a frozen host that never reads it must not block this loop
        self._hosts[pid] = _Host(ours, client)
        self._selector.register(ours, selectors.EVENT_READ, pid)
        self._send(client, REPLY.pack(LAUNCHED, pid, 0))

    def _join(self, client: socket.socket, fds: list[int], function_id: str) -> None:
        """Hand the client's socket to the host bound to `function_id`, if there is one."""
        pid = self._bound.get(function_id, 0)
        host = self._hosts.get(pid)
        joined = False
        if host is not None:
            try:
                socket.send_fds(host.channel, [JOIN], fds)
                joined = True
            except OSError:  # the host is on its way out
                self._unbind(pid)
        for fd in fds:
            os.close(fd)
        if joined and host is not None:
            host.clients.add(client)
            self._send(client, REPLY.pack(JOINED, pid, 0))
        else:
            self._send(client, REPLY.pack(NO_HOST, 0, 0))

    def _bind(self, client: socket.socket, pid: int, function_id: str) -> None:
        """Bind host `pid` to the function unless a live host is bound to it already; the reply
        names the bound one."""
        bound = self._bound.get(function_id)
        if (bound is None or bound not in self._hosts) and pid in self._hosts:
            self._unbind(pid)
            self._bound[function_id] = pid
            self._hosts[pid].function_id = function_id
            bound = pid
        self._send(client, REPLY.pack(BOUND, bound or 0, 0))

    def _unbind(self, pid: int) -> None:
        host = self._hosts.get(pid)
        if host is not None and host.function_id is not None:
            if self._bound.get(host.function_id) == pid:
                del self._bound[host.function_id]
            host.function_id = None

    def _hear_host(self, pid: int, channel: socket.socket) -> None:
        """The host stopped taking new calls (b"D"), or is ending (its channel's end)."""
        if channel.fileno() < 0:
            return  # closed when the host was reaped earlier in this turn
        try:
            data = channel.recv(16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self._unbind(pid)
        if not data:
            self._close(channel)

    def _close(self, channel: socket.socket) -> None:
        if channel.fileno() >= 0:
            self._selector.unregister(channel)
            channel.close()

    def _become_host(self, fds: list[int], heap_mb: int, channel: socket.socket) -> None:
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
        run(socket.socket(fileno=fds[0]), fds[1], heap_mb, channel)
        os._exit(0)

    def _drop(self, client: socket.socket) -> None:
        """A worker went away: the hosts no other worker uses go too (reaped, not reported)."""
        self._selector.unregister(client)
        client.close()
        self._clients.discard(client)
        for pid, host in self._hosts.items():
            if client in host.clients:
                host.clients.discard(client)
                if not host.clients:
                    self._unbind(pid)
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
            self._unbind(pid)
            host = self._hosts.pop(pid, None)
            if host is None:
                continue
            self._close(host.channel)
            for client in list(host.clients):
                if client in self._clients:
                    self._send(client, REPLY.pack(EXITED, pid, os.waitstatus_to_exitcode(status)))


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
