"""Memory: RSS growth per warm idle function isolate, with 100 functions each warmed by one call.

Measured in-process (the server does the same work): RSS after V8 is up and the spare engines are
booted, then after 100 functions have one warm isolate each. Target: <= 2 MB per isolate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os

from _common import PAYLOAD, TRIVIAL_HANDLER, write_result

from flux_edge.runtime import FunctionSpec, InvokeRequest, Runtime


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
    await asyncio.sleep(1)  # let the spare engines refill, as they would on an idle server
    gc.collect()
    after = rss_mb()
    isolates = runtime.pool.isolate_count - 1
    await runtime.close(grace=1)
    return {
        "functions": functions,
        "isolates": isolates,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "mb_per_isolate": round((after - before) / isolates, 2),
        "target_mb_per_isolate": 2.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, default=100)
    args = parser.parse_args()
    write_result("isolate_memory", asyncio.run(run(args.functions)))


if __name__ == "__main__":
    main()
