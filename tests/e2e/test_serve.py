"""`flux-edge serve` as an operator runs it: first start, restarts, signals, workers, logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import flux_edge

HANDLER = "function handler() { return { status: 200, body: 'ok' }; }"


def stopped_gracefully(server, sig=signal.SIGTERM):
    """Stop with `sig`; True when the app's shutdown hook ran and the process ended by itself.

    uvicorn re-raises the signal after its graceful shutdown, so the exit status is -sig.
    """
    code = server.stop(sig)
    events = [json.loads(line).get("event") for line in server.stdout().splitlines()]
    return code in (0, -sig) and "stopped" in events


def admin_token_lines(server):
    return [line for line in server.stderr().splitlines() if line.startswith("admin token: ")]


def test_first_start_prints_a_working_admin_token_once(start_server, tmp_path):
    first = start_server(tmp_path / "data", admin_token=None)
    lines = admin_token_lines(first)
    assert len(lines) == 1
    token = lines[0].removeprefix("admin token: ")
    assert first.client(token).get("/api/v1/functions").status_code == 200
    assert stopped_gracefully(first)

    second = start_server(tmp_path / "data", admin_token=None)
    assert admin_token_lines(second) == []
    assert second.client(token).get("/api/v1/functions").status_code == 200


def serve_until_exit(*args, timeout=20):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    command = [sys.executable, "-m", "flux_edge", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def test_a_first_start_that_cannot_listen_keeps_the_admin_token_for_the_next(
    start_server, tmp_path
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = serve_until_exit("--port", str(port), "--data-dir", str(tmp_path / "data"))
    assert failed.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in failed.stderr
    assert "admin token: " not in failed.stderr
    later = start_server(tmp_path / "data", admin_token=None)
    [line] = admin_token_lines(later)
    token = line.removeprefix("admin token: ")
    assert later.client(token).get("/api/v1/functions").status_code == 200


def test_an_out_of_range_port_exits_at_once_with_one_line(tmp_path):
    result = serve_until_exit("--port", "70000", "--data-dir", str(tmp_path / "data"), timeout=10)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "flux-edge: invalid setting: Expected `int` <= 65535 - at `$.port`"
    ]


def test_the_generated_admin_token_is_stored_only_as_a_hash(start_server, tmp_path):
    server = start_server(tmp_path / "data", admin_token=None)
    token = admin_token_lines(server)[0].removeprefix("admin token: ")
    server.stop()
    assert token.encode() not in server.database_path.read_bytes()


def test_a_configured_admin_token_means_nothing_is_generated(start_server):
    server = start_server()
    assert admin_token_lines(server) == []
    assert server.client(server.admin_token).get("/api/v1/functions").status_code == 200


def test_a_restart_on_the_same_data_dir_keeps_everything(start_server, tmp_path):
    first = start_server(tmp_path / "data")
    admin = first.client(first.admin_token)
    created = admin.post("/api/v1/functions", json={"name": "kept", "code": HANDLER}).json()
    admin.put("/api/v1/functions/kept", json={"enabled": True, "env": {"KEY": "v"}})
    before = admin.get("/api/v1/functions/kept").json()
    assert stopped_gracefully(first)

    second = start_server(tmp_path / "data")
    admin = second.client(second.admin_token)
    after = admin.get("/api/v1/functions/kept").json()
    assert after == before
    assert after["id"] == created["id"]
    assert [v["version"] for v in admin.get("/api/v1/functions/kept/versions").json()] == [1, 2]


def test_sigterm_shuts_down_cleanly(start_server):
    server = start_server()
    assert stopped_gracefully(server, signal.SIGTERM)


def test_sigint_shuts_down_cleanly(start_server):
    server = start_server()
    assert stopped_gracefully(server, signal.SIGINT)


def test_two_worker_processes_share_one_database(start_server):
    server = start_server(args=["--workers", "2"])
    admin = server.client(server.admin_token)
    created = admin.post("/api/v1/functions", json={"name": "shared", "code": HANDLER})
    assert created.status_code == 201, created.text
    # Fresh connections land on either worker; every one of them sees the function.
    for _ in range(8):
        with server.client(server.admin_token) as fresh:
            assert fresh.get("/api/v1/functions/shared").status_code == 200


def test_workers_are_forked_from_the_server_with_its_modules_imported(start_server):
    server = start_server(args=["--workers", "2"])
    parent = server.process.pid
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children]
    # Two workers and the isolate hosts' zygote they share. A spawned worker would be a fresh
    # interpreter (`python -c "from multiprocessing.spawn ..."`).
    command = Path(f"/proc/{parent}/cmdline").read_bytes()
    assert sorted(commands, key=lambda c: c != command)[:2] == [command, command]
    assert len(commands) == 3
    assert b"zygote" in next(c for c in commands if c != command)
    # The supervisor forks with no other thread running (a fork copies only the calling thread).
    assert os.listdir(f"/proc/{parent}/task") == [str(parent)]
    admin = server.client(server.admin_token)
    created = admin.post("/api/v1/functions", json={"name": "f", "code": HANDLER, "enabled": True})
    assert created.status_code == 201
    for _ in range(8):
        with server.client(server.admin_token) as fresh:
            assert fresh.post("/api/v1/functions/f/invoke").text == "ok"


def test_the_console_log_format_is_readable_text(start_server):
    server = start_server(extra_env={"FLUX_EDGE_LOG_FORMAT": "console"})
    server.client().get("/health")
    server.stop()
    assert "request" in server.stdout()
    assert not any(line.startswith("{") for line in server.stdout().splitlines())


def test_version_prints_the_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "flux_edge", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().startswith(f"flux-edge {flux_edge.__version__}")
