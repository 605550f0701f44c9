"""`flux-edge functions export|import` as subprocesses against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ADMIN_TOKEN
from tests.e2e.cli_run import flux_edge_on_terminal


def flux_edge(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update({"FLUX_EDGE_URL": url, "FLUX_EDGE_TOKEN": ADMIN_TOKEN})
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", "functions", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_export_then_import_recreates_versions_settings_and_env(start_server, tmp_path):
    source = start_server(tmp_path / "source")
    admin = source.client(ADMIN_TOKEN)
    code = "export default { fetch: () => new Response(`v%d ${Deno.env.get('GREETING')}`) }"
    create = {"name": "moved", "code": code % 1, "enabled": True, "timeout_seconds": 7,
              "allow_unauthenticated": False, "env": {"GREETING": "hi"}}  # fmt: skip
    assert admin.post("/api/v1/functions", json=create).status_code == 201
    assert admin.put("/api/v1/functions/moved", json={"code": code % 2}).status_code == 200
    assert admin.put("/api/v1/functions/moved", json={"code": code % 3}).status_code == 200
    rollback = admin.post("/api/v1/functions/moved/rollback", json={"version": 2})
    assert rollback.status_code == 200
    export_file = tmp_path / "functions.json"
    exported = flux_edge(source.url, "export", str(export_file))
    assert exported.returncode == 0, exported.stderr
    document = json.loads(export_file.read_text())
    assert "hi" not in export_file.read_text()  # env values never leave the server
    assert [v["version"] for v in document["functions"][0]["versions"]] == [1, 2, 3, 4]

    target = start_server(tmp_path / "target")
    env_file = tmp_path / ".env"
    env_file.write_text("GREETING=hello\nUNUSED=x\n")
    imported = flux_edge(target.url, "import", str(export_file), "--env-file", str(env_file))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "imported moved (4 versions)"
    assert imported.stderr == ""  # piped: no progress
    new_admin = target.client(ADMIN_TOKEN)
    assert new_admin.post("/api/v1/functions/moved/invoke").text == "v2 hello"
    assert target.client().post("/api/v1/functions/moved/invoke").status_code == 401
    function = new_admin.get("/api/v1/functions/moved").json()
    assert function["timeout_seconds"] == 7
    assert function["env_names"] == ["GREETING"]

    again = flux_edge(target.url, "import", str(export_file))
    assert again.returncode == 1
    assert again.stderr.startswith("flux-edge: creating moved: 409")
    assert len(again.stderr.strip().splitlines()) == 1

    # On a terminal, each version's upload shows on stderr; stdout keeps the summary only.
    third = start_server(tmp_path / "third")
    status, out, shown = flux_edge_on_terminal(
        "functions", "import", str(export_file),
        env={"FLUX_EDGE_URL": third.url, "FLUX_EDGE_TOKEN": ADMIN_TOKEN},
    )  # fmt: skip
    assert status == 0, shown
    assert out == "imported moved (4 versions); env without values: GREETING\n"
    for version in (1, 2, 3, 4):
        assert f"import: function 1 of 1, moved: version {version} of 4" in shown
    assert third.client().post("/api/v1/functions/moved/invoke").status_code == 401
