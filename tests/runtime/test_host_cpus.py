"""CPU placement of isolate hosts (runtime/cpus.py): each host's event loop and isolates on one
CPU, hosts spread over the CPUs, an isolate running CPU-heavy JavaScript let go to every CPU.

Read from the real host processes' threads (/proc/PID/task and sched_getaffinity). On a machine
with one CPU nothing is pinned, and the tests check that instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flux_edge.runtime import PoolLimits
from flux_edge.runtime.hosting import HostedRuntime
from flux_edge.runtime.hosting.runtime import HostLimits
from flux_edge.runtime.hosting.supervisor import IsolateHost

from .conftest import make_request

ALL_CPUS = set(os.sched_getaffinity(0))
MULTI_CPU = len(ALL_CPUS) > 1

LIGHT = "function handler(req) { return {status: 200, body: 'ok'} }"
# About 20 ms of JavaScript a call: its isolate's smoothed step time passes 4 ms by the third.
HEAVY = (
    "function handler(req) { const end = Date.now() + 20; let n = 0;"
    " while (Date.now() < end) n++; return {status: 200, body: String(n > 0)} }"
)


@pytest.fixture
async def hosted() -> AsyncIterator[HostedRuntime]:
    rt = HostedRuntime(PoolLimits(max_queue_per_function=64), HostLimits(spare_hosts=2))
    await rt.start()
    yield rt
    await rt.close(grace=0.5)


def threads_of(pid: int) -> dict[int, tuple[set[int], int]]:
    """Each thread of `pid`: its CPUs and its CPU time so far (clock ticks)."""
    threads = {}
    for entry in Path(f"/proc/{pid}/task").iterdir():
        tid = int(entry.name)
        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        threads[tid] = (set(os.sched_getaffinity(tid)), int(fields[11]) + int(fields[12]))
    return threads


async def served_host(hosted: HostedRuntime, spec_code: str, make_spec, calls: int) -> IsolateHost:
    """The host of a new function, after `calls` calls of it."""
    before = {h for h in hosted.hosts() if h.served}
    spec = make_spec(spec_code)
    for _ in range(calls):
        result = await hosted.invoke(spec, make_request())
        assert result.status_code == 200, result
    (host,) = [h for h in hosted.hosts() if h.served and h not in before]
    return host


async def test_a_hosts_event_loop_and_isolates_share_one_cpu(hosted, make_spec):
    host = await served_host(hosted, LIGHT, make_spec, calls=20)
    threads = threads_of(host.pid)
    main_cpus, _ = threads[host.pid]
    if not MULTI_CPU:
        assert host.cpu is None
        assert main_cpus == ALL_CPUS
        return
    assert host.cpu in ALL_CPUS
    assert main_cpus == {host.cpu}
    # Every thread was started by the pinned event loop thread: the isolates' V8 threads (the
    # one that ran the calls, and the spare's) and V8's worker threads, which the first isolate
    # starts.
    assert len(threads) >= 3
    assert all(cpus == {host.cpu} for cpus, _ in threads.values())


async def test_hosts_given_functions_go_to_the_cpus_with_the_fewest_of_them(hosted, make_spec):
    hosts = [await served_host(hosted, LIGHT, make_spec, calls=3) for _ in range(2 * len(ALL_CPUS))]
    cpus = [h.cpu for h in hosts]
    if not MULTI_CPU:
        assert cpus == [None] * len(hosts)
        return
    assert sorted(cpus) == sorted(list(ALL_CPUS) * 2)  # spread evenly
    for host in hosts:
        assert threads_of(host.pid)[host.pid][0] == {host.cpu}
    # Spares run anywhere until they are given a function.
    for spare in [h for h in hosted.hosts() if h not in hosts]:
        assert spare.cpu is None
        with contextlib.suppress(AssertionError):  # still forking: no pid yet
            assert threads_of(spare.pid)[spare.pid][0] == ALL_CPUS


async def test_an_isolate_running_cpu_heavy_javascript_may_use_every_cpu(hosted, make_spec):
    host = await served_host(hosted, HEAVY, make_spec, calls=4)
    threads = threads_of(host.pid)
    busiest = max((t for t in threads if t != host.pid), key=lambda t: threads[t][1])
    assert threads[busiest][0] == ALL_CPUS  # its V8 thread, let go
    if MULTI_CPU:
        assert threads[host.pid][0] == {host.cpu}  # the event loop stays


async def test_a_step_that_runs_long_gives_up_the_hosts_cpu_before_its_deadline(hosted, make_spec):
    spec = make_spec(
        "function handler(req) { const end = Date.now() + 1500;"
        " while (Date.now() < end); return {status: 200, body: 'done'} }",
        timeout_seconds=5.0,
    )
    await hosted.check(spec.compiled, spec)
    call = asyncio.ensure_future(hosted.invoke(spec, make_request()))
    await asyncio.sleep(0.7)  # the host checks at each of the server's pings (100 ms)
    (host,) = [h for h in hosted.hosts() if h.served]
    threads = threads_of(host.pid)
    busiest = max((t for t in threads if t != host.pid), key=lambda t: threads[t][1])
    assert threads[busiest][0] == ALL_CPUS  # the looping isolate's V8 thread, let go
    assert not call.done()
    assert (await call).body == b"done"


async def test_pinning_can_be_turned_off(make_spec):
    rt = HostedRuntime(PoolLimits(), HostLimits(spare_hosts=0, pin_cpus=False))
    await rt.start()
    try:
        host = await served_host(rt, LIGHT, make_spec, calls=3)
        assert host.cpu is None
        assert all(cpus == ALL_CPUS for cpus, _ in threads_of(host.pid).values())
    finally:
        await rt.close(grace=0.5)
