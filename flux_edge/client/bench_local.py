"""`flux-edge bench NAME --in-process`: the bench without a server.

The function is read from the data directory and called in this process through the runtime a
server's worker uses (`boot.runtime_for`: isolate hosts unless FLUX_EDGE_ISOLATE_HOSTS=off, with this
shell's FLUX_EDGE_* settings), with no HTTP, rate limits or execution records. So it measures what
the runtime alone serves on this machine; a run against the server, beside it, shows what the
server's request handling adds. Cold starts are new versions of the function made in memory: the
stored function is not changed. The figures come from the calls' own results (CPU time, heap) and
the runtime's pool; the report has the shape of a run against a server (client/bench.py).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import msgspec

from flux_edge.client.bench import (
    BenchError,
    BenchOptions,
    LevelTally,
    Progress,
    cold_report,
    level_report,
)
from flux_edge.runtime.types import (
    FunctionRunner,
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    RuntimeUnavailableError,
)
from flux_edge.settings import Settings


async def read_function(settings: Settings, name: str) -> FunctionSpec:
    """The stored function `name` as the runtime runs it; BenchError if there is none."""
    from flux_edge.service.invocations import spec_for
    from flux_edge.store.sqlite import SQLiteStore

    path = settings.database_path
    if not path.exists():
        raise BenchError(f"no database at {path}: give the server's --data-dir")
    store = await SQLiteStore.open(path)
    try:
        record = await store.get_function(name)
    finally:
        await store.close()
    if record is None:
        raise BenchError(f"no function named {name!r} in {path}")
    if not record.enabled:
        raise BenchError(f"{name!r} is disabled: enable it first")
    return spec_for(record, settings.functions_dir)


def _request(spec: FunctionSpec, body: bytes, n: int) -> InvokeRequest:
    url = f"http://in-process/functions/v1/{spec.name}"
    return InvokeRequest(
        method="POST",
        url=url,
        headers=[("content-type", "application/json")],
        body=body,
        execution_id=f"bench-{n}",
        function_url=url,
    )


async def _call(
    runtime: FunctionRunner, spec: FunctionSpec, request: InvokeRequest
) -> InvokeResult | str:
    """The call's result, or the name of what it raised ("503": no isolate slot, queue full)."""
    try:
        return await runtime.invoke(spec, request)
    except RuntimeUnavailableError:
        return "503"


async def _cold_starts(
    runtime: FunctionRunner, spec: FunctionSpec, options: BenchOptions
) -> dict[str, Any]:
    await _call(runtime, spec, _request(spec, options.body, 0))  # the function's host, up
    firsts: list[float] = []
    statuses: list[int | str] = []
    for n in range(1, options.cold_starts + 1):
        fresh = msgspec.structs.replace(spec, version=spec.version + n)  # not stored
        started = time.perf_counter()
        result = await _call(runtime, fresh, _request(fresh, options.body, n))
        firsts.append((time.perf_counter() - started) * 1000)
        statuses.append(result if isinstance(result, str) else result.status_code)
    return cold_report(firsts, statuses)


async def _level(
    runtime: FunctionRunner,
    spec: FunctionSpec,
    options: BenchOptions,
    concurrency: int,
    progress: Progress | None,
) -> dict[str, Any]:
    cpu_ms: list[float] = []
    heap: int | None = None
    isolates_at_start = runtime.pool.isolate_count
    # The calling thread's CPU: with FLUX_EDGE_ISOLATE_HOSTS=off the isolates' threads are this
    # process's too, and theirs is not the caller's.
    cpu_started, wall_started = time.thread_time(), time.perf_counter()
    end = time.monotonic() + options.duration

    async def isolates() -> float:
        return runtime.pool.isolate_count

    tally = LevelTally(concurrency, end, isolates, progress, "calls")

    async def loop(first: int) -> None:
        nonlocal heap
        n = first
        while time.monotonic() < end:
            started = time.perf_counter()
            result = await _call(runtime, spec, _request(spec, options.body, n))
            elapsed = time.perf_counter() - started
            n += concurrency
            if isinstance(result, str):
                tally.answered(result, elapsed)
                continue
            tally.answered(str(result.status_code), elapsed)
            if result.cpu_time_ms is not None:
                cpu_ms.append(result.cpu_time_ms)
            if result.heap_used_bytes is not None:
                heap = result.heap_used_bytes

    await tally.run(asyncio.gather(*(loop(i) for i in range(concurrency))))
    wall = time.perf_counter() - wall_started
    return level_report(
        concurrency,
        wall,
        tally.latencies,
        tally.statuses,
        server_calls=None,
        rate_limited=None,
        cpu_ms=statistics.fmean(cpu_ms) if cpu_ms else None,
        heap_bytes=heap,
        isolates_max=int(max(tally.isolates_max, isolates_at_start, runtime.pool.isolate_count)),
        client_cpu=(time.thread_time() - cpu_started) / wall,
    )


async def run_in_process(
    options: BenchOptions, settings: Settings, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the cold starts and every level in this process; the report as a JSON-ready dict."""
    from flux_edge.boot import runtime_for
    from flux_edge.runtime.capabilities.bridge import CapabilityBridge

    spec = await read_function(settings, options.name)
    host = CapabilityBridge.from_settings(settings)
    runtime = runtime_for(settings, host)
    await runtime.start()
    try:
        if progress is not None and options.cold_starts:
            progress(f"cold start: {options.cold_starts} new versions and first calls")
        cold = await _cold_starts(runtime, spec, options)
        levels = []
        for concurrency in options.concurrency:
            levels.append(await _level(runtime, spec, options, concurrency, progress))
    finally:
        await runtime.close()
        await host.aclose()
    return {
        "function": options.name,
        "url": None,
        "in_process": str(settings.data_dir),
        "version_before": spec.version,
        "version_after": spec.version,
        "duration_s": options.duration,
        "metrics_available": None,  # no server: the figures are the calls' own
        "cold_start": cold,
        "levels": levels,
        "requests": cold["runs"] + sum(level["requests"] for level in levels),
    }
