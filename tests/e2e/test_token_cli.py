"""`flux-edge token create|list|revoke` on the data dir of a running server."""

from __future__ import annotations

import os
import subprocess
import sys


def flux_edge(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", "token", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_created_token_works_at_once_on_a_running_server(start_server):
    server = start_server()
    created = flux_edge(server.data_dir, "create", "--name", "ci")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert server.client(token).get("/api/v1/functions").status_code == 200


def test_created_by_is_the_api_token_id(start_server):
    server = start_server()
    token = flux_edge(server.data_dir, "create", "--name", "deployer").stdout.strip()
    body = {"name": "by-token", "code": "function handler() { return 'x'; }"}
    created = server.client(token).post("/api/v1/functions", json=body)
    assert created.status_code == 201, created.text
    listed = flux_edge(server.data_dir, "list").stdout
    assert created.json()["created_by"] in listed


def test_list_shows_tokens_but_never_their_secrets(start_server):
    server = start_server()
    token = flux_edge(server.data_dir, "create", "--name", "listed").stdout.strip()
    listed = flux_edge(server.data_dir, "list")
    assert listed.returncode == 0
    assert "listed" in listed.stdout
    assert "active" in listed.stdout
    assert token not in listed.stdout


def test_a_revoked_token_is_refused_at_once(start_server):
    server = start_server()
    token = flux_edge(server.data_dir, "create", "--name", "short-lived").stdout.strip()
    client = server.client(token)
    assert client.get("/api/v1/functions").status_code == 200
    revoked = flux_edge(server.data_dir, "revoke", "short-lived")
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/api/v1/functions").status_code == 401
    assert "revoked" in flux_edge(server.data_dir, "list").stdout


def test_create_on_a_fresh_data_dir_prints_only_the_token(tmp_path):
    created = flux_edge(tmp_path / "fresh", "create", "--name", "first")
    assert created.returncode == 0, created.stderr
    assert len(created.stdout.splitlines()) == 1
    assert created.stdout.startswith("fe_")


def test_the_data_dir_may_follow_the_action(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    command = [sys.executable, "-m", "flux_edge", "token", "create", "--name", "late"]
    result = subprocess.run(
        [*command, "--data-dir", str(tmp_path / "late")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "late" in flux_edge(tmp_path / "late", "list").stdout


def test_revoking_an_unknown_token_fails(tmp_path):
    result = flux_edge(tmp_path / "data", "revoke", "nobody")
    assert result.returncode == 1
    assert "nobody" in result.stderr


def test_a_second_active_token_with_the_same_name_is_refused(tmp_path):
    assert flux_edge(tmp_path / "data", "create", "--name", "twice").returncode == 0
    again = flux_edge(tmp_path / "data", "create", "--name", "twice")
    assert again.returncode == 1
    assert again.stdout == ""


def test_a_token_name_must_be_simple(tmp_path):
    result = flux_edge(tmp_path / "data", "create", "--name", "no spaces/or slashes")
    assert result.returncode == 1
