"""`flux-edge login`, `env set|unset|list` and `completion` as subprocesses against a real server."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.e2e.cli_run import flux_edge, ok, ok_json, one_line_failure

ENV_ECHO = (
    "export default { fetch(request, env) {"
    " return Response.json(Object.fromEntries(Object.entries(env).sort())); } };"
)


@pytest.fixture
def config_home(tmp_path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_login_writes_a_private_config_that_every_command_then_uses(server, config_home, tmp_path):
    done = flux_edge("login", "--url", server.url, "--token", ADMIN_TOKEN, env=config_home)
    ok(done)
    path = tmp_path / "config" / "flux-edge" / "config.json"
    assert f"logged in to {server.url}" in done.stderr
    assert str(path) in done.stderr
    assert json.loads(path.read_text()) == {"url": server.url, "token": ADMIN_TOKEN}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # No --url, no FLUX_EDGE_*: the file is enough.
    assert isinstance(ok_json(flux_edge("functions", "list", "--json", env=config_home)), list)


def test_login_reads_the_token_from_stdin(server, config_home, tmp_path):
    done = flux_edge("login", "--url", server.url, stdin=ADMIN_TOKEN + "\n", env=config_home)
    ok(done)
    assert done.stderr.count("\n") == 1, done.stderr  # no prompt or echo warnings on a pipe
    path = tmp_path / "config" / "flux-edge" / "config.json"
    assert json.loads(path.read_text())["token"] == ADMIN_TOKEN


def test_login_without_a_token_fails_in_one_line(server, config_home):
    line = one_line_failure(flux_edge("login", "--url", server.url, stdin="", env=config_home))
    assert "no token given" in line


def test_login_with_a_bad_token_writes_nothing(server, config_home, tmp_path):
    line = one_line_failure(
        flux_edge("login", "--url", server.url, "--token", "nope", env=config_home)
    )
    assert "(HTTP 401)" in line
    assert not (tmp_path / "config" / "flux-edge" / "config.json").exists()


def test_env_set_unset_list_reach_the_function(
    server, admin, anonymous, fname, config_home, tmp_path
):
    env = {**config_home, "FLUX_EDGE_URL": server.url, "FLUX_EDGE_TOKEN": ADMIN_TOKEN}
    admin.post("/api/v1/functions", json={"name": fname, "code": ENV_ECHO, "enabled": True})
    (tmp_path / ".env").write_text("FROM_FILE=file\nSHARED=from-file\n")
    done = ok(
        flux_edge(
            "env",
            "set",
            fname,
            "--env-file",
            ".env",
            "SHARED=arg",
            "API_KEY=sk-secret",
            cwd=tmp_path,
            env=env,
        )
    )
    assert "variables: API_KEY, FROM_FILE, SHARED" in done
    assert "sk-secret" not in done
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke").json() == {
        "API_KEY": "sk-secret",
        "FROM_FILE": "file",
        "SHARED": "arg",
    }
    assert ok(flux_edge("env", "list", fname, env=env)).split() == [
        "API_KEY",
        "FROM_FILE",
        "SHARED",
    ]
    changed = ok_json(flux_edge("env", "unset", fname, "FROM_FILE", "--json", env=env))
    assert changed == {"name": fname, "version": 3, "env_names": ["API_KEY", "SHARED"]}
    assert ok_json(flux_edge("env", "list", fname, "--json", env=env)) == ["API_KEY", "SHARED"]
    assert "sk-secret" not in ok(flux_edge("functions", "get", fname, "--json", env=env))


def test_env_set_refuses_what_is_not_key_value(server, fname, config_home):
    env = {**config_home, "FLUX_EDGE_URL": server.url, "FLUX_EDGE_TOKEN": ADMIN_TOKEN}
    assert "is not KEY=VALUE" in one_line_failure(
        flux_edge("env", "set", fname, "JUSTKEY", env=env), 2
    )
    assert "give KEY=VALUE" in one_line_failure(flux_edge("env", "set", fname, env=env), 2)


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F"),
        ("zsh", "#compdef flux-edge"),
        ("fish", "complete --no-files --command flux-edge"),
    ],
)
def test_completion_prints_a_script_for_each_shell(shell, marker):
    script = ok(flux_edge("completion", shell))
    assert marker in script
    assert "_FLUX_EDGE_COMPLETE" in script


def test_the_bash_script_loads_in_bash(tmp_path):
    script = tmp_path / "flux-edge.bash"
    script.write_text(ok(flux_edge("completion", "bash")))
    loaded = subprocess.run(
        ["bash", "-c", f"source {script} && complete -p flux-edge"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "flux-edge" in loaded.stdout


def test_completion_completes_commands_and_function_names(server, admin, fname, config_home):
    words = {
        "_FLUX_EDGE_COMPLETE": "bash_complete",
        "COMP_WORDS": "flux-edge fun",
        "COMP_CWORD": "1",
    }
    assert "plain,functions" in ok(flux_edge(env={**config_home, **words})).splitlines()
    admin.post("/api/v1/functions", json={"name": fname, "code": ENV_ECHO})
    env = {
        **config_home,
        "FLUX_EDGE_URL": server.url,
        "FLUX_EDGE_TOKEN": ADMIN_TOKEN,
        "_FLUX_EDGE_COMPLETE": "bash_complete",
        "COMP_WORDS": f"flux-edge functions invoke {fname[:6]}",
        "COMP_CWORD": "3",
    }
    assert f"plain,{fname}" in ok(flux_edge(env=env)).splitlines()
