"""Server start-up: exec to the first answer, for flux-edge and the peers of bench_peers.py.

- flux-edge (pip): `flux-edge serve` from the venv given by --venv (default: this interpreter's),
  timed to the first 200 on /health;
- flux-edge (binary): dist/flux-edge when it exists, the same way, after its first start (which
  unpacks the build, timed and reported on its own);
- plain Litestar (peers/plain_litestar.py on uvicorn) and workerd: to their first HTTP answer of
  any status (neither has a /health route).
Runs alternate between the servers; medians, 90th percentiles and minima are reported. For
flux-edge also: the CPU time its processes used until healthy (user + system, from /proc: on a
shared machine a steadier figure than wall time), and the first cold start of the fresh server
(create a function, then its first response; the server's spare isolate hosts boot in the
background after start, so this is what a deploy right after a start sees), and a restart of that
server on its data dir, from exec to the first answer of the function it already has. Measure the pip install
in a venv without test extras (`pip install -c constraints.txt -e .`): test packages change what
imports cost. flux-edge's own modules are compiled to bytecode first (`compileall`), as a user's
are: `pip install .` compiles them, and an editable install writes them on its first start, except
where PYTHONDONTWRITEBYTECODE is set (as on the project's machine, where every start would
otherwise compile its modules from source: ~1,000 ms a start instead of ~850). Results: benchmarks/results/startup.json.
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

import httpx
from _common import ADMIN, PAYLOAD, RESULTS, ROOT, TRIVIAL_HANDLER, free_port, machine, median, p90
from bench_peers import PEERS_DIR, workerd_binary
from peers.functions import WORKERD_CONFIG, WORKERD_SCRIPT

POLL_SECONDS = 0.002
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """User + system CPU time of `pid` and its live children, in ms (0 once it is gone)."""
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    for each in [str(pid), *kids]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICKS
    return total


def first_cold_start_ms(port: int) -> float:
    """Create a function on a server that just became healthy, then time to its first response."""
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
        client.get("/health")  # the connection is open before timing, as in bench_cold_start
        started = time.perf_counter()
        created = client.post(
            "/api/v1/functions", json={"name": "first", "code": TRIVIAL_HANDLER, "enabled": True}
        )
        response = client.post("/api/v1/functions/first/invoke", content=PAYLOAD)
        elapsed = (time.perf_counter() - started) * 1000
    assert created.status_code == 201, created.text
    assert response.json() == {"ok": 1}, response.text
    return elapsed


def first_answer(
    port: int,
    path: str,
    want_200: bool,
    process: subprocess.Popen[bytes],
    body: bytes | None = None,
) -> None:
    """Polls with raw HTTP/1.0 requests (a POST of `body` when given) until the server answers
    (with 200 when `want_200`)."""
    request = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    if body is not None:
        request = (
            f"POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
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


def time_start(
    command: list[str],
    path: str,
    want_200: bool,
    port: int,
    extra: dict[str, list[float]] | None = None,
    body: bytes | None = None,
    **popen: object,
) -> float:
    """Milliseconds from exec to the first answer; the server is stopped afterwards. With
    `extra` (flux-edge), its CPU time until healthy and its first cold start are added there."""
    started = time.perf_counter()
    process = subprocess.Popen(  # type: ignore[call-overload]
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen
    )
    try:
        first_answer(port, path, want_200, process, body)
        elapsed = (time.perf_counter() - started) * 1000
        if extra is not None:
            extra["cpu_ms"].append(cpu_ms(process.pid))
            extra["first_cold_start_ms"].append(first_cold_start_ms(port))
        return elapsed
    finally:
        process.terminate()
        process.wait(30)


def compile_package(venv: Path) -> str:
    """Compile the venv's flux_edge to bytecode, as an install that has run once has it."""
    python = str(venv / "bin" / "python")
    where = subprocess.run(
        [python, "-c", "import flux_edge, os; print(os.path.dirname(flux_edge.__file__))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run([python, "-m", "compileall", "-q", where], check=True, stdout=subprocess.DEVNULL)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--venv", type=Path, default=Path(sys.executable).parent.parent)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env["FLUX_EDGE_ADMIN_TOKEN"] = ADMIN
    compiled = compile_package(args.venv)
    workerd = workerd_binary()
    binary = ROOT / "dist" / "flux-edge"
    first_binary_start: float | None = None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # The binary unpacks itself on its first start (packaging/unpack.sh): into a fresh folder
        # here, so that start is timed on its own and the rounds time the starts that follow.
        env["FLUX_EDGE_UNPACK_DIR"] = str(tmp / "unpacked")

        def flux(executable: Path, name: str) -> float:
            port = free_port()
            data = tempfile.mkdtemp(dir=tmp)
            command = [str(executable), "serve", "--port", str(port), "--data-dir", data]
            healthy = time_start(command, "/health", True, port, extras[name], env=env)
            # A restart: the same data dir, which now holds the function `first`, timed from
            # exec to that function's first answer.
            port = free_port()
            command = [str(executable), "serve", "--port", str(port), "--data-dir", data]
            invoke = "/api/v1/functions/first/invoke"
            restart = time_start(command, invoke, True, port, body=PAYLOAD, env=env)
            extras[name]["restart_first_call_ms"].append(restart)
            return healthy

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

        servers = {
            "flux-edge (pip)": lambda: flux(args.venv / "bin" / "flux-edge", "flux-edge (pip)")
        }
        if binary.exists():
            servers["flux-edge (binary)"] = lambda: flux(binary, "flux-edge (binary)")
        extras: dict[str, dict[str, list[float]]] = {
            name: {"cpu_ms": [], "first_cold_start_ms": [], "restart_first_call_ms": []}
            for name in servers
        }
        servers["plain Litestar"] = litestar
        if workerd is not None:
            servers["workerd"] = workerd_start
        times: dict[str, list[float]] = {name: [] for name in servers}
        if binary.exists():
            first_binary_start = servers["flux-edge (binary)"]()
            for values in extras["flux-edge (binary)"].values():
                values.clear()
        for _ in range(args.rounds):
            for name, start in servers.items():
                times[name].append(start())
    results: dict[str, dict[str, float]] = {
        name: {
            "median_ms": round(median(v), 1),
            "p90_ms": round(p90(v), 1),
            "min_ms": round(min(v), 1),
            "runs": len(v),
        }
        for name, v in times.items()
    }
    for name, figures in extras.items():
        for key, values in figures.items():
            stem = key.removesuffix("_ms")
            results[name][f"{stem}_median_ms"] = round(median(values), 1)
            results[name][f"{stem}_p90_ms"] = round(p90(values), 1)
    if first_binary_start is not None:
        results["flux-edge (binary)"]["first_start_unpacking_ms"] = round(first_binary_start, 1)
    targets = {"flux-edge (pip)": 300, "flux-edge (binary)": 500, "first_cold_start_p50": 15}
    record = {
        "benchmark": "startup",
        **machine(),
        "venv": str(args.venv),
        "bytecode_compiled": compiled,
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "targets_ms": targets,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"exec -> first answer, load average {record.get('load_before')}")
    for name, row in results.items():
        line = f"  {name:20} median {row['median_ms']:7.1f}  p90 {row['p90_ms']:7.1f}  min {row['min_ms']:7.1f} ms"
        if "cpu_median_ms" in row:
            line += (
                f"   CPU {row['cpu_median_ms']:6.1f} ms"
                f"   first cold start median {row['first_cold_start_median_ms']:6.1f}"
                f" p90 {row['first_cold_start_p90_ms']:6.1f} ms"
                f"   restart -> first call median {row['restart_first_call_median_ms']:6.1f} ms"
            )
        print(line)
    if first_binary_start is not None:
        print(
            f"  flux-edge (binary): its first start, which unpacks it, {first_binary_start:.1f} ms"
        )


if __name__ == "__main__":
    main()
