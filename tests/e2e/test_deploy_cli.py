"""`flux-edge functions deploy`: a Supabase-style folder or one file, uploaded to a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.e2e.cli_run import flux_edge_on_terminal

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", "functions", "deploy", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **(env or {})},
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """supabase/functions/{hello,_shared,import_map.json,.env} as the Supabase CLI lays it out."""
    functions = tmp_path / "supabase" / "functions"
    (functions / "hello").mkdir(parents=True)
    (functions / "_shared").mkdir()
    (functions / "hello" / "index.ts").write_text(
        'import { corsHeaders } from "../_shared/cors.ts";\n'
        'import ms from "ms";\n'
        "Deno.serve((req: Request) =>\n"
        "  Response.json({ greeting: Deno.env.get('GREETING'), wait: ms('2m') },"
        " { headers: corsHeaders }));\n"
    )
    (functions / "_shared" / "cors.ts").write_text(
        'export const corsHeaders = { "access-control-allow-origin": "*" };\n'
    )
    (functions / "import_map.json").write_text('{"imports": {"ms": "npm:ms@2.1.3"}}')
    (functions / ".env").write_text("# the function's variables\nGREETING='hi there'\n")
    return tmp_path / "supabase"


def test_a_supabase_folder_deploys_each_function_with_shared_files_map_and_env(
    server, admin, project: Path, fname: str
) -> None:
    (project / "functions" / "hello").rename(project / "functions" / fname)
    env = {"FLUX_EDGE_TOKEN": ADMIN_TOKEN}
    done = _cli(str(project), "--url", server.url, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{fname}: created, version 1" in done.stdout
    assert f"entrypoint {fname}/index.ts, 3 files" in done.stdout
    assert "packages: ms@2.1.3" in done.stdout
    assert "env: GREETING" in done.stdout
    called = admin.get(f"/api/v1/functions/{fname}/invoke")
    assert called.json() == {"greeting": "hi there", "wait": 120000}
    assert called.headers["access-control-allow-origin"] == "*"
    again = _cli(str(project / "functions" / fname), "--url", server.url, env=env)
    assert again.returncode == 0, again.stderr
    assert f"{fname}: updated, version 2" in again.stdout


def test_a_single_file_deploys_under_the_given_name_with_the_config_file_token(
    server, admin, tmp_path: Path, fname: str
) -> None:
    source = tmp_path / "code" / "hello.ts"
    source.parent.mkdir()
    source.write_text("export default (): Response => new Response('one file');\n")
    config = tmp_path / "config"
    (config / "flux-edge").mkdir(parents=True)
    (config / "flux-edge" / "config.json").write_text(
        json.dumps({"url": server.url, "token": ADMIN_TOKEN})
    )
    done = _cli(str(source), "--name", fname, env={"XDG_CONFIG_HOME": str(config)})
    assert done.returncode == 0, done.stderr
    assert f"{fname}: created, version 1" in done.stdout
    assert "entrypoint hello.ts, 1 files" in done.stdout
    assert admin.get(f"/api/v1/functions/{fname}/invoke").text == "one file"


def test_a_refused_deploy_exits_1_with_the_servers_message(server, tmp_path: Path, fname) -> None:
    source = tmp_path / "bad.ts"
    source.write_text('import fs from "node:fs";\nexport default () => 1;\n')
    done = _cli(
        str(source), "--name", fname, "--url", server.url, env={"FLUX_EDGE_TOKEN": ADMIN_TOKEN}
    )
    assert done.returncode == 1
    assert "node:fs is not available" in done.stderr
    unauthorized = _cli(str(source), "--url", server.url, env={"FLUX_EDGE_TOKEN": "wrong"})
    assert unauthorized.returncode == 1
    assert "Unauthorized" in unauthorized.stderr


def test_on_a_terminal_deploy_shows_its_stages_and_packages_on_stderr_only(
    server, admin, project: Path, fname: str
) -> None:
    (project / "functions" / "hello").rename(project / "functions" / fname)
    env = {"FLUX_EDGE_TOKEN": ADMIN_TOKEN}
    status, out, shown = flux_edge_on_terminal(
        "functions", "deploy", str(project), "--url", server.url, env=env
    )
    assert status == 0, shown
    assert f"{fname}: uploading 3 files, " in shown
    assert f"{fname}: the server resolves and fetches npm:ms@2.1.3" in shown
    assert f"{fname}: linking and resolving packages on the server... " in shown
    assert f"{fname}: created, version 1" in out
    # stdout: the summary only.
    assert "uploading" not in out
    assert "resolves" not in out
    assert "created, version" not in shown

    # Piped (a script, CI): the same summary and no progress at all.
    piped = _cli(str(project), "--url", server.url, env=env)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert f"{fname}: updated, version 2" in piped.stdout
