"""Warm isolates per function version: routing, caps, a bounded wait queue and LRU eviction."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from flux_edge.runtime.answers import answer_later
from flux_edge.runtime.cpus import HEAVY_STEP_SECONDS
from flux_edge.runtime.isolate import Engine, HostBridge, Isolate, Unresponsive
from flux_edge.runtime.limits import PoolLimits
from flux_edge.runtime.types import (
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    OnComplete,
    RuntimeUnavailableError,
)

log = structlog.get_logger("flux_edge.runtime")

# A step running this long (wall time) is busy JavaScript or a loop: route new calls elsewhere.
STUCK_STEP_SECONDS = 0.1
REFILL_DELAY_SECONDS = 0.05


@dataclass
class _FunctionIsolates:
    spec: FunctionSpec  # the newest version seen; new isolates always load it
    isolates: list[Isolate] = field(default_factory=list)
    starting: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)


async def _booted_engine(*, spare: bool = False) -> Engine:
    engine = Engine()
    try:
        await engine.boot(compact=spare)
    except BaseException:  # cancelled or failed mid-boot: the isolate must not leak
        engine.close()
        raise
    return engine


def _survey(
    group: _FunctionIsolates, max_concurrency: int
) -> tuple[Isolate | None, Isolate | None, int, bool]:
    """One pass over a function's isolates: the least loaded idle one, the least loaded one with
    room for a call, how many are live (not retiring), and whether every one with room runs
    CPU-heavy JavaScript (False when none has room)."""
    idle: Isolate | None = None
    least: Isolate | None = None
    live = 0
    heavy = True
    for isolate in group.isolates:
        if isolate.retiring:
            continue
        live += 1
        load = isolate.load
        if load >= max_concurrency:
            continue
        if least is None or load < least.load:
            least = isolate
        if not isolate.busy and (idle is None or load < idle.load):
            idle = isolate
        heavy = heavy and _cpu_heavy(isolate)
    return idle, least, live, heavy and least is not None


def _cpu_heavy(isolate: Isolate) -> bool:
    """Its steps take long: JavaScript time smoothed over past steps, or the step running now
    (wall time, which includes the event loop's own latency, hence the larger bound)."""
    if isolate.step_seconds > HEAVY_STEP_SECONDS:
        return True
    started = isolate.step_started
    return started is not None and time.monotonic() - started > STUCK_STEP_SECONDS


class IsolatePool:
    """Routes calls to warm isolates of the right version, creating and evicting isolates as needed.

    Isolates are never shared between functions or versions. A call for a new version retires
    the old version's isolates: calls in flight finish on the old code, new calls get the new.
    """

    def __init__(
        self,
        limits: PoolLimits,
        host: HostBridge | None = None,
        on_unresponsive: Unresponsive | None = None,
    ) -> None:
        self.limits = limits
        self._host = host
        self._on_unresponsive = on_unresponsive
        self._functions: dict[str, _FunctionIsolates] = {}
        self._live: set[Isolate] = set()
        self._closing = False
        self._reaper: asyncio.Task[None] | None = None
        self._spares: list[Engine] = []
        self._reruns: set[asyncio.Task[None]] = set()
        self._filling: asyncio.Task[None] | None = None
        self.on_isolate_count: Callable[[int], None] | None = None

    # ---- public ----------------------------------------------------------------------------------
    async def invoke(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None = None
    ) -> InvokeResult:
        """Run one call on a warm isolate of `spec`'s version (see Isolate.submit)."""
        isolate = await self._acquire(spec)
        return await isolate.submit(request, on_complete=on_complete)

    def submit_now(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None = None
    ) -> asyncio.Future[InvokeResult] | None:
        """`invoke` without a task, when a warm isolate can take the call with nothing to start
        or wait for (the usual case under load): the call's future, else None and the caller
        goes through `invoke`, which picks the same isolate when it can."""
        group = self._functions.get(spec.function_id)
        if self._closing or self._reaper is None or group is None:
            return None
        if group.spec.version < spec.version:  # `_group` retires the old version first
            return None
        limits = self.limits
        idle, least, live, heavy = _survey(group, limits.max_concurrency_per_isolate)
        if idle is None and heavy and live + group.starting < limits.max_isolates_per_function:
            return None  # `_acquire` may start another isolate for CPU-bound calls
        isolate = idle or least
        return None if isolate is None else isolate.submit(request, on_complete=on_complete)

    async def prewarm(self, spec: FunctionSpec, isolate: Isolate | None = None) -> None:
        """Make sure `spec`'s version has a warm isolate (adopting `isolate` if already loaded)."""
        group = self._group(spec)
        if isolate is not None and not isolate.closed:
            self._adopt(group, isolate)
            return
        if not group.isolates and not group.starting:
            await self._start_isolate(spec, group)

    def runs(self, function_id: str) -> bool:
        """Whether the pool keeps isolates (or starts one) for the function."""
        return function_id in self._functions

    def retire(self, function_id: str) -> None:
        """Retire every isolate of a function (deleted or disabled)."""
        group = self._functions.pop(function_id, None)
        if group is None:
            return
        for isolate in list(group.isolates):
            isolate.retire()
        for waiter in group.waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeUnavailableError("the function was changed; retry"))

    async def close(self, grace: float = 5.0) -> None:
        """Stop taking calls, let calls in flight finish for up to `grace` seconds, close all."""
        self._closing = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self._filling is not None:
            self._filling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filling
        for engine in self._spares:
            engine.close(idle=True)
        self._spares.clear()
        for function_id in list(self._functions):
            self.retire(function_id)
        in_flight = [future for i in self._live for future in i.futures()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=grace)
        for isolate in list(self._live):
            isolate.close()

    async def _reap(self) -> None:
        """Probe isolates used since the last look, compact idle ones, close long-idle ones."""
        while True:
            await asyncio.sleep(self.limits.probe_interval)
            now = time.monotonic()
            for isolate in list(self._live):
                if isolate.closed or isolate.load:
                    continue
                try:
                    if now - isolate.last_used > self.limits.idle_seconds:
                        isolate.close()
                    elif isolate.last_used >= isolate.probed:
                        await isolate.probe()
                    elif not isolate.compacted and now - isolate.last_used > (
                        # A new isolate's start leaves garbage behind (booting, loading its
                        # code, compiling for its first calls): given back when first idle.
                        self.limits.compact_after_seconds
                        if isolate.ever_compacted
                        else self.limits.probe_interval
                    ):
                        await isolate.compact()
                except Exception:  # one bad isolate must not end the reaper for all the others
                    log.exception("reaping an isolate failed", function=isolate.spec.name)
                    isolate.close()

    def release_busy_cpus(self) -> None:
        """Let the isolates running CPU-heavy JavaScript, or a step that runs long now, use every
        CPU (runtime/cpus.py): a runaway step must not hold its host's CPU until its deadline."""
        for isolate in self._live:
            if _cpu_heavy(isolate):
                isolate.release_cpu()

    @property
    def isolate_count(self) -> int:
        """Live isolates (warm, busy or retiring)."""
        return len(self._live)

    @property
    def queue_depth(self) -> int:
        """Calls waiting for an isolate slot."""
        return sum(len(g.waiters) for g in self._functions.values())

    @property
    def memory_reserved_mb(self) -> int:
        """Sum of the memory limits of live isolates."""
        return sum(i.spec.memory_limit_mb for i in self._live)

    # ---- routing ---------------------------------------------------------------------------------
    def _group(self, spec: FunctionSpec) -> _FunctionIsolates:
        group = self._functions.get(spec.function_id)
        if group is None or group.spec.version < spec.version:
            if group is not None:
                for isolate in group.isolates:
                    isolate.retire()
                for waiter in group.waiters:
                    if not waiter.done():
                        waiter.set_result(None)  # re-route to the new version
            group = _FunctionIsolates(spec=spec)
            self._functions[spec.function_id] = group
        return group

    async def _acquire(self, spec: FunctionSpec) -> Isolate:
        limits = self.limits
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        while True:
            if self._closing:
                raise RuntimeUnavailableError("the server is shutting down", retry_after=5)
            group = self._group(spec)
            spec = group.spec  # a caller holding an older version still gets the newest code
            idle, least, live, heavy = _survey(group, limits.max_concurrency_per_isolate)
            if idle is not None:
                return idle
            if live + group.starting < limits.max_isolates_per_function:
                first = not live and not group.starting
                cpu_bound = least is not None and heavy
                full = least is None and not group.starting
                if (first or cpu_bound or full) and (
                    self._room_for(spec) or self._evict_one(spec.memory_limit_mb)
                ):
                    isolate = await self._start_isolate(spec, group)
                    if isolate is not None:
                        return isolate
                    continue
            if least is not None:
                return least
            await self._wait_for_slot(group)

    def _room_for(self, spec: FunctionSpec) -> bool:
        limits = self.limits
        return (
            len(self._live) < limits.max_isolates
            and self.memory_reserved_mb + spec.memory_limit_mb <= limits.max_memory_mb
        )

    def _evict_one(self, needed_mb: int) -> bool:
        """Close the least recently used idle isolate (of any function) to make room."""
        idle = [i for i in self._live if i.load == 0 and not i.busy]
        if not idle:
            return False
        victim = min(idle, key=lambda i: i.last_used)
        log.debug("evicting idle isolate", function=victim.spec.name, version=victim.spec.version)
        victim.close()
        return self._room_for_mb(needed_mb)

    def _room_for_mb(self, needed_mb: int) -> bool:
        return (
            len(self._live) < self.limits.max_isolates
            and self.memory_reserved_mb + needed_mb <= self.limits.max_memory_mb
        )

    async def _wait_for_slot(self, group: _FunctionIsolates) -> None:
        if len(group.waiters) >= self.limits.max_queue_per_function:
            raise RuntimeUnavailableError(
                "too many calls of this function are waiting; retry shortly", retry_after=1
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        group.waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in group.waiters:
                group.waiters.remove(waiter)

    async def take_engine(self) -> Engine:
        """A booted engine: a spare if one is ready (refilled in the background), else a new one."""
        engine = self._spares.pop() if self._spares else await _booted_engine()
        if self._filling is None and not self._closing:
            self._filling = asyncio.get_running_loop().create_task(self._refill_soon())
        return engine

    async def _refill_soon(self) -> None:
        # Creating an isolate blocks the loop for a few ms; let the deploy that took the spare
        # answer first.
        await asyncio.sleep(REFILL_DELAY_SECONDS)
        await self.fill_spares()

    async def fill_spares(self) -> None:
        """Boot engines until `spare_engines` are ready."""
        try:
            while len(self._spares) < self.limits.spare_engines and not self._closing:
                engine = await _booted_engine(spare=True)
                if self._closing:
                    engine.close(idle=True)
                else:
                    self._spares.append(engine)
        finally:
            self._filling = None

    async def _start_isolate(self, spec: FunctionSpec, group: _FunctionIsolates) -> Isolate | None:
        group.starting += 1
        isolate = self._new_isolate(spec)
        try:
            await isolate.start(await self.take_engine())
        except Exception:
            self._live.discard(isolate)
            raise
        finally:
            group.starting -= 1
        if self._functions.get(spec.function_id) is not group:
            isolate.retire()  # a newer version arrived while this one was loading
            return None
        self._adopt(group, isolate)
        return isolate

    def _new_isolate(self, spec: FunctionSpec) -> Isolate:
        isolate = Isolate(
            spec,
            host=self._host,
            max_log_bytes=self.limits.max_log_bytes,
            max_response_bytes=self.limits.max_response_bytes,
            on_call_done=self._on_call_done,
            on_closed=self._on_closed,
            on_orphaned=lambda request, deadline, future, on_complete: self._rerun(
                spec, request, deadline, future, on_complete
            ),
            on_unresponsive=self._on_unresponsive,
        )
        self._live.add(isolate)
        self._count_changed()
        return isolate

    def _rerun(
        self,
        spec: FunctionSpec,
        request: InvokeRequest,
        deadline: float,
        future: asyncio.Future[InvokeResult],
        on_complete: OnComplete | None,
    ) -> None:
        """Run a call that never started on an isolate that was stopped, within its deadline."""

        async def rerun() -> InvokeResult:
            isolate = await self._acquire(spec)
            return await isolate.submit(request, deadline=deadline, on_complete=on_complete)

        answer_later(future, rerun(), self._reruns)

    def new_isolate(self, spec: FunctionSpec) -> Isolate:
        """An isolate counted by this pool but not yet routed to (for deploy-time checks)."""
        return self._new_isolate(spec)

    def _adopt(self, group: _FunctionIsolates, isolate: Isolate) -> None:
        self._live.add(isolate)
        group.isolates.append(isolate)
        self._count_changed()
        # Calls that queued while it was loading can all try it now.
        while group.waiters:
            waiter = group.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _on_call_done(self, isolate: Isolate) -> None:
        if isolate.calls_started >= self.limits.isolate_max_calls and not isolate.retiring:
            isolate.retire()
        group = self._functions.get(isolate.spec.function_id)
        if group is not None:
            while group.waiters:
                waiter = group.waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def _on_closed(self, isolate: Isolate) -> None:
        self._live.discard(isolate)
        group = self._functions.get(isolate.spec.function_id)
        if group is not None and isolate in group.isolates:
            group.isolates.remove(isolate)
            if group.waiters:
                waiter = group.waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
        self._count_changed()

    def _count_changed(self) -> None:
        if self.on_isolate_count is not None:
            self.on_isolate_count(len(self._live))
