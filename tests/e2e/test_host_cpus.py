"""A server started as the README says puts each function's isolate host on one CPU
(docs/runtime.md, "CPU placement"); FLUX_EDGE_PIN_ISOLATE_HOSTS=false leaves them free. Read from
the real processes."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

ALL_CPUS = set(os.sched_getaffinity(0))


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def zygote_of(server_pid: int) -> int:
    (zygote,) = [
        pid
        for pid in children(server_pid)
        if b"flux_edge.runtime.hosting" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return zygote


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.parametrize("pinned", [True, False])
def test_the_server_places_a_functions_host_on_one_cpu_unless_told_not_to(start_server, pinned):
    env = {} if pinned else {"FLUX_EDGE_PIN_ISOLATE_HOSTS": "false"}
    server = start_server(extra_env=env)
    admin = server.client(ADMIN_TOKEN)
    code = "function handler(req) { return {status: 200, body: 'ok'} }"
    created = admin.post("/api/v1/functions", json={"name": "light", "code": code, "enabled": True})
    assert created.status_code == 201, created.text
    for _ in range(20):
        assert admin.post("/api/v1/functions/light/invoke").status_code == 200
    hosts = children(zygote_of(server.process.pid))
    busiest = max(hosts, key=cpu_ticks)  # the function's host; the others are spares
    cpus = {host: set(os.sched_getaffinity(host)) for host in hosts}
    if pinned and len(ALL_CPUS) > 1:
        assert len(cpus[busiest]) == 1, cpus
        assert cpus[busiest] <= ALL_CPUS
    else:
        assert cpus[busiest] == ALL_CPUS, cpus
    # Spares run anywhere until they are given a function.
    assert all(cpus[host] == ALL_CPUS for host in hosts if host != busiest), cpus


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
    assert cpus[0] != cpus[1], cpus
