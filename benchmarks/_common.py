"""Helpers shared by the benchmarks: a server process, wrk runs, result files."""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from flux_edge.interpreter import describe, interpreter_build

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ADMIN = "bench-admin-token"

TRIVIAL_HANDLER = (
    "async function handler(req) {\n"
    "  const data = JSON.parse(req.body);\n"
    "  return { status: 200, body: JSON.stringify({ ok: data.a }) };\n"
    "}"
)
PAYLOAD = b'{"a": 1, "email": "user@example.com"}'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchServer:
    process: subprocess.Popen[bytes]
    url: str

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(
    data_dir: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> BenchServer:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update(
        {
            "FLUX_EDGE_ADMIN_TOKEN": ADMIN,
            "FLUX_EDGE_DATA_DIR": str(data_dir),
            "FLUX_EDGE_RATE_LIMITS": "off",
            "FLUX_EDGE_LOG_LEVEL": "warning",
            "FLUX_EDGE_WORKERS": str(workers),
        }
    )
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "_server.py"), str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_SERVER_STDERR") else subprocess.DEVNULL,
    )
    return _healthy(process, f"http://127.0.0.1:{port}")


def _healthy(process: subprocess.Popen[bytes], url: str) -> BenchServer:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return BenchServer(process, url)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("bench server did not start")


def serve_as_readme(data_dir: Path, workers: int = 1) -> BenchServer:
    """`flux-edge serve` as the README starts it (default settings; rate limits off, or a
    benchmark's deploys and calls would be answered 429), in a process of its own."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update({"FLUX_EDGE_ADMIN_TOKEN": ADMIN, "FLUX_EDGE_RATE_LIMITS": "off"})
    command = [sys.executable, "-m", "flux_edge", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    if workers != 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_SERVER_STDERR") else subprocess.DEVNULL,
    )
    return _healthy(process, f"http://127.0.0.1:{port}")


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0  # completed in the run


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(
    url: str,
    *,
    body: bytes,
    seconds: int,
    connections: int = 16,
    threads: int = 2,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """One wrk run POSTing `body`; wrk shares the machine's cores with the server."""
    script = Path(tempfile.gettempdir()) / f"flux-edge-bench-post-{os.getpid()}.lua"
    extra = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in (headers or {}).items()
    )
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n' + extra
    )
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return WrkResult(rps, p50, p99, errors, requests)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def machine() -> dict[str, object]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "interpreter": interpreter(),
        "load_before": load,
    }


def interpreter() -> str:
    """Which Python ran the benchmark and how its libpython was built, which moves flux-edge's
    (and plain Litestar's) requests per second by 10-20 % (docs/install.md, "Which Python")."""
    return describe(interpreter_build())


def write_result(name: str, result: dict[str, object]) -> None:
    """Save under benchmarks/results/NAME.json and print one JSON line for the runner."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, **machine(), **result}
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
