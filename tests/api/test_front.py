"""The front of the app (flux_edge/front.py): `/health` and function calls are served without
Litestar, which is imported and built in a thread once the server has started."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from flux_edge.app import build_api
from flux_edge.front import FrontApp
from flux_edge.settings import load_settings

ADMIN = "front-test-admin-token-0123456789"
HELLO = """export default {
  fetch: (req) => Response.json({ method: req.method, path: new URL(req.url).pathname }),
};
"""


def _settings(tmp_path: Path) -> Any:
    return load_settings({"data_dir": tmp_path / "data", "admin_token": ADMIN}, environ={})


def test_the_serve_path_does_not_import_litestar_prometheus_or_websockets(tmp_path):
    # What `flux-edge serve` imports and loads before it answers /health: the HTTP API (Litestar),
    # the metrics files' library and the WebSocket protocol's come after, in a thread or on use.
    probe = (
        "import sys, uvicorn, flux_edge.serving, flux_edge.http.protocol as hp, flux_edge.app\n"
        "uvicorn.Config(flux_edge.app.app_from_environment, factory=True,\n"
        "    http=hp.BoundedHttpToolsProtocol, ws=hp.websocket_protocol).load()\n"
        "late = {'litestar', 'prometheus_client', 'websockets', 'wsproto'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in late))"
    )
    env = {**os.environ, "FLUX_EDGE_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_request_for_the_api_waits_until_it_is_built(tmp_path):
    gate = threading.Event()

    def slow_build(settings: Any, state: dict[str, Any]) -> Any:
        gate.wait(30)
        return build_api(settings, state)

    with (
        TestClient(FrontApp(_settings(tmp_path), slow_build)) as client,
        ThreadPoolExecutor() as pool,
    ):
        assert client.get("/health").json() == {"status": "ok"}
        # A call is served while the API is not built yet.
        missing = client.post("/api/v1/functions/none/invoke")
        assert missing.status_code == 404
        assert missing.json()["error"] == "Function not found"
        waiting = pool.submit(
            client.get, "/api/v1/functions", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        wait([waiting], timeout=0.5)
        assert not waiting.done()  # held while the API is being built
        gate.set()
        listed = waiting.result(timeout=30)
        assert listed.status_code == 200, listed.text
        assert listed.json() == []


def test_calls_are_served_when_the_api_fails_to_build(tmp_path):
    def broken_build(settings: Any, state: dict[str, Any]) -> Any:
        raise RuntimeError("no API today")

    with TestClient(FrontApp(_settings(tmp_path), broken_build)) as client:
        refused = client.get("/api/v1/functions", headers={"Authorization": f"Bearer {ADMIN}"})
        assert refused.status_code == 500
        assert "api_build_failed" in refused.json()["message"]
        assert client.get("/health").status_code == 200
        answered = client.request("PROPFIND", "/api/v1/functions/none/invoke/x")
        assert answered.status_code == 404
        assert answered.headers["content-type"] == "application/json"


def test_the_api_shares_the_fronts_state(tmp_path):
    """What the front started (services, rate limiter) is what the API's handlers use."""
    app = FrontApp(_settings(tmp_path), build_api)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(app) as client:
        created = client.post(
            "/api/v1/functions",
            json={"name": "hello", "code": HELLO, "enabled": True},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        called = client.request("PATCH", "/api/v1/functions/hello/invoke")
        assert called.json() == {"method": "PATCH", "path": "/hello"}
        assert called.headers["x-ratelimit-limit"]  # the front's limiter counted it
        supabase = client.get("/functions/v1/hello/sub")
        assert supabase.json() == {"method": "GET", "path": "/hello/sub"}


def test_the_apis_own_function_routes_answer_as_the_front_does(tmp_path):
    """The Litestar routes of the function paths (kept for the OpenAPI schema) delegate to the
    same answers; the front takes every request they list, so they are reached only by serving
    the API without the front, as under /alone here (in the front's loop, where its services
    live)."""
    front = FrontApp(_settings(tmp_path), build_api)
    alone: list[Any] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/alone/"):
            if not alone:
                alone.append(build_api(front.settings, front.state))  # the front's services
            path = scope["path"].removeprefix("/alone")
            scope = {**scope, "path": path, "raw_path": path.encode()}
            await alone[0](scope, receive, send)
            return
        await front(scope, receive, send)

    headers = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(app) as client:
        body = {"name": "hello", "code": HELLO, "enabled": True}
        assert client.post("/api/v1/functions", json=body, headers=headers).status_code == 201
        assert client.put("/alone/api/v1/functions/hello/invoke/x").json() == {
            "method": "PUT",
            "path": "/hello/x",
        }
        assert client.delete("/alone/functions/v1/hello/y").json() == {
            "method": "DELETE",
            "path": "/hello/y",
        }
        missing = client.get("/alone/functions/v1/none")
        assert missing.status_code == 404
        assert missing.headers["x-relay-error"] == "true"
