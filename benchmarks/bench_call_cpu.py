"""Server CPU per call: two source trees of flux-edge side by side, runs alternating.

Each tree runs as a user starts it (`python -m flux_edge serve`, default settings, access log on,
rate limits off, or on with `--rate-limits` and the invoke budget raised past the load), from a
scratch directory so that `-m` imports the tree given and not the
current directory's. wrk loads one function at a time, A B B A A B...; for each run the server
process's CPU time (user + system, /proc) and its isolate hosts' are divided by the requests wrk
completed. Compare a change with its parent, or main with a branch:

    python benchmarks/bench_call_cpu.py --base /path/to/main [--tree .] [--route supabase]

An A/A run (`--base .`) shows the machine's noise. docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from _common import ADMIN, ROOT, free_port, wrk
from peers.functions import REALISTIC, TRIVIAL

PAYLOAD = b'{"a": 1, "email": "user@example.com"}'
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def descendants_cpu(pid: int) -> float:
    """CPU seconds of the live processes below `pid` (the zygote and the isolate hosts)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, list(children.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            total += cpu_seconds(child)
        except OSError:
            continue
        todo.extend(children.get(child, []))
    return total


def serve(
    tree: Path, scratch: Path, stack: ExitStack, workers: int = 1, rate_limits: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update({"FLUX_EDGE_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(tree)})
    if rate_limits:  # checked and reported on every call, as by default, but never refusing
        env["FLUX_EDGE_RATE_LIMIT_INVOKE"] = "1000000000/min"
    else:
        env["FLUX_EDGE_RATE_LIMITS"] = "off"
    port = free_port()
    command = [sys.executable, "-m", "flux_edge", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", "data", "--workers", str(workers)],
        cwd=scratch,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(process.wait, 30)
    stack.callback(process.terminate)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/health", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the server of {tree} did not start") from None
            time.sleep(0.1)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin:
        for name, code in (("trivial", TRIVIAL), ("realistic", REALISTIC)):
            body = {"name": name, "code": code, "enabled": True}
            admin.post("/api/v1/functions", json=body).raise_for_status()
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="tree A (holds flux_edge/)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="tree B (default: this one)")
    parser.add_argument("--function", choices=("trivial", "realistic"), default="trivial")
    parser.add_argument("--route", choices=("native", "supabase"), default="native")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--rate-limits", action="store_true", help="rate limits on, as by default (budget raised)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs=2,
        default=(1, 1),
        metavar=("A", "B"),
        help="worker processes of A and of B (with several, 'server' is the supervisor and "
        "'hosts' the workers with their isolate hosts)",
    )
    args = parser.parse_args()
    path = (
        f"/functions/v1/{args.function}?n=20"
        if args.route == "supabase"
        else f"/api/v1/functions/{args.function}/invoke?n=20"
    )
    rows: dict[str, list[tuple[float, float, float, float, float]]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        servers = {}
        sides = (("A", args.base, args.workers[0]), ("B", args.tree, args.workers[1]))
        for label, tree, workers in sides:
            scratch = Path(tmp) / label
            scratch.mkdir()
            servers[label] = serve(tree.resolve(), scratch, stack, workers, args.rate_limits)
        headers = {"x-user": "alice"}
        for _, url in servers.values():  # warm up
            wrk(url + path, body=PAYLOAD, seconds=2, connections=args.connections, headers=headers)
        for round_ in range(args.rounds):
            # A B, then B A: the second run of a round measured ~10 % worse whichever tree it was.
            order = ("A", "B") if round_ % 2 == 0 else ("B", "A")
            for label in order:
                process, url = servers[label]
                server0, hosts0 = cpu_seconds(process.pid), descendants_cpu(process.pid)
                run = wrk(
                    url + path,
                    body=PAYLOAD,
                    seconds=args.seconds,
                    connections=args.connections,
                    headers=headers,
                )
                server = (cpu_seconds(process.pid) - server0) / run.requests * 1e6
                hosts = (descendants_cpu(process.pid) - hosts0) / run.requests * 1e6
                assert run.errors == 0, f"{label}: {run.errors} errors"
                rows[label].append((run.requests_per_second, server, hosts, run.p50_ms, run.p99_ms))
                print(
                    f"round {round_} {label}: {run.requests_per_second:,.0f} req/s, server "
                    f"{server:.1f} µs/call, hosts {hosts:.1f} µs/call, p50 {run.p50_ms} ms, "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    medians = {k: [statistics.median(r[i] for r in v) for i in range(5)] for k, v in rows.items()}
    print(
        f"A = {args.base} ({args.workers[0]} workers), B = {args.tree} ({args.workers[1]} "
        f"workers): {args.function}, {args.route}, c{args.connections}"
        + (", rate limits on" if args.rate_limits else "")
    )
    for label, (rps, server, hosts, p50, p99) in medians.items():
        print(
            f"{label}: {rps:,.0f} req/s, server {server:.1f} µs/call, hosts {hosts:.1f} µs/call, "
            f"p50 {p50:.2f} / p99 {p99:.2f} ms"
        )
    a, b = medians["A"], medians["B"]
    server_ratio = b[1] / a[1] if a[1] else math.nan  # a supervisor of workers uses ~none
    print(
        f"B/A of the medians: req/s {b[0] / a[0]:.3f}, server CPU per call {server_ratio:.3f}, "
        f"hosts {b[2] / a[2]:.3f}"
    )
    # Each round's B against the A just before it: steadier when the machine's load drifts.
    paired = [
        statistics.median(
            rb[i] / ra[i] if ra[i] else math.nan
            for ra, rb in zip(rows["A"], rows["B"], strict=True)
        )
        for i in range(3)
    ]
    print(
        f"B/A, median of the rounds' ratios: req/s {paired[0]:.3f}, server CPU per call "
        f"{paired[1]:.3f}, hosts {paired[2]:.3f}"
    )


if __name__ == "__main__":
    main()
