"""Soak test: bounded loopback load on a real flux-edge server, watching for leaks and lost records.

Starts `python -m flux_edge serve` on a fresh data dir, deploys four functions (fast, slow, failing,
timing out) and, unless `--no-hostile`, three hostile ones that in-process V8 cannot contain (a
builtin that cannot be interrupted, one allocation past V8's heap limit, ICU objects outside the
heap; issue 12), and drives them from a fixed number of concurrent clients for `--duration` seconds.
Every `--sample` seconds it records the server's RSS and open file descriptors (from /proc) and the
isolate count and queue depth (from /metrics). At the end it stops the server cleanly and checks:

- every answered invocation (one carrying an `x-flux-execution-id` header or an `execution_id` in its
  error body) has exactly one execution record, and there are no records nobody asked for;
- RSS, open fds, isolates and queue depth do not keep growing: the mean of the last quarter of the
  samples may exceed the mean of the second quarter (after warm-up) by at most a tolerance (RSS and
  fds are summed over the server's process group: its isolate hosts too);
- the normal functions keep their latency while the hostile ones run: the p99 of `fast` stays under
  `--fast-p99-ms`, in the whole run and in its last quarter.

Exit status 0 when every check passes, 1 otherwise. Figures go to stdout as JSON lines and a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import apsw
import httpx

ADMIN_TOKEN = "soak-admin-token-0123456789"

# name -> (code, timeout_seconds, share of the load)
FUNCTIONS: dict[str, tuple[str, int, float]] = {
    "fast": (
        "function handler(req) { return {status: 200, body: {ok: true, n: req.body.length}} }",
        5,
        0.55,
    ),
    "slow": (
        "async function handler() { await new Promise((r) => setTimeout(r, 150)); return 'slow' }",
        5,
        0.2,
    ),
    "failing": ("function handler() { throw new Error('planned failure') }", 5, 0.15),
    "hanging": ("function handler() { while (true) {} }", 1, 0.1),
}
# name -> (code, timeout_seconds, share of the load, memory_limit_mb); each attack ends its host.
HOSTILE: dict[str, tuple[str, int, float, int]] = {
    "builtin-cpu": (
        "function handler() { let s = 'ab'; for (let i = 0; i < 24; i++) s += s;"
        " for (;;) s.toUpperCase(); }",
        1,
        0.01,
        64,
    ),
    "builtin-memory": (
        "function handler() { let s = 'ab'; for (let i = 0; i < 26; i++) s += s;"
        " return s.replaceAll('a', 'xyz').length }",
        5,
        0.01,
        64,
    ),
    "intl-memory": (
        "function handler() { const kept = []; for (let i = 0; i < 20000; i++)"
        " kept.push(new Intl.DateTimeFormat('en')); globalThis.kept = kept; return kept.length }",
        5,
        0.01,
        64,
    ),
}
EXPECTED_STATUS = {
    "fast": 200,
    "slow": 200,
    "failing": 500,
    "hanging": 408,
    "builtin-cpu": 408,
    "builtin-memory": 500,
    "intl-memory": 500,
}
# Calls batched onto an isolate that another call of the same function wedged are stopped with it:
# they fail with this message (500) instead of running into their own timeout.
INTERRUPTED = "its isolate was stopped because another call of this function exceeded a limit"


@dataclass
class Tally:
    """What the clients saw."""

    answered: dict[str, int] = field(default_factory=dict)  # execution id -> HTTP status
    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (t, seconds)
    by_function: dict[str, dict[int, int]] = field(default_factory=dict)  # name -> status -> count
    by_status: dict[int, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    transport_errors: int = 0
    unanswered: int = 0  # 503/429 without an execution id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree_rss_and_fds(pid: int) -> tuple[int, int]:
    """RSS in bytes and open fds of the process group `pid` leads (the server, its workers, its
    isolate host zygote and hosts)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pid
            ):
                pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    rss = fds = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return rss, fds


