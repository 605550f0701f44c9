"""Through a real server process: a deployed function fetches from a local server that
FLUX_EDGE_NET_ALLOW opens, and never sees the server's own environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ADMIN_TOKEN
from tests.runtime.capabilities.conftest import LocalServer

CODE = """
async function handler(req) {
  const target = JSON.parse(req.body).url;
  const r = await fetch(target, { method: "POST", body: "from the function" });
  const seen = await r.json();
  return { status: 200, body: { upstream: r.status, method: seen.method, env: Deno.env.toObject() } };
}
"""


def test_a_deployed_function_fetches_from_an_allowed_local_server(
    start_server: Any, local_server: LocalServer, tmp_path: Path
):
    server = start_server(
        tmp_path / "data",
        extra_env={
            "FLUX_EDGE_NET_ALLOW": "127.0.0.0/8",
            "FLUX_EDGE_SECRET_CANARY": "server-only-value",
        },
    )
    admin = server.client(ADMIN_TOKEN)
    created = admin.post(
        "/api/v1/functions",
        json={
            "name": "fetcher",
            "code": CODE,
            "enabled": True,
            "allow_net": True,
            "allow_env": True,
            "env": {"OWN": "mine"},
        },
    )
    assert created.status_code == 201, created.text
    response = admin.post(
        "/api/v1/functions/fetcher/invoke", json={"url": f"{local_server.url}/echo"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"upstream": 200, "method": "POST", "env": {"OWN": "mine"}}
    assert local_server.requests[-1]["method"] == "POST"
