"""An isolate's thread keeps one Python thread state across its callbacks, and gives it back when
the engine closes (flux_edge/runtime/thread_state.py)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes

from flux_edge.runtime import FunctionSpec, InvokeRequest, PoolLimits, Runtime
from flux_edge.runtime.isolate import Engine
from flux_edge.runtime.usage import ThreadClock

_api = ctypes.pythonapi
_api.PyInterpreterState_Get.restype = ctypes.c_void_p
_api.PyInterpreterState_ThreadHead.argtypes = (ctypes.c_void_p,)
_api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
_api.PyThreadState_Next.argtypes = (ctypes.c_void_p,)
_api.PyThreadState_Next.restype = ctypes.c_void_p


def thread_states() -> int:
    """How many thread states the interpreter holds (live threads plus any left behind)."""
    count = 0
    state = _api.PyInterpreterState_ThreadHead(_api.PyInterpreterState_Get())
    while state:
        count += 1
        state = _api.PyThreadState_Next(state)
    return count


async def _settled(expected: int) -> int:
    """The count once it is `expected`, or after two seconds."""
    for _ in range(200):
        if thread_states() == expected:
            break
        await asyncio.sleep(0.01)
    return thread_states()


async def _round_trips(engine: Engine, count: int) -> None:
    for n in range(count):
        assert await engine.mr.eval_cancelable(str(n)) == n


def test_the_isolate_thread_keeps_one_state_and_gives_it_back_on_close():
    async def scenario() -> tuple[int, int, int, int]:
        before = thread_states()
        engine = Engine()
        await _round_trips(engine, 3)
        kept = thread_states()
        await _round_trips(engine, 50)
        still = thread_states()
        engine.close(idle=True)
        return before, kept, still, await _settled(before)

    before, kept, still, after = asyncio.run(scenario())
    assert kept == before + 1  # the isolate's thread holds one, between callbacks too
    assert still == kept  # the same one: callbacks do not make more
    assert after == before  # given back in the last round trip


def test_a_kept_state_saves_the_isolate_thread_cpu():
    # Without it, ctypes makes and deletes a state per callback (an mmap and munmap each).
    async def cpu_per_trip(keep: bool) -> float:
        engine = Engine()
        if not keep:
            engine._thread_state.give_back()  # from the first callback on: never kept
        assert engine.clock is not None
        await _round_trips(engine, 20)
        clock: ThreadClock = engine.clock
        start = clock.read_ns()
        await _round_trips(engine, 400)
        spent = clock.read_ns() - start  # type: ignore[operator]
        engine.close()
        return spent / 400

    async def both() -> tuple[float, float]:
        kept, fresh = [], []
        for _ in range(3):
            kept.append(await cpu_per_trip(True))
            fresh.append(await cpu_per_trip(False))
        return min(kept), min(fresh)

    kept, fresh = asyncio.run(both())
    assert kept < fresh, (kept, fresh)


def test_an_engine_closed_when_not_idle_is_freed_at_once():
    # JavaScript may still run (a runaway that was cancelled, say): no last round trip to wait
    # for, the isolate is freed now and its thread state stays behind.
    async def scenario() -> tuple[bool, bool]:
        engine = Engine()
        await _round_trips(engine, 2)
        runaway = asyncio.ensure_future(engine.mr.eval_cancelable("while (true) {}"))
        await asyncio.sleep(0.05)
        runaway.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runaway
        engine.close()
        return engine._freeing is None, engine.mr._ctx is None

    assert asyncio.run(scenario()) == (True, True)


def test_isolates_that_come_and_go_leave_no_thread_states_behind():
    spec_code = "async function handler(req) { return { status: 200, body: req.body }; }"

    async def scenario() -> tuple[int, int]:
        runtime = Runtime(PoolLimits(spare_engines=0))
        await runtime.start()
        before = thread_states()
        for version in range(1, 13):  # each new version retires the last one's isolate
            spec = FunctionSpec(function_id="f", name="f", version=version, compiled=spec_code)
            request = InvokeRequest(
                method="POST", url="http://x/", headers=[], body=b"hi", execution_id=str(version)
            )
            result = await runtime.invoke(spec, request)
            assert result.body == b"hi"
        runtime.retire("f")
        after = await _settled(before)
        await runtime.close()
        return before, after

    before, after = asyncio.run(scenario())
    assert after == before
