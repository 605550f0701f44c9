"""In-process `Runtime.invoke` calls/s against raw `eval_cancelable` calls/s on a bare MiniRacer.

Both are measured in the same run with the same number of concurrent callers (closed loop: each
caller awaits its call, then makes the next), spread over 1, 2 or 4 isolates: bare MiniRacers taken
in turn for the raw figure, and as many functions (one warm isolate each) for ours. The raw figure is
one `eval_cancelable` crossing per call doing the same JSON work, the floor a naive design pays.
Target: ratio >= 0.6 for 1, 2 and 4 isolates. `HostedRuntime.invoke` (the server's default: the
same Runtime inside isolate host processes) is measured alongside, to show what the process
boundary costs; it has no target of its own (the HTTP benchmark is the end-to-end figure).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time

from _common import PAYLOAD, TRIVIAL_HANDLER, write_result
from py_mini_racer import MiniRacer

from flux_edge.runtime import FunctionSpec, InvokeRequest, PoolLimits, Runtime
from flux_edge.runtime.hosting import HostedRuntime

_ids = itertools.count()


def request() -> InvokeRequest:
    return InvokeRequest(
        method="POST",
        url="http://127.0.0.1/api/v1/functions/bench/invoke",
        headers=[("content-type", "application/json")],
        body=PAYLOAD,
        execution_id=f"e{next(_ids)}",
    )


async def closed_loop(call, callers: int, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return done / (time.perf_counter() - started)


async def raw_rate(isolates: int, callers: int, seconds: float) -> float:
    racers = [MiniRacer() for _ in range(isolates)]
    for mr in racers:
        await mr.eval_cancelable(
            "function h(body) { const d = JSON.parse(body); return JSON.stringify({ok: d.a}); }"
        )
    code = f"h({PAYLOAD.decode()!r})"
    turn = itertools.cycle(racers)

    async def call() -> None:
        await next(turn).eval_cancelable(code)

    try:
        return await closed_loop(call, callers, seconds)
    finally:
        for mr in racers:
            mr.close()


async def runtime_rate(isolates: int, callers: int, seconds: float, hosted: bool = False) -> float:
    """Callers spread over `isolates` functions, one warm isolate each (the pool batches a
    function's trivial calls on one isolate; more isolates serve more functions or CPU-heavy code).
    """
    limits = PoolLimits(max_concurrency_per_isolate=max(callers, 1))
    runtime: Runtime | HostedRuntime = HostedRuntime(limits) if hosted else Runtime(limits)
    if hosted:
        await runtime.start()  # the zygote and a spare host
    specs = [
        FunctionSpec(
            function_id=f"bench-{n}", name=f"bench-{n}", version=1, compiled=TRIVIAL_HANDLER
        )
        for n in range(isolates)
    ]
    for spec in specs:
        await runtime.check(spec.compiled, spec)
    turn = itertools.cycle(specs)

    async def call() -> None:
        result = await runtime.invoke(next(turn), request())
        assert result.status_code == 200, result.body

    try:
        await closed_loop(call, callers, 0.5)  # warm-up
        return await closed_loop(call, callers, seconds)
    finally:
        await runtime.close(grace=1)


async def run(args: argparse.Namespace) -> dict[str, object]:
    rows = {}
    for isolates in (1, 2, 4):
        raw, ours, hosted = [], [], []
        for _ in range(args.rounds):  # alternate, so drift in machine load hits all alike
            raw.append(await raw_rate(isolates, args.callers, args.seconds))
            ours.append(await runtime_rate(isolates, args.callers, args.seconds))
            hosted.append(await runtime_rate(isolates, args.callers, args.seconds, hosted=True))
        raw_median, ours_median = sorted(raw)[len(raw) // 2], sorted(ours)[len(ours) // 2]
        hosted_median = sorted(hosted)[len(hosted) // 2]
        rows[str(isolates)] = {
            "raw_eval_cancelable_per_s": round(raw_median),
            "runtime_invoke_per_s": round(ours_median),
            "ratio": round(ours_median / raw_median, 2),
            "hosted_invoke_per_s": round(hosted_median),
            "hosted_ratio": round(hosted_median / raw_median, 2),
        }
    return {"callers": args.callers, "target_ratio": 0.6, "isolates": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", type=int, default=16)
    args = parser.parse_args()
    write_result("runtime_invoke", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
