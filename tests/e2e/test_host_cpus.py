"""A server started as the README says pins each isolate host to one CPU (docs/runtime.md, "CPU
placement"); FLUX_EDGE_PIN_ISOLATE_HOSTS=false leaves them free. Read from the real processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN

ALL_CPUS = set(os.sched_getaffinity(0))


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def host_cpus(server_pid: int) -> list[set[int]]:
    """The CPUs of each isolate host's event loop thread (hosts are the zygote's children)."""
    (zygote,) = [
        pid
        for pid in children(server_pid)
        if b"flux_edge.runtime.hosting" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return [set(os.sched_getaffinity(pid)) for pid in children(zygote)]


@pytest.mark.parametrize("pinned", [True, False])
def test_the_server_places_each_isolate_host_on_one_cpu_unless_told_not_to(start_server, pinned):
    env = {} if pinned else {"FLUX_EDGE_PIN_ISOLATE_HOSTS": "false"}
    server = start_server(extra_env=env)
    admin = server.client(ADMIN_TOKEN)
    code = "function handler(req) { return {status: 200, body: 'ok'} }"
    created = admin.post("/api/v1/functions", json={"name": "light", "code": code, "enabled": True})
    assert created.status_code == 201, created.text
    assert admin.post("/api/v1/functions/light/invoke").status_code == 200
    if pinned and len(ALL_CPUS) > 1:
        # A spare forked a moment ago pins itself once V8 is initialised: give it that moment.
        deadline = time.monotonic() + 5
        cpus = host_cpus(server.process.pid)
        while not all(len(c) == 1 for c in cpus):
            assert time.monotonic() < deadline, cpus
            time.sleep(0.05)
            cpus = host_cpus(server.process.pid)
        assert cpus  # the function's host, and the spares booted since
        assert all(c <= ALL_CPUS for c in cpus), cpus
    else:
        cpus = host_cpus(server.process.pid)
        assert cpus
        assert all(c == ALL_CPUS for c in cpus), cpus
