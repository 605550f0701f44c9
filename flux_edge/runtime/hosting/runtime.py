"""`HostedRuntime`: the Runtime seam, with each function's isolates in a supervised process.

In-process V8 cannot contain everything a function can do: one allocation past V8's heap limit
aborts the process that holds the isolate, and a thread inside one long builtin cannot be
stopped (closing its isolate blocks until the builtin ends). So each function gets its own isolate
host process; a host that crashes, stops answering or holds more memory than its function's
limits allow is killed and replaced, and only that function's calls in flight see it. Spare hosts
are booted ahead, so a new function starts without waiting for a process. The workers of one
server share each function's host (`_shared_host`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from flux_edge.runtime.answers import answer_later
from flux_edge.runtime.cpus import least_used, pin_process, split_for_server, worker_rank
from flux_edge.runtime.hosting.supervisor import IsolateHost
from flux_edge.runtime.hosting.wire import HostConfig
from flux_edge.runtime.hosting.zygote import Zygote, shared_zygote_pid
from flux_edge.runtime.limits import PoolLimits
from flux_edge.runtime.types import (
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    OnComplete,
    RuntimeUnavailableError,
)

log = structlog.get_logger("flux_edge.runtime.hosts")

WATCH_SECONDS = 0.1  # how often hosts are pinged and their memory read
REFILL_DELAY_SECONDS = 0.05
# Tries to find or bind a function's shared host before running one of this worker's own: a try
# fails only when another worker binds a host between this one's join and bind.
SHARE_ATTEMPTS = 3


@dataclass(frozen=True, kw_only=True)
class HostLimits:
    """How many host processes run and how they are set up."""

    max_hosts: int = 64
    spare_hosts: int = 2
    idle_seconds: float = 600.0
    heap_cap_mb: int = 2048  # V8's --max-old-space-size in each host
    slack_mb: int = 48  # per isolate, on top of 2 x memory_limit_mb
    net_allow: str = ""
    max_subrequests: int = 50
    max_fetch_response_bytes: int = 10 * 1024 * 1024
    file_quota_bytes: int = 64 * 1024 * 1024
    pin_cpus: bool = True  # each host's threads on one CPU, the least used (runtime/cpus.py)
    # This process is a `flux-edge serve` worker, one of `workers`: with `pin_cpus` it takes a CPU
    # of its own when they are at most half the CPUs (runtime/cpus.py); an app embedded in another
    # program, or a test's, never pins the process it runs in.
    serving_worker: bool = False
    workers: int = 1


class _Counts:
    """What the metrics read (the in-process Runtime's `pool` has the same two properties)."""

    def __init__(self, runtime: HostedRuntime) -> None:
        self._runtime = runtime

    @property
    def isolate_count(self) -> int:
        """Isolates running in all hosts (a shared host's counted by the worker that bound it:
        the metrics add the workers' counts up)."""
        return sum(h.isolates for h in self._runtime.hosts() if not h.joined)

    @property
    def queue_depth(self) -> int:
        """Calls sent to hosts and not answered yet."""
        return sum(h.load for h in self._runtime.hosts())


class HostedRuntime:
    """Runs each function's calls in its own supervised isolate host process."""

    def __init__(self, limits: PoolLimits | None = None, hosts: HostLimits | None = None) -> None:
        pool = limits or PoolLimits()
        self.host_limits = hosts or HostLimits()
        self._config = HostConfig(
            max_isolates_per_function=pool.max_isolates_per_function,
            max_concurrency_per_isolate=pool.max_concurrency_per_isolate,
            max_queue_per_function=pool.max_queue_per_function,
            isolate_max_calls=pool.isolate_max_calls,
            max_log_bytes=pool.max_log_bytes,
            max_response_bytes=pool.max_response_bytes,
            spare_engines=1,
            net_allow=self.host_limits.net_allow,
            max_subrequests=self.host_limits.max_subrequests,
            max_fetch_response_bytes=self.host_limits.max_fetch_response_bytes,
            file_quota_bytes=self.host_limits.file_quota_bytes,
            slack_mb=self.host_limits.slack_mb,
        )
        self.pool = _Counts(self)
        self._zygote = Zygote()
        self._by_function: dict[str, IsolateHost] = {}
        self._starting: dict[str, asyncio.Future[IsolateHost]] = {}
        self._spares: list[IsolateHost] = []
        self._all: set[IsolateHost] = set()
        self._booting = 0
        self._closing = False
        self._watcher: asyncio.Task[None] | None = None
        self._filling: asyncio.Task[None] | None = None
        self.on_host_gone: Callable[[IsolateHost], None] | None = None
        # Where hosts are pinned start from this worker's rank (runtime/cpus.py); -1: not pinned.
        self._rank = worker_rank([shared_zygote_pid()]) if self.host_limits.pin_cpus else -1
        self._host_cpus: list[int] | None = None  # where hosts go when this worker has its own
        self._retries: set[asyncio.Task[None]] = set()

    def hosts(self) -> list[IsolateHost]:
        """Every live host."""
        return list(self._all)

    # ---- the Runtime seam ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the zygote and watching; the spare hosts boot in the background.

        A server is healthy before its spares are up (a call that comes first boots its own host).
        """
        await self._zygote.start()
        self._take_own_cpu()
        loop = asyncio.get_running_loop()
        self._watcher = loop.create_task(self._watch())
        if self._filling is None:
            self._filling = loop.create_task(self._fill_spares())

    def invoke(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None = None
    ) -> Coroutine[Any, Any, InvokeResult]:
        """Run one call in the function's host (await it); raises RuntimeUnavailableError when
        it cannot. `on_complete` as for `Runtime.invoke`. With the host at hand this is the
        host's own coroutine, not one awaiting it (a layer of coroutines costs every call)."""
        host = self._by_function.get(spec.function_id)
        if host is None or host.gone or host.recycling is not None:
            return self._invoke_on_new_host(spec, request, on_complete)
        return host.invoke(spec, request, on_complete)

    async def _invoke_on_new_host(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None
    ) -> InvokeResult:
        host = await self._host_for(spec.function_id)
        return await host.invoke(spec, request, on_complete)

    async def check(self, compiled: str, spec: FunctionSpec | None = None) -> None:
        """Load code in a fresh isolate and find its handler; raise CodeError with position.

        With `spec`, the isolate stays warm in the function's host for that version's calls.
        """
        if spec is None:
            host = await self._take_host()
            try:
                target = FunctionSpec(function_id="", name="check", version=0, compiled=compiled)
                await host.check(target)
            finally:
                host.kill(None)
            return
        host = await self._host_for(spec.function_id)
        try:
            await host.check(spec)
        except BaseException:
            if not host.served:  # a host that only ever held code that failed goes
                self._release(spec.function_id, host)
                host.drop()
            raise

    async def prewarm(self, spec: FunctionSpec) -> None:
        """Make sure `spec`'s version has a warm isolate in its host."""
        with contextlib.suppress(RuntimeUnavailableError):
            host = await self._host_for(spec.function_id)
            host.prewarm(spec)

    def runs(self, function_id: str) -> bool:
        """Whether a host is kept for the function."""
        return function_id in self._by_function

    def retire(self, function_id: str) -> None:
        """Stop running a function: its host drains and is stopped."""
        host = self._by_function.pop(function_id, None)
        if host is None:
            return
        host.recycling = "the function was retired"
        if not host.load:
            host.drop()  # nothing to drain: no Retire for a host about to go
        elif not host.shared:  # the other workers' calls may still use a shared host's isolates
            host.retire(function_id)

    async def close(self, grace: float = 5.0) -> None:
        """Let calls in flight finish (up to `grace` seconds), then kill every host."""
        self._closing = True
        for task in (self._watcher, self._filling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        in_flight = [f for h in self._all for f in h.futures()]
        if in_flight:
            await asyncio.wait(in_flight, timeout=grace)
        for host in list(self._all):
            host.drop()
        await self._zygote.close()

    # ---- hosts -----------------------------------------------------------------------------------
    async def _host_for(self, function_id: str) -> IsolateHost:
        host = self._by_function.get(function_id)
        if host is not None and not host.gone and host.recycling is None:
            return host
        starting = self._starting.get(function_id)
        if starting is not None:
            return await asyncio.shield(starting)
        future: asyncio.Future[IsolateHost] = asyncio.get_running_loop().create_future()
        self._starting[function_id] = future
        try:
            sharing = self._zygote.shared and self._zygote.alive
            host = await self._shared_host(function_id) if sharing else None
            if host is None:
                host = await self._take_host()
            if not host.joined:  # a host another worker started is that worker's to place
                self._place(host)
            self._by_function[function_id] = host
            future.set_result(host)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody else has to
            raise
        finally:
            self._starting.pop(function_id, None)
        return host

    async def _shared_host(self, function_id: str) -> IsolateHost | None:
        """The host the server's workers share for the function: joined if another worker bound
        one, else one of this worker's, bound (zygote.py). None if another worker kept binding
        first (this worker then runs a host of its own)."""
        for _ in range(SHARE_ATTEMPTS):
            joined = IsolateHost(self._zygote, self._gone, self._retry)
            self._all.add(joined)
            try:
                if await joined.join(function_id, self._config):
                    return joined
            except OSError:  # the zygote is gone: this worker starts its own (`_boot`)
                return None
            finally:
                if not joined.joined:
                    self._all.discard(joined)
            host = await self._take_host()
            host.shared = True  # from the bind on, another worker may join it
            try:
                bound = await self._zygote.bind(function_id, host.pid)
            except OSError:
                host.shared = False
                return host
            if bound == host.pid:
                return host
            host.shared = False
            self._spares.append(host)  # another worker bound one first: join it
        return None

    def _take_own_cpu(self) -> None:
        """Put this serving worker's threads, and those it starts, on a CPU of its own, the hosts
        on the others (runtime/cpus.py). After the zygote has started: the hosts it forks must
        not inherit the pin (one started later is unpinned as it starts, zygote.py)."""
        limits = self.host_limits
        if self._rank < 0 or not limits.serving_worker:
            return
        split = split_for_server(limits.workers, self._rank)
        if split is not None and pin_process(split[0]):
            self._host_cpus = split[1]

    def _place(self, host: IsolateHost) -> None:
        """Put a host given a function on the CPU with the fewest such hosts (runtime/cpus.py),
        among those the server's workers leave them; spares run anywhere until then."""
        if self._rank >= 0 and host.cpu is None:
            others = (h.cpu for h in self._all if h is not host)
            cpu = least_used(others, self._rank, self._host_cpus)
            if cpu is not None:
                host.place(cpu)

    def _release(self, function_id: str, host: IsolateHost) -> None:
        if self._by_function.get(function_id) is host:
            del self._by_function[function_id]

    async def _take_host(self) -> IsolateHost:
        if self._closing:
            raise RuntimeUnavailableError("the server is shutting down", retry_after=5)
        while self._spares:
            spare = self._spares.pop()
            if not spare.gone:
                self._refill_soon()
                return spare
        self._make_room()
        host = await self._boot()
        self._refill_soon()
        return host

    def _make_room(self) -> None:
        if len(self._all) + self._booting < self.host_limits.max_hosts:
            return
        idle = [h for h in self._by_function.values() if not h.load]
        if not idle:
            raise RuntimeUnavailableError(
                "every isolate host is busy (FLUX_EDGE_MAX_ISOLATE_HOSTS); retry shortly"
            )
        victim = min(idle, key=lambda h: h.last_used)
        for function_id, host in list(self._by_function.items()):
            if host is victim:
                del self._by_function[function_id]
        victim.drop()

    async def _boot(self) -> IsolateHost:
        if not self._zygote.alive and not self._closing:
            log.warning("the isolate host zygote stopped; starting another")
            self._zygote = Zygote()
            await self._zygote.start()
        host = IsolateHost(self._zygote, self._gone, self._retry)
        self._all.add(host)
        self._booting += 1
        try:
            await host.start(self._config, self.host_limits.heap_cap_mb)
        except ConnectionError as error:
            self._all.discard(host)
            raise RuntimeUnavailableError(f"an isolate host could not start: {error}") from None
        except BaseException:
            self._all.discard(host)
            raise
        finally:
            self._booting -= 1
        return host

    def _retry(
        self,
        spec: FunctionSpec,
        request: InvokeRequest,
        on_complete: OnComplete | None,
        answer: asyncio.Future[Any],
    ) -> None:
        """Run a call its crashed host never took on the function's next host, once."""

        async def again() -> InvokeResult:
            host = await self._host_for(spec.function_id)
            return await host.invoke(spec, request, on_complete, may_retry=False)

        answer_later(answer, again(), self._retries)

    def _gone(self, host: IsolateHost) -> None:
        self._all.discard(host)
        for function_id, mapped in list(self._by_function.items()):
            if mapped is host:
                del self._by_function[function_id]
        if host in self._spares:
            self._spares.remove(host)
            self._refill_soon()
        if self.on_host_gone is not None:
            self.on_host_gone(host)

    def _refill_soon(self) -> None:
        if self._filling is None and not self._closing:
            self._filling = asyncio.get_running_loop().create_task(self._refill())

    async def _refill(self) -> None:
        # Starting a process costs the server a fork; let the call that took the spare go first.
        await asyncio.sleep(REFILL_DELAY_SECONDS)
        await self._fill_spares()

    async def _fill_spares(self) -> None:
        try:
            while (
                len(self._spares) < self.host_limits.spare_hosts
                and not self._closing
                and len(self._all) + self._booting < self.host_limits.max_hosts
            ):
                try:
                    host = await self._boot()
                except RuntimeUnavailableError:
                    log.warning("an isolate host did not start; retrying")
                    await asyncio.sleep(1.0)
                    continue
                self._spares.append(host)
        finally:
            self._filling = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            now = time.monotonic()
            for host in list(self._all):
                host.watch(now)
                if (
                    host.load == 0
                    and host not in self._spares
                    and now - host.last_used > self.host_limits.idle_seconds
                ):
                    host.drop()
