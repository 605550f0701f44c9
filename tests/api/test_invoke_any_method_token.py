"""Any method token reaches the function when the HTTP parser accepts it: with uvicorn's `h11`
parser (which, unlike httptools, takes any token), a made-up method runs the function."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, JWT_SECRET, free_port


@pytest.fixture
def h11_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update(
        {
            "FLUX_EDGE_DATA_DIR": str(tmp_path / "data"),
            "FLUX_EDGE_ADMIN_TOKEN": ADMIN_TOKEN,
            "FLUX_EDGE_JWT_SECRET": JWT_SECRET,
            "FLUX_EDGE_RATE_LIMITS": "off",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "flux_edge.app:app_from_environment", "--factory",
         "--http", "h11", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the isolate hosts go with it
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the h11 server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def test_a_made_up_method_token_reaches_the_function(h11_server):
    admin = httpx.Client(base_url=h11_server, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    code = "export default (req) => new Response(req.method + ' ' + new URL(req.url).pathname);"
    created = admin.post(
        "/api/v1/functions", json={"name": "tokens", "code": code, "enabled": True}
    )
    assert created.status_code == 201, created.text
    with httpx.Client(base_url=h11_server) as anonymous:
        for method in ("X-CUSTOM_1", "BREW", "M-SEARCH"):
            response = anonymous.request(method, "/api/v1/functions/tokens/invoke/a/b")
            assert (response.status_code, response.text) == (200, f"{method} /tokens/a/b")
        refused = anonymous.request("BREW", "/api/v1/functions")
        assert refused.status_code == 405
    admin.close()
