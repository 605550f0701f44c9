"""Workers of one server tell each other of saved and deleted functions
(flux_edge/service/sibling_notices.py): two "workers" in this process, each with its own runtime
and services over one database, as `flux-edge serve --workers 2` runs them, their notices
crossing real Unix sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flux_edge.runtime import InvokeRequest, PoolLimits, Runtime
from flux_edge.service.functions import FunctionChanges, FunctionService
from flux_edge.service.invocations import CallInput, InvocationService
from flux_edge.service.metrics import InvocationMetrics
from flux_edge.service.sibling_notices import FunctionNotice, SiblingNotices
from flux_edge.store.sqlite import SQLiteStore
from tests.services import open_services

V1 = "function handler() { return 'one'; }"
V2 = "function handler() { return 'two'; }"


def sockets(directory: Path) -> list[Path]:
    return sorted(directory.glob("notices-*.sock"))


def leave_a_stale_socket(path: Path) -> None:
    """What a worker that was killed leaves: the file of a socket nobody reads."""
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(path))
    stale.close()


async def test_a_notice_reaches_every_sibling_and_not_its_sender(tmp_path: Path) -> None:
    received: dict[str, asyncio.Queue[FunctionNotice]] = {n: asyncio.Queue() for n in "abc"}
    workers = {name: SiblingNotices(tmp_path) for name in received}
    for name, notices in workers.items():
        notices.listen(lambda notice, into=received[name]: into.put(notice))
    # A worker that ended without removing its socket file, and a datagram that is no notice:
    # neither stops the notices that follow.
    leave_a_stale_socket(tmp_path / "notices-ended.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as stray:
        for path in sockets(tmp_path):
            if path.name != "notices-ended.sock":
                stray.sendto(b"\xffnot json", str(path))
    notice = FunctionNotice("id-1", "greet", deleted=True)
    workers["a"].announce(notice)
    assert await asyncio.wait_for(received["b"].get(), 10) == notice
    assert await asyncio.wait_for(received["c"].get(), 10) == notice
    for notices in workers.values():
        notices.close()
    assert received["a"].empty()
    assert received["b"].empty()
    assert [path.name for path in sockets(tmp_path)] == ["notices-ended.sock"]


@dataclass
class Worker:
    runtime: Runtime
    store: SQLiteStore
    functions: FunctionService
    invocations: InvocationService
    notices: SiblingNotices
    metrics: InvocationMetrics
    followed: asyncio.Queue[FunctionNotice]  # the siblings' notices, once acted on


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[tuple[Worker, Worker]]:
    made = []
    for n in range(2):
        runtime = Runtime(PoolLimits(max_isolates=4))
        await runtime.start()
        notices = SiblingNotices(tmp_path)
        metrics = InvocationMetrics(tmp_path / f"metrics-{n}")
        store, functions, invocations = await open_services(
            tmp_path / "flux-edge.db", runtime, metrics, notices
        )
        followed: asyncio.Queue[FunctionNotice] = asyncio.Queue()

        async def follow(
            notice: FunctionNotice,
            invocations: InvocationService = invocations,
            followed: asyncio.Queue[FunctionNotice] = followed,
        ) -> None:
            await invocations.follow(notice)
            followed.put_nowait(notice)

        notices.listen(follow)
        made.append(Worker(runtime, store, functions, invocations, notices, metrics, followed))
    yield made[0], made[1]
    for worker in made:
        worker.notices.close()
        await worker.runtime.close(grace=0.5)
        await worker.store.close()
        worker.metrics.close()


def call() -> CallInput:
    return CallInput(method="POST", url="http://localhost/greet", headers=[], body=b"")


async def test_the_other_worker_warms_a_saved_version_and_lets_go_of_a_disabled_or_deleted_one(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    created = await a.functions.create("greet", FunctionChanges(code=V1, enabled=True), None)
    await asyncio.wait_for(b.followed.get(), 10)  # the create's notice: nothing to do in b yet
    assert not b.runtime.runs(created.id)
    result, _ = await b.invocations.invoke("greet", call(), None)  # b runs version 1
    assert result.body == b"one"
    await a.functions.update("greet", FunctionChanges(code=V2))
    await asyncio.wait_for(b.followed.get(), 10)
    cached = await b.invocations.find("greet")
    assert cached is not None
    assert cached.spec.version == 2
    # `submit_now` runs a call only when a warm isolate of its version takes it at once.
    request = InvokeRequest(
        method="GET", url="http://localhost/", headers=[], body=b"", execution_id="e1"
    )
    future = b.runtime.pool.submit_now(cached.spec, request)
    assert future is not None, "version 2 was not warmed in the other worker before its call"
    assert (await future).body == b"two"
    # Disabled through a: b lets go of it at once; enabled again, it starts at b's next call.
    await a.functions.update("greet", FunctionChanges(enabled=False))
    await asyncio.wait_for(b.followed.get(), 10)
    assert not b.runtime.runs(created.id)
    await a.functions.update("greet", FunctionChanges(enabled=True))
    await asyncio.wait_for(b.followed.get(), 10)
    assert not b.runtime.runs(created.id)
    result, _ = await b.invocations.invoke("greet", call(), None)
    assert result.body == b"two"
    # Deleted through a: b lets go of it at once.
    await a.functions.delete("greet")
    assert await asyncio.wait_for(b.followed.get(), 10) == FunctionNotice(
        created.id, "greet", deleted=True
    )
    assert not b.runtime.runs(created.id)


async def test_a_function_new_to_a_worker_is_left_to_its_first_call_there(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    created = await a.functions.create("fresh", FunctionChanges(code=V1, enabled=True), None)
    assert a.runtime.runs(created.id)  # the isolate that checked the code stays warm
    assert await asyncio.wait_for(b.followed.get(), 10) == FunctionNotice(created.id, "fresh")
    assert not b.runtime.runs(created.id)
    # Only what costs no isolate is done ahead: its metric keys (~0.3 ms of a first call).
    assert "fresh" in b.metrics._series
