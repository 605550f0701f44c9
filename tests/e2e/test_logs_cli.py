"""`flux-edge logs NAME [--follow]` as a subprocess against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN

CODE = "function handler(req) { console.log('got', req.body); return 'ok'; }"


def _env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    return {**clean, **extra}


def _deploy(admin: httpx.Client, name: str) -> None:
    created = admin.post("/api/v1/functions", json={"name": name, "code": CODE, "enabled": True})
    assert created.status_code == 201, created.text


def _wait_for_summary(admin: httpx.Client, name: str, execution_id: str) -> None:
    """The call's summary is published just after its response: wait until the buffer has it."""
    for _ in range(100):
        buffered = admin.get(f"/api/v1/functions/{name}/logs", params={"follow": "false"})
        if "event: execution" in buffered.text and execution_id in buffered.text:
            return
        time.sleep(0.05)
    raise AssertionError(f"no summary of {execution_id} in {buffered.text!r}")


def test_logs_prints_buffered_lines_and_summaries(server, admin, fname: str) -> None:
    _deploy(admin, fname)
    invoked = admin.post(f"/api/v1/functions/{fname}/invoke", content="apples")
    execution_id = invoked.headers["x-flux-execution-id"]
    _wait_for_summary(admin, fname, execution_id)
    done = subprocess.run(
        [sys.executable, "-m", "flux_edge", "logs", fname, "--url", server.url],
        capture_output=True, text=True, timeout=60, check=False,
        env=_env(FLUX_EDGE_TOKEN=ADMIN_TOKEN),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"[{execution_id[:8]}] log: got apples"
    assert "success 200 in " in done.stdout
    assert f"(execution {execution_id})" in done.stdout


def test_logs_follow_with_token_from_config_file(server, admin, fname: str, tmp_path: Path) -> None:
    _deploy(admin, fname)
    config = tmp_path / "config" / "flux-edge" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"url": server.url, "token": ADMIN_TOKEN}))
    follower = subprocess.Popen(
        [sys.executable, "-m", "flux_edge", "logs", fname, "--follow", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(XDG_CONFIG_HOME=str(tmp_path / "config")),
    )  # fmt: skip
    try:
        time.sleep(1.5)  # usually connected by now; if not, the buffer replays the call
        invoked = admin.post(f"/api/v1/functions/{fname}/invoke", content="pears")
        assert follower.stdout is not None
        first, second = follower.stdout.readline(), follower.stdout.readline()
    finally:
        follower.terminate()
        follower.wait(10)
    console, summary = json.loads(first), json.loads(second)
    execution_id = invoked.headers["x-flux-execution-id"]
    assert console["event"] == "console"
    assert console["message"] == "got pears"
    assert summary["event"] == "execution"
    assert summary["execution_id"] == execution_id
    assert summary["status"] == "success"
    assert summary["status_code"] == 200


def test_logs_without_a_token_fails_with_one_line(server, fname: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flux_edge", "logs", fname, "--url", server.url],
        capture_output=True, text=True, timeout=60, check=False,
        env=_env(XDG_CONFIG_HOME=str(tmp_path)),
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"flux-edge: {fname}: ")
    assert done.stderr.count("\n") == 1
