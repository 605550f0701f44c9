"""flux-edge as a user runs it, side by side with the standalone peers a user would compare it with.

Each peer is its own process, started the way its users start it:
- flux-edge: `flux-edge serve` (the README's command, default settings except rate limits, which
  would answer most of a load test with 429), 1 worker and `--workers 2`;
- a standalone plain Litestar app on uvicorn doing the same work in Python (peers/plain_litestar.py);
- Cloudflare's workerd (npm package `workerd`, pinned in peers/package.json) running the same
  JavaScript.
Every peer answers the same two functions (peers/functions.py). Runs alternate A B C D A B C D...
under one wrk grid (c16 and c64) and report medians, so the ratios hold on a noisy machine.
Results: benchmarks/results/peers.json and peers.md; with `--readme README.md` (as
scripts/run-benchmarks.sh runs it) also the README's table, between its `peers-table` markers,
with the date and the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import RESULTS, ROOT, WrkResult, free_port, machine, median, serve_as_readme, wrk
from peers.functions import REALISTIC, TRIVIAL, WORKERD_CONFIG, WORKERD_SCRIPT

PEERS_DIR = ROOT / "benchmarks" / "peers"
PAYLOAD = b'{"a": 1, "email": "user@example.com"}'
HEADERS = {"x-user": "alice"}
EXPECTED = {
    "trivial": {"ok": 1},
    "realistic": {"user": "alice", "email": "user@example.com", "total": 2470, "even": True},
}


@dataclass
class Peer:
    name: str
    urls: dict[str, str]  # workload -> URL


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def flux_edge(tmp: Path, workers: int) -> Iterator[Peer]:
    server = serve_as_readme(tmp / f"flux-edge-{workers}", workers=workers)
    try:
        with server.admin() as admin:
            for name, code in (("trivial", TRIVIAL), ("realistic", REALISTIC)):
                body = {"name": name, "code": code, "enabled": True}
                admin.post("/api/v1/functions", json=body).raise_for_status()
        label = "flux-edge" if workers == 1 else f"flux-edge --workers {workers}"
        base = server.url
        yield Peer(
            label,
            {
                "trivial": f"{base}/api/v1/functions/trivial/invoke",
                "realistic": f"{base}/api/v1/functions/realistic/invoke?n=20",
            },
        )
    finally:
        server.stop()


@contextmanager
def plain_litestar() -> Iterator[Peer]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(PEERS_DIR / "plain_litestar.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield Peer(
            "plain Litestar", {"trivial": f"{base}/trivial", "realistic": f"{base}/realistic?n=20"}
        )
    finally:
        process.terminate()
        process.wait(30)


def workerd_binary() -> Path | None:
    """workerd from peers/node_modules, installed with npm (pinned) when missing."""
    binary = PEERS_DIR / "node_modules" / ".bin" / "workerd"
    if not binary.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEERS_DIR,
            check=False,
        )
    return binary if binary.exists() else None


@contextmanager
def workerd(tmp: Path, binary: Path) -> Iterator[Peer]:
    port = free_port()
    folder = tmp / "workerd"
    folder.mkdir()
    (folder / "worker.js").write_text(WORKERD_SCRIPT)
    (folder / "config.capnp").write_text(WORKERD_CONFIG.replace("{port}", str(port)))
    process = subprocess.Popen(
        [str(binary), "serve", str(folder / "config.capnp")],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield Peer("workerd", {"trivial": f"{base}/trivial", "realistic": f"{base}/realistic?n=20"})
    finally:
        process.terminate()
        process.wait(30)


def check(peer: Peer) -> None:
    """Every peer must give the same answer before it is measured."""
    for workload, url in peer.urls.items():
        answer = httpx.post(url, content=PAYLOAD, headers=HEADERS, timeout=10)
        assert answer.status_code == 200, (peer.name, workload, answer.text)
        assert answer.json() == EXPECTED[workload], (peer.name, workload, answer.text)
        if workload == "realistic":
            assert answer.headers["x-total"] == "2470", (peer.name, answer.headers)


def summarize(runs: list[WrkResult]) -> dict[str, float]:
    return {
        "rps": round(median([r.requests_per_second for r in runs])),
        "p50_ms": round(median([r.p50_ms for r in runs]), 2),
        "p99_ms": round(median([r.p99_ms for r in runs]), 2),
        "errors": sum(r.errors for r in runs),
    }


def markdown(results: dict[str, dict[str, dict[str, float]]], peers: list[str]) -> str:
    lines = [
        "| workload, connections | " + " | ".join(peers) + " | flux-edge / Litestar |"
        " flux-edge / workerd |",
        "|---|" + "---:|" * (len(peers) + 2),
    ]
    for key, row in results.items():
        cells = [f"{row[p]['rps']:,} req/s, p50 {row[p]['p50_ms']} / p99 {row[p]['p99_ms']} ms"
                 if p in row else "-" for p in peers]  # fmt: skip
        flux = row.get("flux-edge", {}).get("rps")
        ratios = [
            f"{flux / row[p]['rps']:.2f}" if flux and p in row else "-"
            for p in ("plain Litestar", "workerd")
        ]
        lines.append(f"| {key} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines) + "\n"


README_START, README_END = "<!-- peers-table:start -->", "<!-- peers-table:end -->"


def machine_line(record: dict[str, Any]) -> str:
    """Date, CPU model, cores, memory, load and Python of this run, for the README."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = record.get("load_before")
    return (
        f"Measured {record['date']} on {record['cpus']} CPUs ({model}), {memory:.0f} GiB, "
        f"load average {load:.1f} at the start; Python {record['interpreter']}; wrk -t2 on the "
        f"same cores, {record['rounds']} alternating rounds of {record['seconds']} s, medians."
    )


