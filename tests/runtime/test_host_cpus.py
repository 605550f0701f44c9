"""CPU placement of isolate hosts (runtime/cpus.py): each host's event loop and isolates on one
CPU, hosts spread over the CPUs, an isolate running CPU-heavy JavaScript let go to every CPU.

Read from the real host processes' threads (/proc/PID/task and sched_getaffinity). On a machine
with one CPU nothing is pinned, and the tests check that instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flux_edge.runtime import PoolLimits, cpus
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


# ---- a serving worker's CPU (runtime/cpus.py `split_for_server`) -------------------------------
@pytest.mark.parametrize(
    ("usable", "workers", "rank", "split"),
    [
        ([0, 1], 1, 0, (0, [1])),  # this project's machine: the server on one, hosts on the other
        ([0, 1], 2, 1, None),  # as many workers as CPUs: nothing set aside
        ([0, 1, 2, 3], 2, 1, (1, [2, 3])),
        ([0, 1, 2, 3], 2, 2, (0, [2, 3])),  # a rank past the workers wraps round
        ([0, 1, 2, 3], 3, 0, None),  # more than half: the hosts would get one CPU for three
        ([0, 1, 2], 2, 0, None),
        ([0, 1, 2], 1, 0, (0, [1, 2])),
        ([4, 5, 7], 1, 0, (4, [5, 7])),  # a cpuset: its own CPUs, in order
        ([3], 1, 0, None),  # one CPU: nothing to split
        ([], 1, 0, None),  # not Linux
    ],
)
def test_a_serving_worker_takes_a_cpu_of_its_own_when_the_workers_are_at_most_half(
    monkeypatch, usable, workers, rank, split
):
    monkeypatch.setattr(cpus, "usable_cpus", lambda: usable)
    assert cpus.split_for_server(workers, rank) == split


def test_nothing_is_pinned_on_cpus_of_different_capacities(monkeypatch, tmp_path):
    # A big.LITTLE device (here: two little CPUs first, then two big ones) is left to the kernel.
    for cpu, capacity in enumerate((446, 446, 1024, 1024)):
        (tmp_path / f"cpu{cpu}").mkdir()
        (tmp_path / f"cpu{cpu}" / "cpu_capacity").write_text(f"{capacity}\n")
    monkeypatch.setattr(cpus, "_CPU_SYSFS", tmp_path)
    monkeypatch.setattr(cpus, "usable_cpus", lambda: [0, 1, 2, 3])
    assert cpus.split_for_server(1, 0) is None
    assert cpus.least_used([]) is None  # no host is placed either
    monkeypatch.setattr(cpus, "usable_cpus", lambda: [2, 3])  # the big ones alone are alike
    assert cpus.split_for_server(1, 0) == (2, [3])
    (tmp_path / "cpu3" / "cpu_capacity").unlink()  # one that does not say counts as alike
    assert cpus.split_for_server(1, 0) == (2, [3])


def test_hosts_are_placed_among_the_cpus_the_workers_leave(monkeypatch):
    monkeypatch.setattr(cpus, "usable_cpus", lambda: [0, 1, 2])
    assert cpus.least_used([1, 1, 2], among=[1, 2]) == 2
    assert cpus.least_used([], rank=1, among=[1, 2]) == 2  # ties from the rank on
    assert cpus.least_used([0, 0, 1, 2]) == 1  # without `among`, every CPU counts
    assert cpus.least_used([], among=[]) is None


PINNED_CHILD = """
import json, os, subprocess, sys
from flux_edge.runtime import cpus
before = cpus.usable_cpus()
assert cpus.pin_process(before[0])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
inherited = sorted(os.sched_getaffinity(child.pid))
cpus.release(child.pid)
print(json.dumps({
    "before": before,
    "after": cpus.usable_cpus(),
    "own": sorted(os.sched_getaffinity(0)),
    "child_inherited": inherited,
    "child": sorted(os.sched_getaffinity(child.pid)),
}))
child.kill()
"""


@pytest.mark.skipif(not MULTI_CPU, reason="pinning needs two CPUs")
def test_a_pinned_process_still_knows_every_cpu_and_lets_its_children_use_them():
    # In a process of its own: pinning this one would pin the rest of the test session.
    done = subprocess.run(
        [sys.executable, "-c", PINNED_CHILD], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    every, first = sorted(ALL_CPUS), [min(ALL_CPUS)]
    assert seen == {
        "before": every,
        "after": every,  # what hosts are placed among, and what a released thread gets
        "own": first,
        "child_inherited": first,
        "child": every,
    }
