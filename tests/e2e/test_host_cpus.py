"""A server started as the README says puts each function's isolate host on one CPU and, when its
workers are at most half the CPUs, each worker on a CPU of its own that no host is given
(docs/runtime.md, "CPU placement"); FLUX_EDGE_PIN_ISOLATE_HOSTS=false leaves them all free. Read
from the real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

ALL_CPUS = set(os.sched_getaffinity(0))
MULTI_CPU = len(ALL_CPUS) > 1
LIGHT = "function handler(req) { return {status: 200, body: 'ok'} }"


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def zygote_of(server_pid: int) -> int:
    (zygote,) = [
        pid
        for pid in children(server_pid)
        if b"flux_edge.runtime.hosting" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return zygote


def thread_cpus(pid: int) -> dict[int, set[int]]:
    """The CPUs each thread of `pid` may run on."""
    cpus = {}
    for entry in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that has just ended
            cpus[int(entry.name)] = set(os.sched_getaffinity(int(entry.name)))
    return cpus


def with_light_function(server) -> httpx.Client:
    """An admin client of `server`, which has the function `light` deployed."""
    admin = server.client(ADMIN_TOKEN)
    created = admin.post(
        "/api/v1/functions", json={"name": "light", "code": LIGHT, "enabled": True}
    )
    assert created.status_code == 201, created.text
    return admin


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.parametrize("pinned", [True, False])
def test_the_server_places_a_functions_host_on_one_cpu_unless_told_not_to(start_server, pinned):
    env = {} if pinned else {"FLUX_EDGE_PIN_ISOLATE_HOSTS": "false"}
    server = start_server(extra_env=env)
    admin = with_light_function(server)
    for _ in range(20):
        assert admin.post("/api/v1/functions/light/invoke").status_code == 200
    zygote = zygote_of(server.process.pid)
    hosts = children(zygote)
    busiest = max(hosts, key=cpu_ticks)  # the function's host; the others are spares
    cpus = {host: set(os.sched_getaffinity(host)) for host in hosts}
    server_cpus = thread_cpus(server.process.pid)
    if pinned and MULTI_CPU:
        # One worker, at most half the CPUs: every thread of it on the first CPU, the host elsewhere.
        assert all(c == {min(ALL_CPUS)} for c in server_cpus.values()), server_cpus
        assert len(cpus[busiest]) == 1, cpus
        assert cpus[busiest] <= ALL_CPUS - {min(ALL_CPUS)}, cpus
    else:
        assert all(c == ALL_CPUS for c in server_cpus.values()), server_cpus
        assert cpus[busiest] == ALL_CPUS, cpus
    # The zygote, and the spares until they are given a function, run anywhere.
    assert set(os.sched_getaffinity(zygote)) == ALL_CPUS
    assert all(cpus[host] == ALL_CPUS for host in hosts if host != busiest), cpus


@pytest.mark.skipif(not MULTI_CPU, reason="a worker takes a CPU of its own only when there are two")
def test_a_zygote_the_pinned_server_starts_again_runs_on_every_cpu(start_server):
    # The server's threads are pinned, and a process inherits the pin of the thread that starts
    # it: a zygote started after the first one died must be let go to every CPU again.
    server = start_server()
    admin = with_light_function(server)
    first = zygote_of(server.process.pid)
    os.kill(first, signal.SIGKILL)  # its hosts die with it
    deadline = time.monotonic() + 30
    while True:  # the next call that needs a host starts a new zygote
        answer = admin.post("/api/v1/functions/light/invoke")
        if answer.status_code == 200:
            with contextlib.suppress(ValueError):
                zygote = zygote_of(server.process.pid)
                if zygote != first:
                    break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)
    assert set(os.sched_getaffinity(zygote)) == ALL_CPUS
    assert all(c == {min(ALL_CPUS)} for c in thread_cpus(server.process.pid).values())


@pytest.mark.skipif(len(ALL_CPUS) < 2, reason="placement needs two CPUs to spread over")
def test_two_workers_put_their_busy_hosts_on_different_cpus(start_server):
    # The workers share each function's host; the worker that binds one places it, starting from
    # its rank and away from its other hosts, so two functions' hosts spread as one worker's would.
    server = start_server(args=["--workers", "2"])
    code = "function handler(req) { return {status: 200, body: 'ok'} }"
    names = ("light", "other")
    with httpx.Client(base_url=server.url, timeout=30) as client:  # new connections: both workers
        close = {"connection": "close"}
        for name in names:
            created = client.post(
                "/api/v1/functions",
                json={"name": name, "code": code, "enabled": True},
                headers={**close, "authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert created.status_code == 201, created.text
        for _ in range(200):
            for name in names:
                answer = client.post(f"/api/v1/functions/{name}/invoke", headers=close)
                assert answer.status_code == 200
    # The workers share one zygote; the two functions' hosts are the two busiest of its
    # children (the others are spares).
    hosts = children(zygote_of(server.process.pid))
    busiest = sorted(hosts, key=cpu_ticks)[-2:]
    cpus = [set(os.sched_getaffinity(host)) for host in busiest]
    assert all(len(c) == 1 for c in cpus), cpus
    workers = [
        pid
        for pid in children(server.process.pid)
        if b"flux_edge.runtime.hosting" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(workers) == 2, workers
    worker_cpus = [thread_cpus(pid) for pid in workers]
    if len(ALL_CPUS) >= 4:
        # Two workers, at most half the CPUs: each on a CPU of its own, the hosts on the others.
        owned = [set().union(*w.values()) for w in worker_cpus]
        assert sorted(map(len, owned)) == [1, 1], owned
        assert owned[0] != owned[1], owned
        assert not (cpus[0] | cpus[1]) & (owned[0] | owned[1]), (cpus, owned)
    else:
        # More workers than half the CPUs: they share them with the hosts, as the kernel places
        # them.
        assert all(c == ALL_CPUS for w in worker_cpus for c in w.values()), worker_cpus
    if len(ALL_CPUS) - (2 if len(ALL_CPUS) >= 4 else 0) > 1:
        assert cpus[0] != cpus[1], cpus
