"""Memory: RSS growth per warm idle function isolate, with 100 functions each warmed by one call.

Measured in-process (the `Runtime` every isolate host runs): RSS after V8 is up and the spare
engines are booted, then after 100 functions have one warm isolate each (target: <= 2 MB per
isolate), and again once the pool has compacted them after `compact_after_seconds` idle. With
isolate hosts (the server's default) each function also has a process of its own: its private
memory (and PSS) per idle host is measured for `--hosted-functions` functions and reported beside
it, with no target (it is the price of the process boundary, docs/runtime.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os

from _common import PAYLOAD, TRIVIAL_HANDLER, write_result

from flux_edge.runtime import FunctionSpec, InvokeRequest, PoolLimits, Runtime
from flux_edge.runtime.hosting import HostedRuntime, HostLimits


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run(functions: int) -> dict[str, object]:
    runtime = Runtime()
    await runtime.start()
    warm_up = FunctionSpec(function_id="warm", name="warm", version=1, compiled=TRIVIAL_HANDLER)
    request = InvokeRequest(
        method="POST", url="http://bench/", headers=[], body=PAYLOAD, execution_id="e"
    )
    await runtime.invoke(warm_up, request)  # first-use costs (JIT, caches) out of the measurement
    gc.collect()
    before = rss_mb()
    for n in range(functions):
        spec = FunctionSpec(function_id=f"f{n}", name=f"f{n}", version=1, compiled=TRIVIAL_HANDLER)
        result = await runtime.invoke(spec, request)
        assert result.status_code == 200
    # The spare engines refill and the reaper compacts each new isolate once first idle, as on
    # an idle server.
    await asyncio.sleep(2)
    gc.collect()
    after = rss_mb()
    isolates = runtime.pool.isolate_count - 1
    # Idle long enough, each isolate gives its spare heap back (the pool's reaper): the steady
    # state of a server whose functions are not being called.
    await asyncio.sleep(runtime.pool.limits.compact_after_seconds + 2)
    gc.collect()
    compacted = rss_mb()
    await runtime.close(grace=1)
    return {
        "functions": functions,
        "isolates": isolates,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "mb_per_isolate": round((after - before) / isolates, 2),
        "target_mb_per_isolate": 2.0,
        "mb_per_isolate_after_idle_compaction": round((compacted - before) / isolates, 2),
    }


def _smaps_mb(pid: int) -> dict[str, float]:
    wanted = {
        "Rss:": "rss",
        "Pss:": "pss",
        "Private_Clean:": "private",
        "Private_Dirty:": "private",
    }
    out = {"rss": 0.0, "pss": 0.0, "private": 0.0}
    with open(f"/proc/{pid}/smaps_rollup") as smaps:
        for line in smaps:
            key, _, rest = line.partition(" ")
            if key in wanted:
                out[wanted[key]] += int(rest.split()[0]) / 1024
    return out


async def hosted(functions: int) -> dict[str, object]:
    runtime = HostedRuntime(PoolLimits(), HostLimits(max_hosts=functions + 4))
    await runtime.start()
    request = InvokeRequest(
        method="POST", url="http://bench/", headers=[], body=PAYLOAD, execution_id="e"
    )
    specs = [
        FunctionSpec(function_id=f"f{n}", name=f"f{n}", version=1, compiled=TRIVIAL_HANDLER)
        for n in range(functions)
    ]
    for spec in specs:
        await runtime.check(spec.compiled, spec)
        result = await runtime.invoke(spec, request)
        assert result.status_code == 200
    await asyncio.sleep(2)  # spare hosts refilled, hosts idle
    serving = [h for h in runtime.hosts() if h.served]
    figures = [_smaps_mb(h.pid) for h in serving]
    await runtime.close(grace=1)
    return {
        "hosted_functions": len(serving),
        "host_private_mb": round(sum(f["private"] for f in figures) / len(figures), 1),
        "host_pss_mb": round(sum(f["pss"] for f in figures) / len(figures), 1),
        "host_rss_mb": round(sum(f["rss"] for f in figures) / len(figures), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, default=100)
    parser.add_argument("--hosted-functions", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(run(args.functions))
    result.update(asyncio.run(hosted(args.hosted_functions)))
    write_result("isolate_memory", result)


if __name__ == "__main__":
    main()
