"""What one hand-off between two threads costs, with the threads free and with both on one CPU.

The figure behind isolate hosts' CPU placement (flux_edge/runtime/cpus.py, docs/runtime.md "CPU
placement"): a step into an isolate is two such hand-offs, between a host's event loop thread and
the isolate's V8 thread. Two Python threads pass a number back and forth through two queues;
each configuration runs in a fresh process (`taskset`-like: sched_setaffinity before the threads
start), alternating, and reports wall time and CPU time per round trip. Linux only.

Usage: `python benchmarks/bench_handoff.py [--trips N] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time

from _common import median, write_result


def ping_pong(trips: int) -> dict[str, float]:
    """Round trips between this thread and another, in µs of wall and CPU time each."""
    there: queue.SimpleQueue[int] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        for _ in range(trips):
            back.put(there.get())

    thread = threading.Thread(target=echo)
    thread.start()
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for n in range(trips):
        there.put(n)
        back.get()
    elapsed, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    thread.join()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_us": elapsed / trips * 1e6, "cpu_us": cpu / trips * 1e6}


def run_child(trips: int, pinned: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(trips)] + (["--pinned"] if pinned else [])
    return json.loads(subprocess.run(command, capture_output=True, check=True).stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pinned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.pinned:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        print(json.dumps(ping_pong(args.child)))
        return
    runs: dict[str, list[dict[str, float]]] = {"free": [], "one_cpu": []}
    for _ in range(args.rounds):
        runs["free"].append(run_child(args.trips, pinned=False))
        runs["one_cpu"].append(run_child(args.trips, pinned=True))
    result: dict[str, object] = {
        name: {
            key: round(median([run[key] for run in results]), 1) for key in ("wall_us", "cpu_us")
        }
        for name, results in runs.items()
    }
    result["cpus"] = len(os.sched_getaffinity(0))
    result["trips"] = args.trips
    write_result("handoff", result)


if __name__ == "__main__":
    main()
