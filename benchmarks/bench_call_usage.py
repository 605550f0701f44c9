"""What measuring each call's CPU time and heap costs (flux_edge/runtime/usage.py).

Per step the isolate reads its thread's CPU clock twice and splits the difference among the
step's calls; the heap is read (mini-racer's heap_stats, a round trip to the isolate's thread)
at most every HEAP_SAMPLE_SECONDS per isolate. This measures each piece on its own, many times,
and the per-call cost they add at c1 (one call per step, the worst case: no batch to share with).
Target: a few microseconds per call. Results: benchmarks/results/call_usage.json.
"""

from __future__ import annotations

import asyncio
import time

from _common import write_result
from py_mini_racer import MiniRacer

from flux_edge.runtime.isolate import init_v8
from flux_edge.runtime.usage import HEAP_SAMPLE_SECONDS, isolate_clock


def per_call_us(action: object, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        action()  # type: ignore[operator]
    return (time.perf_counter() - started) / rounds * 1e6


def charge_like(calls: dict[int, int], touched: set[int], share: int) -> None:
    # The bookkeeping a step does for its calls (Isolate._charge), on plain data.
    for cid in touched:
        if cid in calls:
            calls[cid] += share


async def main() -> dict[str, object]:
    init_v8()
    racer, clock = isolate_clock(MiniRacer)
    assert clock is not None, "the isolate's thread was not found"
    await racer.eval_cancelable("1")
    clock_us = per_call_us(clock.read_ns, 100_000)
    heap_us = per_call_us(racer.heap_stats, 300)
    calls = {1: 0}
    bookkeeping_us = per_call_us(lambda: charge_like(calls, {1}, 5), 100_000)
    racer.close()
    # c1: two clock reads and the bookkeeping per step (= per call); the heap at most every
    # HEAP_SAMPLE_SECONDS, spread over the calls of that period at a modest 1,000 calls/s.
    per_call = 2 * clock_us + bookkeeping_us + heap_us / (HEAP_SAMPLE_SECONDS * 1000)
    return {
        "clock_read_us": round(clock_us, 3),
        "bookkeeping_us": round(bookkeeping_us, 3),
        "heap_stats_us": round(heap_us, 1),
        "heap_sample_seconds": HEAP_SAMPLE_SECONDS,
        "added_per_call_us_c1_at_1000_per_s": round(per_call, 2),
        "target_us": 5,
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    write_result("call_usage", result)
    print(result)
