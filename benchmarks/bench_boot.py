"""Isolate boot: the time to boot an engine (prelude loaded) and the V8 heap it holds, and what the
APIs loaded on first use (streams and the APIs built on them) add when a function does use them.

Engines are booted one after another (as the pool's spares are). A trivial function never pays
the "first use" figures; a function that touches `ReadableStream` (or `Response.body`,
`CompressionStream`, ...) pays them once per isolate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _common import write_result

from flux_edge.runtime.isolate import Engine


def heap_used(engine: Engine) -> int:
    return int(engine.mr.heap_stats()["used_heap_size"])


async def run(samples: int) -> dict[str, object]:
    boot_ms: list[float] = []
    heap: list[int] = []
    load_ms: list[float] = []
    load_heap: list[int] = []
    for _ in range(samples):
        started = time.perf_counter()
        engine = Engine()
        await engine.boot()
        boot_ms.append((time.perf_counter() - started) * 1000)
        engine.mr.low_memory_notification()
        heap.append(heap_used(engine))
        started = time.perf_counter()
        await engine.mr.eval_cancelable("typeof ReadableStream")
        load_ms.append((time.perf_counter() - started) * 1000)
        engine.mr.low_memory_notification()
        load_heap.append(heap_used(engine) - heap[-1])
        engine.close()
    return {
        "samples": samples,
        "boot_ms_p50": round(statistics.median(boot_ms), 2),
        "heap_after_boot_kb": round(statistics.median(heap) / 1024),
        "streams_first_use_ms_p50": round(statistics.median(load_ms), 2),
        "streams_first_use_heap_kb": round(statistics.median(load_heap) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    write_result("isolate_boot", asyncio.run(run(args.samples)))


if __name__ == "__main__":
    main()
