"""`flux-edge serve --workers 2` spreads connections over its workers (flux_edge/http/listeners.py).

With one socket shared by every worker, the first worker to wake accepted every connection of a
burst: 16 keep-alive connections all went to one worker and the other idled. Each worker now
listens on a socket of its own in one SO_REUSEPORT group, and the kernel spreads new connections.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from collections import Counter
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE

from flux_edge.http.listeners import WorkerListeners, reuse_port_listener

# Connections opened at once: by the kernel's hash, all of them on one of two workers is a
# chance of 2 in 2**24.
CONNECTIONS = 24
REQUEST = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"


def workers_of(server) -> list[int]:
    """The server's worker processes: its forked children running its own command line."""
    parent = server.process.pid
    command = Path(f"/proc/{parent}/cmdline").read_bytes()
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if Path(f"/proc/{pid}/cmdline").read_bytes() == command]


def sockets_on_port(port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets whose local port is `port`, in `state` (0A listen, 01 open)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


def owners(pids: list[int], inodes: set[int]) -> Counter[int]:
    """How many of `inodes` each process holds open."""
    held: Counter[int] = Counter()
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                held[pid] += 1
    return held


def listening_workers(server, gone: int | None = None) -> list[int]:
    """The workers once each listens on a socket of its own (the server answers as soon as one
    does), none of them `gone`."""
    deadline = time.monotonic() + 30
    while True:
        workers = workers_of(server)
        listeners = sockets_on_port(server.port, "0A")
        held = owners(workers, listeners)
        if gone not in workers and len(listeners) == 2 and sorted(held.values()) == [1, 1]:
            return workers
        assert time.monotonic() < deadline, f"listeners {listeners} held by {held}"
        time.sleep(0.05)


def open_connections(port: int) -> list[socket.socket]:
    """CONNECTIONS keep-alive connections, opened in one burst (as a load generator or a proxy's
    pool opens them), each answered once and left open."""
    clients = [socket.socket() for _ in range(CONNECTIONS)]
    for client in clients:
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
    for client in clients:
        select.select([], [client], [], 10)  # connected
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        client.settimeout(10)
        client.sendall(REQUEST)
    for client in clients:
        assert client.recv(65536).startswith(b"HTTP/1.1 200 ")
    return clients


def test_each_worker_listens_on_its_own_socket_and_takes_part_of_a_burst(start_server):
    server = start_server(args=["--workers", "2"])
    workers = listening_workers(server)
    assert len(workers) == 2

    clients = open_connections(server.port)
    try:
        held = owners(workers, sockets_on_port(server.port, "01"))
        assert sum(held.values()) == CONNECTIONS
        assert all(held[pid] > 0 for pid in workers), held
    finally:
        for client in clients:
            client.close()


def test_a_worker_that_dies_is_replaced_by_one_listening_on_its_own_socket(start_server):
    server = start_server(args=["--workers", "2"])
    dead = listening_workers(server)[0]
    os.kill(dead, signal.SIGKILL)
    listening_workers(server, gone=dead)
    clients = open_connections(server.port)
    for client in clients:
        client.close()


def test_a_worker_reads_its_own_listener_bound_once_into_the_port_group():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    listeners = WorkerListeners("127.0.0.1", port)
    first, again = list(listeners), list(listeners)
    try:
        assert len(first) == 1
        assert again == first  # bound once per process
        assert first[0].getsockname() == ("127.0.0.1", port)
        first[0].listen()  # as the worker's server does
        # The port takes a second member (another worker's), and no socket outside the group.
        with reuse_port_listener("127.0.0.1", port) as sibling:
            assert sibling.getsockname()[1] == port
        with socket.socket() as outsider:
            outsider.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with pytest.raises(OSError, match="in use"):
                outsider.bind(("127.0.0.1", port))
        # A process forked from the one holding the list binds one of its own.
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(read)
            own = next(iter(listeners))
            os.write(write, b"own" if own is not first[0] and own.getsockname()[1] == port else b"")
            os._exit(0)
        os.close(write)
        assert os.read(read, 16) == b"own"
        os.waitpid(child, 0)
    finally:
        for sock in first:
            sock.close()


def test_a_worker_that_cannot_bind_exits_as_a_start_failure(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            list(WorkerListeners("127.0.0.1", port))
    # uvicorn's supervisor stops the server on this status instead of restarting the worker.
    assert exited.value.code == STARTUP_FAILURE
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "family", "address"),
    [("localhost", socket.AF_INET, "127.0.0.1"), ("::1", socket.AF_INET6, "::1")],
)
def test_a_listener_takes_the_family_uvicorns_own_bind_takes(host, family, address):
    with reuse_port_listener(host, 0) as listener:
        assert listener.family == family
        assert listener.getsockname()[0] == address