def update_readme(readme: Path, record: dict[str, Any], table: str) -> None:
    """Replace the README's table between the peers-table markers with this run's."""
    text = readme.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} block")
    block = f"{README_START}\n{machine_line(record)}\n\n{table}{README_END}"
    readme.write_text(text[:start] + block + text[end + len(README_END) :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per peer")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--no-workers-2", action="store_true", help="skip flux-edge --workers 2")
    parser.add_argument("--readme", type=Path, help="also write the table into this README")
    args = parser.parse_args()

    binary = workerd_binary()
    if binary is None:
        print("workerd could not be installed (npm missing?): comparing with Litestar only")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        starters: list[Callable[[], Any]] = [
            lambda: flux_edge(tmp, 1),
            plain_litestar,
        ]
        if binary is not None:
            starters.append(lambda: workerd(tmp, binary))
        if not args.no_workers_2:
            starters.append(lambda: flux_edge(tmp, 2))
        with ExitStack() as stack:
            peers: list[Peer] = [stack.enter_context(start()) for start in starters]  # type: ignore[arg-type]
            for peer in peers:
                check(peer)
                for url in peer.urls.values():  # warm-up: isolates, JIT, connections
                    wrk(url, body=PAYLOAD, seconds=2, headers=HEADERS)
            runs: dict[str, dict[str, list[WrkResult]]] = {}
            for workload in ("trivial", "realistic"):
                for connections in args.connections:
                    key = f"{workload}, c{connections}"
                    runs[key] = {peer.name: [] for peer in peers}
                    for _ in range(args.rounds):
                        for peer in peers:
                            runs[key][peer.name].append(
                                wrk(
                                    peer.urls[workload],
                                    body=PAYLOAD,
                                    seconds=args.seconds,
                                    connections=connections,
                                    headers=HEADERS,
                                )
                            )
            names = [peer.name for peer in peers]
    results = {key: {name: summarize(r) for name, r in row.items()} for key, row in runs.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "peers",
        **machine(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "results": results,
    }
    (RESULTS / "peers.json").write_text(json.dumps(record, indent=2) + "\n")
    table = markdown(results, names)
    (RESULTS / "peers.md").write_text(
        f"Measured {record['date']}, {record['cpus']} CPUs.\n\n{table}"
    )
    if args.readme is not None:
        update_readme(args.readme, record, table)
    print(table)


if __name__ == "__main__":
    main()
