"""The workers of one server share each function's isolate host (zygote.py, fork_server.py).

Two HostedRuntimes in this process stand for two workers: each registers with one real shared
zygote, as forked workers do, and runs real hosts through it. The first to need a function's
host binds one of its own; the other joins it. A worker done with the host leaves it to the
other; the host ends when the last has left, and one that crashes is replaced once for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flux_edge.runtime import PoolLimits
from flux_edge.runtime.hosting import HostedRuntime, zygote
from flux_edge.runtime.hosting.supervisor import IsolateHost

from .conftest import make_request

ECHO = "function handler(req) { return 'got ' + req.body }"
SLOW = (
    "async function handler(req) {\n"
    "  if (req.body === 'wait') await new Promise(r => setTimeout(r, 1500));\n"
    "  return req.body;\n"
    "}"
)


@pytest.fixture
async def workers() -> AsyncIterator[tuple[HostedRuntime, HostedRuntime]]:
    zygote.start_shared()
    assert zygote._shared is not None
    registrar, pid = zygote._shared
    first = HostedRuntime(PoolLimits(max_queue_per_function=64))
    second = HostedRuntime(PoolLimits(max_queue_per_function=64))
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.close(grace=0.5)
        await second.close(grace=0.5)
        zygote._shared = None
        registrar.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            await asyncio.to_thread(os.waitpid, pid, 0)


def host_of(worker: HostedRuntime, function_id: str) -> IsolateHost:
    """The host `worker` runs the function in."""
    return worker._by_function[function_id]


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for the zygote to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def until(check) -> None:
    """Wait until `check()` holds (up to 30 s)."""
    async with asyncio.timeout(30):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


async def test_both_workers_run_a_function_in_one_host(workers, make_spec):
    first, second = workers
    spec = make_spec(ECHO)
    await first.check(spec.compiled, spec)  # deployed through the first worker
    answers = await asyncio.gather(
        *(w.invoke(spec, make_request(str(i))) for i in range(20) for w in workers)
    )
    assert [a.body for a in answers] == [f"got {i}".encode() for i in range(20) for _ in workers]
    assert host_of(first, spec.function_id).pid == host_of(second, spec.function_id).pid
    assert host_of(second, spec.function_id).pid not in [h.pid for h in first._spares]
    # The metrics add the workers' counts up: the host's isolates count once, where it was bound.
    assert first.pool.isolate_count >= 1
    assert second.pool.isolate_count == 0


async def test_workers_that_ask_at_once_still_share_one_host(workers, make_spec):
    spec = make_spec(ECHO)
    answers = await asyncio.gather(*(w.invoke(spec, make_request("x")) for w in workers))
    assert [a.body for a in answers] == [b"got x", b"got x"]
    first, second = workers
    assert host_of(first, spec.function_id).pid == host_of(second, spec.function_id).pid


async def test_a_worker_done_with_the_host_leaves_it_to_the_other(workers, make_spec):
    first, second = workers
    spec = make_spec(ECHO)
    for worker in workers:
        assert (await worker.invoke(spec, make_request("a"))).body == b"got a"
    pid = host_of(first, spec.function_id).pid
    first.retire(spec.function_id)  # e.g. deleted: each worker lets go of its host
    assert not first.runs(spec.function_id)
    for _ in range(5):
        assert (await second.invoke(spec, make_request("b"))).body == b"got b"
    assert host_of(second, spec.function_id).pid == pid
    assert alive(pid)
    second.retire(spec.function_id)  # the last one: the host ends
    await until(lambda: not alive(pid))


async def test_a_worker_that_stops_leaves_the_host_to_the_other(workers, make_spec):
    first, second = workers
    spec = make_spec(ECHO)
    for worker in workers:
        await worker.invoke(spec, make_request())
    pid = host_of(second, spec.function_id).pid
    await first.close(grace=0.5)
    assert (await second.invoke(spec, make_request("still"))).body == b"got still"
    assert host_of(second, spec.function_id).pid == pid


async def test_a_shared_host_that_crashes_answers_both_workers_and_is_replaced_once(
    workers, make_spec
):
    first, second = workers
    spec = make_spec(SLOW)
    await first.check(spec.compiled, spec)
    running = [asyncio.ensure_future(w.invoke(spec, make_request("wait"))) for w in workers]

    await until(
        lambda: all(
            w.runs(spec.function_id) and host_of(w, spec.function_id).taken == 1 for w in workers
        )
    )
    pid = host_of(first, spec.function_id).pid
    os.kill(pid, signal.SIGKILL)
    for result in await asyncio.wait_for(asyncio.gather(*running), 5):
        assert (result.outcome, result.status_code) == ("error", 500)
        assert "isolate host stopped unexpectedly" in (result.error_message or "")
    again = await asyncio.gather(*(w.invoke(spec, make_request("b")) for w in workers))
    assert [a.body for a in again] == [b"b", b"b"]
    fresh = host_of(first, spec.function_id).pid
    assert fresh != pid
    assert host_of(second, spec.function_id).pid == fresh


async def test_a_recycled_host_is_not_joined_again(workers, make_spec):
    # An isolate stuck in a builtin makes its host ask to be recycled: both workers leave it once
    # their calls are answered, and the function's next calls share a fresh host.
    code = (
        "function handler(req) { if (req.body !== 'attack') return 'fine';"
        " let s = 'ab'; for (let i = 0; i < 24; i++) s += s; for (;;) s.toUpperCase(); }"
    )
    first, second = workers
    spec = make_spec(code, timeout_seconds=1.0)
    for worker in workers:
        assert (await worker.invoke(spec, make_request())).body == b"fine"
    old = host_of(first, spec.function_id)
    also_old = host_of(second, spec.function_id)
    assert also_old.pid == old.pid
    result = await first.invoke(spec, make_request("attack"))
    assert (result.outcome, result.status_code) == ("timeout", 408)
    await until(lambda: old.gone and also_old.gone)  # both left it (told by the host)
    for worker in reversed(workers):
        assert (await worker.invoke(spec, make_request())).body == b"fine"
    fresh = host_of(second, spec.function_id).pid
    assert fresh != old.pid
    assert host_of(first, spec.function_id).pid == fresh
    await until(lambda: not alive(old.pid))


async def test_a_call_cancelled_while_its_worker_asks_the_zygote_leaves_the_zygote_usable(
    workers, make_spec
):
    first, _ = workers
    spec = make_spec(ECHO)
    zygote_handle = first._zygote
    call = asyncio.ensure_future(first.invoke(spec, make_request("x")))
    await asyncio.sleep(0)  # its worker has asked the zygote for the function's host
    call.cancel()  # e.g. its client went away
    with contextlib.suppress(asyncio.CancelledError):
        await call
    await asyncio.sleep(0.2)  # the zygote's reply arrives for nobody
    assert zygote_handle.alive
    assert (await first.invoke(spec, make_request("y"))).body == b"got y"
    assert first._zygote is zygote_handle  # not replaced by one of the worker's own
