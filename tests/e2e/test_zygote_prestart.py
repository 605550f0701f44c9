"""`flux-edge serve` starts its isolate hosts' fork server (the zygote) before it imports the
server (flux_edge/runtime/hosting/zygote.py): with one worker its runtime adopts that one
(`prestart`); with several, the supervisor starts one before forking them and every worker
registers with it (`start_shared`), its hosts killed when that worker dies. Read from the real
processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN

ADOPTED = "adopted the isolate host zygote started before the server's imports"
CODE = "function handler(req) { return {status: 200, body: 'ok'} }"


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def is_zygote(pid: int) -> bool:
    return b"flux_edge.runtime.hosting\x00zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()


def zygotes_of(pid: int) -> list[int]:
    return [child for child in children(pid) if is_zygote(child)]


def workers_of(pid: int) -> list[int]:
    return [child for child in children(pid) if not is_zygote(child)]


def eventually(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def spares_up(zygote: int, count: int) -> set[int] | None:
    """The zygote's hosts once there are `count` of them."""
    hosts = set(children(zygote))
    return hosts if len(hosts) == count else None


def deploy_and_call(server) -> None:
    admin = server.client(ADMIN_TOKEN)
    created = admin.post("/api/v1/functions", json={"name": "z", "code": CODE, "enabled": True})
    assert created.status_code == 201, created.text
    assert admin.post("/api/v1/functions/z/invoke").text == "ok"


def test_one_worker_adopts_the_zygote_it_started_before_its_imports(start_server):
    server = start_server(extra_env={"FLUX_EDGE_LOG_LEVEL": "debug"})
    deploy_and_call(server)
    assert ADOPTED in server.stdout()
    (zygote,) = zygotes_of(server.process.pid)  # the early one, and no second
    hosts = Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split()
    assert hosts  # the function's host and the spares are its children


def test_several_workers_share_one_zygote_the_supervisor_started(start_server):
    server = start_server(args=["--workers", "2"], extra_env={"FLUX_EDGE_LOG_LEVEL": "debug"})
    deploy_and_call(server)
    (zygote,) = zygotes_of(server.process.pid)
    workers = workers_of(server.process.pid)
    assert len(workers) == 2
    assert all(zygotes_of(worker) == [] for worker in workers)  # none started its own
    assert server.stdout().count("registered with the isolate host zygote") == 2
    # Both workers' spares (two each) and the function's host are the shared zygote's children.
    assert eventually(lambda: len(children(zygote)) >= 5), children(zygote)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(8):
            answer = client.post("/api/v1/functions/z/invoke", headers={"connection": "close"})
            assert answer.text == "ok"


def test_a_killed_worker_takes_its_own_hosts_with_it_and_no_other(start_server):
    server = start_server(args=["--workers", "2"])
    (zygote,) = zygotes_of(server.process.pid)
    before = eventually(lambda: spares_up(zygote, 4))  # two spare hosts per worker
    assert before, children(zygote)
    # Stopped, the hosts cannot notice that their worker's socket closed (as a host whose loop
    # is stuck could not): the zygote has to kill the victim's itself, and only those. Resumed
    # before the other worker's pings (1 s) would give up on its own.
    for host in before:
        os.kill(host, signal.SIGSTOP)
    try:
        os.kill(workers_of(server.process.pid)[0], signal.SIGKILL)
        eventually(lambda: len(set(children(zygote)) & before) <= 2, 0.8)
        left = set(children(zygote)) & before
    finally:
        for host in before:
            with contextlib.suppress(ProcessLookupError):
                os.kill(host, signal.SIGCONT)
    assert len(left) == 2, (before, left)
    # The worker that replaces the victim registers and boots two spares of its own.
    after = eventually(lambda: spares_up(zygote, 4))
    assert after, children(zygote)
    assert after & before == left, (before, left, after)
    assert zygotes_of(server.process.pid) == [zygote]
    deploy_and_call(server)


def test_workers_start_their_own_zygotes_when_the_shared_one_dies(start_server):
    server = start_server(args=["--workers", "2"])
    (zygote,) = zygotes_of(server.process.pid)
    os.kill(zygote, signal.SIGKILL)
    deploy_and_call(server)  # the worker that answers boots a zygote of its own first
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(8):
            answer = client.post("/api/v1/functions/z/invoke", headers={"connection": "close"})
            assert answer.text == "ok"
    assert any(zygotes_of(worker) for worker in workers_of(server.process.pid))
