"""`flux-edge token create|list|revoke` on the data dir of a running server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from flux_edge.store.sqlite import SQLiteStore


def flux_edge(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", "token", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def data_dir(tmp_path):
    """A data dir whose database exists, as a server's first start leaves it."""
    path = tmp_path / "data"

    async def create():
        store = await SQLiteStore.open(path / "flux-edge.db")
        await store.close()

    asyncio.run(create())
    return path


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


def test_create_prints_only_the_token_on_stdout(data_dir):
    created = flux_edge(data_dir, "create", "--name", "first")
    assert created.returncode == 0, created.stderr
    assert len(created.stdout.splitlines()) == 1
    assert created.stdout.startswith("fe_")
    assert f"data dir: {data_dir}" in created.stderr


def test_a_data_dir_without_a_database_is_refused_and_left_alone(tmp_path):
    missing = tmp_path / "elsewhere"
    for args in (("create", "--name", "lost"), ("list",), ("create", "--admin")):
        result = flux_edge(missing, *args)
        assert result.returncode == 1
        assert result.stdout == ""
        assert str(missing / "flux-edge.db") in result.stderr
    assert not missing.exists()


def test_the_data_dir_may_follow_the_action(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    command = [sys.executable, "-m", "flux_edge", "token", "create", "--name", "late"]
    result = subprocess.run(
        [*command, "--data-dir", str(data_dir)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "late" in flux_edge(data_dir, "list").stdout


def test_revoking_an_unknown_token_fails(data_dir):
    result = flux_edge(data_dir, "revoke", "nobody")
    assert result.returncode == 1
    assert "nobody" in result.stderr


def test_a_second_active_token_with_the_same_name_is_refused(data_dir):
    assert flux_edge(data_dir, "create", "--name", "twice").returncode == 0
    again = flux_edge(data_dir, "create", "--name", "twice")
    assert again.returncode == 1
    assert again.stdout == ""


def test_a_token_name_must_be_simple(data_dir):
    result = flux_edge(data_dir, "create", "--name", "no spaces/or slashes")
    assert result.returncode == 1
    result = flux_edge(data_dir, "create", "--name", "trailing-newline\n")
    assert result.returncode == 1


def test_a_lost_admin_token_is_replaced_and_the_restarted_server_takes_it(start_server, tmp_path):
    server = start_server(admin_token=None)
    first = server.stderr()
    assert "admin token: " in first
    server.stop()
    replaced = flux_edge(server.data_dir, "create", "--admin")
    assert replaced.returncode == 0, replaced.stderr
    new_token = replaced.stdout.strip()
    restarted = start_server(server.data_dir, admin_token=None)
    assert "token create --admin" in restarted.stderr()
    assert restarted.client(new_token).get("/api/v1/functions").status_code == 200


def test_an_invoke_scoped_token_invokes_private_functions_but_cannot_manage(start_server):
    server = start_server()
    created = flux_edge(server.data_dir, "create", "--name", "caller", "--scope", "invoke")
    assert created.returncode == 0, created.stderr
    assert "scope invoke" in created.stderr
    invoker = server.client(created.stdout.strip())
    admin = server.client(server.admin_token)
    body = {"name": "private", "code": "function handler() { return 'secret' }",
            "allow_unauthenticated": False, "enabled": True}  # fmt: skip
    assert admin.post("/api/v1/functions", json=body).status_code == 201
    assert invoker.post("/api/v1/functions/private/invoke").text == "secret"
    assert server.client().post("/api/v1/functions/private/invoke").status_code == 401
    for method, path in [
        ("GET", "/api/v1/functions"),
        ("DELETE", "/api/v1/functions/private"),
        ("PUT", "/api/v1/functions/private"),
        ("GET", "/api/v1/functions/private/executions"),
    ]:
        refused = invoker.request(method, path, json={"code": "function handler() {}"})
        assert refused.status_code == 403, (method, path, refused.text)
        assert "scope 'invoke'" in refused.json()["message"]
    assert admin.get("/api/v1/functions/private").status_code == 200
    listed = flux_edge(server.data_dir, "list").stdout
    assert "caller  scope invoke" in listed


def test_a_token_made_without_a_scope_manages(start_server):
    server = start_server()
    created = flux_edge(server.data_dir, "create", "--name", "deployer")
    assert "scope manage" in created.stderr
    assert "deployer  scope manage" in flux_edge(server.data_dir, "list").stdout


def test_an_unknown_scope_is_refused(data_dir):
    refused = flux_edge(data_dir, "create", "--name", "x", "--scope", "root")
    assert refused.returncode == 2
    assert "'root' is not one of 'manage', 'invoke'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
