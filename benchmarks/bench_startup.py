"""Server start-up: exec to the first answer, for flux-edge and the peers of bench_peers.py.

- flux-edge (pip): `flux-edge serve` from the venv given by --venv (default: this interpreter's),
  timed to the first 200 on /health;
- flux-edge (binary): dist/flux-edge when it exists, the same way;
- plain Litestar (peers/plain_litestar.py on uvicorn) and workerd: to their first HTTP answer of
  any status (neither has a /health route).
Runs alternate between the servers; medians and minima are reported. Measure the pip install in a
venv without test extras (`pip install -c constraints.txt -e .`): test packages change what
imports cost. Results: benchmarks/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ADMIN, RESULTS, ROOT, free_port, machine, median
from bench_peers import PEERS_DIR, workerd_binary
from peers.functions import WORKERD_CONFIG, WORKERD_SCRIPT

POLL_SECONDS = 0.002


def first_answer(port: int, path: str, want_200: bool, process: subprocess.Popen[bytes]) -> None:
    """Polls with raw HTTP/1.0 requests until the server answers (with 200 when `want_200`)."""
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before answering")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request)
                head = sock.recv(64)
            if head.startswith(b"HTTP/") and (not want_200 or head.split()[1] == b"200"):
                return
        except OSError:
            pass
        time.sleep(POLL_SECONDS)
    raise RuntimeError("no answer within 60 s")


def time_start(command: list[str], path: str, want_200: bool, port: int, **popen: object) -> float:
    """Milliseconds from exec to the first answer; the server is stopped afterwards."""
    started = time.perf_counter()
    process = subprocess.Popen(  # type: ignore[call-overload]
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen
    )
    try:
        first_answer(port, path, want_200, process)
        return (time.perf_counter() - started) * 1000
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--venv", type=Path, default=Path(sys.executable).parent.parent)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env["FLUX_EDGE_ADMIN_TOKEN"] = ADMIN
    workerd = workerd_binary()
    binary = ROOT / "dist" / "flux-edge"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)

        def flux(executable: Path) -> float:
            port = free_port()
            data = tempfile.mkdtemp(dir=tmp)
            command = [str(executable), "serve", "--port", str(port), "--data-dir", data]
            return time_start(command, "/health", True, port, env=env)

        def litestar() -> float:
            port = free_port()
            command = [
                str(args.venv / "bin" / "python"),
                str(PEERS_DIR / "plain_litestar.py"),
                str(port),
            ]
            return time_start(command, "/", False, port)

        def workerd_start() -> float:
            assert workerd is not None
            port = free_port()
            folder = Path(tempfile.mkdtemp(dir=tmp))
            (folder / "worker.js").write_text(WORKERD_SCRIPT)
            (folder / "config.capnp").write_text(WORKERD_CONFIG.replace("{port}", str(port)))
            command = [str(workerd), "serve", str(folder / "config.capnp")]
            return time_start(command, "/", False, port, cwd=folder)

        servers = {"flux-edge (pip)": lambda: flux(args.venv / "bin" / "flux-edge")}
        if binary.exists():
            servers["flux-edge (binary)"] = lambda: flux(binary)
        servers["plain Litestar"] = litestar
        if workerd is not None:
            servers["workerd"] = workerd_start
        times: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, start in servers.items():
                times[name].append(start())
    results = {
        name: {"median_ms": round(median(v), 1), "min_ms": round(min(v), 1), "runs": len(v)}
        for name, v in times.items()
    }
    record = {"benchmark": "startup", **machine(), "venv": str(args.venv), "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"exec -> first answer, load average {record.get('load_before')}")
    for name, row in results.items():
        print(f"  {name:22} median {row['median_ms']:7.1f} ms   min {row['min_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
