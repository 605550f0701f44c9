"""Cost of one rate-limit check (µs), alone and with a second process hammering the same table.

Run: `python benchmarks/bench_rate_limit.py [--checks N]`. Prints µs/check for a hot key (one
caller), for many distinct keys (table spread), and while another process checks concurrently.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from flux_edge.ratelimit import RateLimiter, RatePolicy
from flux_edge.ratelimit.policy import Limit

# High limits, so every check takes the admitting path (the common one) and writes its slot.
POLICY = RatePolicy(invoke=Limit(10**9, 60.0), write=Limit(10**9, 60.0))


def _measure(path: Path, checks: int, keys: int) -> float:
    limiter = RateLimiter.open(path, POLICY)
    callers = [f"t:token-{i}" for i in range(keys)]
    started = time.perf_counter()
    for i in range(checks):
        limiter.check("invoke", callers[i % keys], "hello")
    elapsed = time.perf_counter() - started
    limiter.close()
    return elapsed / checks * 1e6


def _hammer(path: str, checks: int, out: multiprocessing.Queue[float]) -> None:
    out.put(_measure(Path(path), checks, 1))


def main() -> None:
    """Print µs per check in three situations."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ratelimit.bin"
        _measure(path, 10_000, 1)  # warm up: create and format the file
        print(f"one hot key:             {_measure(path, args.checks, 1):6.2f} µs/check")
        print(f"10,000 keys:             {_measure(path, args.checks, 10_000):6.2f} µs/check")
        results: multiprocessing.Queue[float] = multiprocessing.Queue()
        procs = [
            multiprocessing.Process(target=_hammer, args=(str(path), args.checks, results))
            for _ in range(2)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        figures = [results.get() for _ in procs]
        print("two processes, same key: " + ", ".join(f"{f:6.2f}" for f in figures) + " µs/check")


if __name__ == "__main__":
    main()
