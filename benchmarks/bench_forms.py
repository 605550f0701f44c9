"""The isolate thread's CPU per call, by entry form: two source trees side by side, in-process.

Each form of a small function (the reference handler, `Deno.serve` returning a Response, reading
`req.json()`, the peers' realistic function) is called through `Runtime.invoke` by 16 concurrent
callers on one isolate, and each call's V8 CPU time (the isolate thread's clock, the same figure
execution records carry) is averaged. Trees alternate, A B then B A, one process per tree and
round, so machine drift hits both alike:

    python benchmarks/bench_forms.py --base /path/to/main [--tree .] [--rounds 3]

An A/A run (`--base .`) shows the machine's noise. docs/performance.md ("The twelfth pass") has
the figures. Results: benchmarks/results/forms.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import PAYLOAD, ROOT, write_result
from peers.functions import REALISTIC, TRIVIAL

FORMS = {
    "reference handler": TRIVIAL,
    "serve: new Response": 'Deno.serve(() => new Response("x"));',
    "serve: req.json": (
        "Deno.serve(async (req) => { const d = await req.json(); return new Response(d.email); });"
    ),
    "realistic (serve)": REALISTIC,
}
CALLERS = 16


async def measure(seconds: float) -> dict[str, dict[str, float]]:
    """V8 CPU per call and calls/s of each form, in this process (the tree on sys.path)."""
    from flux_edge.runtime import FunctionSpec, InvokeRequest, PoolLimits, Runtime
    from flux_edge.runtime.codeforms import compile_source

    ids = itertools.count()

    def request() -> InvokeRequest:
        return InvokeRequest(
            method="POST",
            url="http://127.0.0.1:9000/api/v1/functions/bench/invoke?n=10",
            headers=[
                ("host", "127.0.0.1:9000"),
                ("content-type", "application/json"),
                ("x-user", "alice"),
                ("user-agent", "bench"),
            ],
            body=PAYLOAD,
            execution_id=f"e{next(ids)}",
        )

    runtime = Runtime(PoolLimits(max_concurrency_per_isolate=CALLERS))
    rows: dict[str, dict[str, float]] = {}
    try:
        for name, code in FORMS.items():
            spec = FunctionSpec(
                function_id=name, name=name, version=1, compiled=compile_source(code)
            )
            await runtime.check(spec.compiled, spec)
            for _ in range(300):  # warm: V8 optimizes the prelude's hot paths
                warm = await runtime.invoke(spec, request())
            assert warm.status_code == 200, warm.body
            cpu, elapsed = await run_callers(runtime.invoke, spec, request, seconds)
            rows[name] = {
                "v8_us_per_call": round(statistics.fmean(cpu) * 1000, 1),
                "calls_per_s": round(len(cpu) / elapsed),
            }
    finally:
        await runtime.close(grace=1)
    return rows


async def run_callers(
    invoke: Any, spec: Any, request: Callable[[], Any], seconds: float
) -> tuple[list[float], float]:
    """CALLERS closed-loop callers of `spec` for `seconds`: each call's V8 CPU ms, and the time."""
    cpu: list[float] = []
    stop = time.perf_counter() + seconds

    async def caller() -> None:
        while time.perf_counter() < stop:
            result = await invoke(spec, request())
            if result.cpu_time_ms is not None:
                cpu.append(result.cpu_time_ms)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return cpu, time.perf_counter() - started


def run_tree(tree: Path, seconds: float) -> dict[str, dict[str, float]]:
    """One measurement in a fresh process that imports flux_edge from `tree`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT / "benchmarks")])}
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def revision(tree: Path) -> str:
    """The tree's commit, marked when it has changes, or its path outside git."""
    git = ["git", "-C", str(tree)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return str(tree)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "flux_edge"], capture_output=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, help="tree A (holds flux_edge/); required")
    parser.add_argument("--tree", type=Path, default=ROOT, help="tree B (default: this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--measure", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:  # the child process of one round
        print(json.dumps(asyncio.run(measure(args.measure))))
        return
    if args.base is None:
        parser.error("--base is required")
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"A": [], "B": []}
    trees = {"A": args.base.resolve(), "B": args.tree.resolve()}
    for round_ in range(args.rounds):
        for label in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
            runs[label].append(run_tree(trees[label], args.seconds))
            figures = ", ".join(f"{k} {v['v8_us_per_call']} µs" for k, v in runs[label][-1].items())
            print(f"round {round_} {label}: {figures}", flush=True)
    forms: dict[str, dict[str, float]] = {}
    for name in FORMS:
        a = round(statistics.median(run[name]["v8_us_per_call"] for run in runs["A"]), 1)
        b = round(statistics.median(run[name]["v8_us_per_call"] for run in runs["B"]), 1)
        forms[name] = {"a_v8_us_per_call": a, "b_v8_us_per_call": b, "b_over_a": round(b / a, 2)}
        print(f"{name}: {a} -> {b} µs of V8 CPU per call (B/A {b / a:.2f})")
    write_result(
        "forms",
        {
            "base": revision(trees["A"]),
            "tree": revision(trees["B"]),
            "callers": CALLERS,
            "rounds": args.rounds,
            "forms": forms,
        },
    )


if __name__ == "__main__":
    main()