def gauge(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return float("nan")


def expected(name: str, response: httpx.Response) -> bool:
    """The status the function's behaviour calls for (a saturated pool's 503 is always allowed)."""
    if response.status_code in (EXPECTED_STATUS[name], 503):
        return True
    if name in HOSTILE:  # other calls of an attacker in flight when its host is killed: 408/500
        return response.status_code in (408, 500)
    return name == "hanging" and response.status_code == 500 and INTERRUPTED in response.text


async def client_loop(
    client: httpx.AsyncClient,
    stop_at: float,
    tally: Tally,
    rng: random.Random,
    shares: dict[str, float],
) -> None:
    names = list(shares)
    weights = [shares[n] for n in names]
    start = time.monotonic()
    while time.monotonic() < stop_at:
        name = rng.choices(names, weights)[0]
        sent = time.monotonic()
        try:
            response = await client.post(
                f"/api/v1/functions/{name}/invoke", content=b"x" * rng.randint(0, 64)
            )
        except httpx.TransportError:
            tally.transport_errors += 1
            continue
        tally.latencies.setdefault(name, []).append((sent - start, time.monotonic() - sent))
        tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
        counts = tally.by_function.setdefault(name, {})
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
        execution_id = response.headers.get("x-flux-execution-id")
        if execution_id is None and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            try:
                execution_id = response.json().get("execution_id")
            except (ValueError, AttributeError):
                execution_id = None
        if execution_id is None:
            if response.status_code in (429, 503):
                tally.unanswered += 1
            else:
                tally.unexpected.append(f"{name}: {response.status_code} without an execution id")
            continue
        if execution_id in tally.answered:
            tally.unexpected.append(f"{name}: execution id {execution_id} answered twice")
        tally.answered[execution_id] = response.status_code
        if not expected(name, response):
            tally.unexpected.append(f"{name}: {response.status_code} {response.text[:200]}")


def database_mb(data_dir: Path) -> float:
    """Size of the SQLite database and its WAL: the page cache (bounded) grows with it."""
    files = [data_dir / name for name in ("flux-edge.db", "flux-edge.db-wal")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)


async def sampler(
    base: str, pid: int, data_dir: Path, stop_at: float, every: float, samples: list[dict]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        start = time.monotonic()
        while time.monotonic() < stop_at:
            rss, fds = process_tree_rss_and_fds(pid)
            try:
                metrics = (await client.get("/metrics")).text
            except httpx.TransportError:
                metrics = ""
            sample = {
                "t": round(time.monotonic() - start, 1),
                "rss_mb": round(rss / 2**20, 1),
                "fds": fds,
                "isolates": gauge(metrics, "flux_edge_isolates"),
                "queue": gauge(metrics, "flux_edge_queue_depth"),
                "db_mb": database_mb(data_dir),
            }
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            await asyncio.sleep(every)


def growth_failures(samples: list[dict], rss_tolerance_mb: float) -> list[str]:
    """Compare the last quarter of the run with the second quarter (the first is warm-up)."""
    if len(samples) < 8:
        return ["too few samples to judge growth (run longer or sample more often)"]
    q = len(samples) // 4
    early, late = samples[q : 2 * q], samples[-q:]
    limits = {"rss_mb": rss_tolerance_mb, "fds": 16, "isolates": 4, "queue": 32}
    failures = []
    for key, tolerance in limits.items():
        before = statistics.fmean(s[key] for s in early)
        after = statistics.fmean(s[key] for s in late)
        if after - before > tolerance:
            failures.append(f"{key} grew from {before:.1f} to {after:.1f} (tolerance {tolerance})")
    return failures


def slope_per_hour(samples: list[dict], key: str) -> float:
    """Least-squares growth of `key` per hour over the second half of the run (after warm-up)."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    ts = [s["t"] for s in half]
    ys = [s[key] for s in half]
    mean_t, mean_y = statistics.fmean(ts), statistics.fmean(ys)
    spread = sum((t - mean_t) ** 2 for t in ts)
    if spread == 0:
        return 0.0
    return round(
        sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / spread * 3600, 1
    )


def recorded_executions(database: Path) -> dict[str, tuple[str, int | None]]:
    conn = apsw.Connection(str(database), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return {
            row[0]: (row[1], row[2])
            for row in conn.execute("SELECT id, status, status_code FROM executions")
        }
    finally:
        conn.close()


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update(
        {
            "FLUX_EDGE_ADMIN_TOKEN": ADMIN_TOKEN,
            "FLUX_EDGE_RATE_LIMITS": "off",
            "FLUX_EDGE_LOG_LEVEL": "warning",
        }
    )
    log = (data_dir.parent / "server.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "flux_edge", "serve", "--port", str(port), "--data-dir", str(data_dir),
         "--workers", str(workers)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready in 30s")


def p99_ms(latencies: list[tuple[float, float]]) -> float:
    """The 99th percentile latency in ms (0 without samples)."""
    ordered = sorted(seconds for _, seconds in latencies)
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)


def shares_of(hostile: bool) -> dict[str, float]:
    """Each function's share of the calls."""
    shares = {name: share for name, (_, _, share) in FUNCTIONS.items()}
    if hostile:
        shares.update({name: share for name, (_, _, share, _) in HOSTILE.items()})
    return shares


async def drive(
    base: str, args: argparse.Namespace, pid: int, data_dir: Path
) -> tuple[Tally, list[dict]]:
    tally, samples = Tally(), []
    stop_at = time.monotonic() + args.duration
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        rngs = [random.Random(args.seed + i) for i in range(args.concurrency)]
        await asyncio.gather(
            sampler(base, pid, data_dir, stop_at, args.sample, samples),
            *(client_loop(client, stop_at, tally, rng, shares_of(args.hostile)) for rng in rngs),
        )
    return tally, samples


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--sample", type=float, default=5, help="seconds between samples (default 5)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server worker processes (default 1)"
    )
    parser.add_argument(
        "--rss-tolerance-mb", type=float, default=64, help="allowed late-vs-early RSS growth"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-hostile",
        dest="hostile",
        action="store_false",
        help="only the well-behaved and ordinary failing functions",
    )
    parser.add_argument(
        "--fast-p99-ms", type=float, default=500, help="bound on the fast function's p99 latency"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp data dir")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="flux-edge-soak-"))
    data_dir, port = root / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(data_dir, port, args.workers)
    try:
        wait_ready(base, process)
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin:
            for name, (code, timeout, _) in FUNCTIONS.items():
                body = {"name": name, "code": code, "enabled": True, "timeout_seconds": timeout}
                response = admin.post("/api/v1/functions", json=body)
                if response.status_code != 201:
                    raise SystemExit(f"deploy {name}: {response.status_code} {response.text}")
            for name, (code, timeout, _, memory) in HOSTILE.items() if args.hostile else ():
                body = {
                    "name": name,
                    "code": code,
                    "enabled": True,
                    "timeout_seconds": timeout,
                    "memory_limit_mb": memory,
                }
                response = admin.post("/api/v1/functions", json=body)
                if response.status_code != 201:
                    raise SystemExit(f"deploy {name}: {response.status_code} {response.text}")
        started = time.monotonic()
        tally, samples = asyncio.run(drive(base, args, process.pid, data_dir))
        elapsed = time.monotonic() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # SIGTERM writes every pending record; the database is read after the server has exited.
    records = recorded_executions(data_dir / "flux-edge.db")
    failures = list(tally.unexpected[:20])
    missing = set(tally.answered) - set(records)
    extra = set(records) - set(tally.answered)
    if missing:
        failures.append(
            f"{len(missing)} answered invocations have no execution record, e.g. {sorted(missing)[:3]}"
        )
    if extra:
        failures.append(
            f"{len(extra)} execution records nobody was answered for, e.g. {sorted(extra)[:3]}"
        )
    mismatched = [
        i for i, status in tally.answered.items() if i in records and records[i][1] != status
    ]
    if mismatched:
        failures.append(f"{len(mismatched)} records whose status_code differs from the HTTP status")
    if tally.transport_errors:
        failures.append(f"{tally.transport_errors} transport errors")
    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit too.
    if process.returncode not in (0, -signal.SIGTERM):
        failures.append(f"server exited with {process.returncode} after SIGTERM")
    failures += growth_failures(samples, args.rss_tolerance_mb)
    fast = tally.latencies.get("fast", [])
    last_quarter = [(t, s) for t, s in fast if t >= elapsed * 0.75]
    fast_p99 = {"whole_run": p99_ms(fast), "last_quarter": p99_ms(last_quarter)}
    for window, value in fast_p99.items():
        if value > args.fast_p99_ms:
            failures.append(f"fast p99 {value} ms in the {window} (bound {args.fast_p99_ms} ms)")

    first, last = samples[0], samples[-1]
    peak = {k: max(s[k] for s in samples) for k in ("rss_mb", "fds", "isolates", "queue")}
    summary = {
        "duration_s": round(elapsed, 1),
        "concurrency": args.concurrency,
        "workers": args.workers,
        "requests_answered": len(tally.answered),
        "requests_per_s": round(len(tally.answered) / elapsed, 1),
        "by_status": dict(sorted(tally.by_status.items())),
        "by_function": {
            name: dict(sorted(c.items())) for name, c in sorted(tally.by_function.items())
        },
        "shed_without_record": tally.unanswered,
        "hostile": args.hostile,
        "p99_ms": {name: p99_ms(lat) for name, lat in sorted(tally.latencies.items())},
        "fast_p99_ms": fast_p99,
        "executions_recorded": len(records),
        "first_sample": first,
        "last_sample": last,
        "peak": peak,
        "second_half_growth_per_hour": {
            k: slope_per_hour(samples, k) for k in ("rss_mb", "fds", "db_mb")
        },
        "failures": failures,
    }
    print("SUMMARY " + json.dumps(summary), flush=True)
    if not args.keep:
        subprocess.run(["rm", "-rf", str(root)], check=False)
    else:
        print(f"data kept in {root}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
