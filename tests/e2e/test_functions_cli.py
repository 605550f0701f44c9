"""`flux-edge functions new|list|get|delete|invoke|versions|rollback|enable|disable` as
subprocesses against a real server on loopback."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN_TOKEN, free_port
from tests.e2e.cli_run import flux_edge, ok, ok_json, one_line_failure

ECHO = (
    "export default { async fetch(request) { const url = new URL(request.url);"
    " return Response.json({ method: request.method, path: url.pathname,"
    " trace: request.headers.get('x-trace'), type: request.headers.get('content-type'),"
    " body: await request.text() }); } };"
)


@pytest.fixture
def env(server, tmp_path) -> dict[str, str]:
    """The server and token in the environment; a config dir of the test's own."""
    return {
        "FLUX_EDGE_URL": server.url,
        "FLUX_EDGE_TOKEN": ADMIN_TOKEN,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


@pytest.fixture
def echo(admin, fname) -> str:
    created = admin.post("/api/v1/functions", json={"name": fname, "code": ECHO, "enabled": True})
    assert created.status_code == 201, created.text
    return fname


def test_new_writes_a_function_that_deploys_and_answers(env, tmp_path, fname):
    ok(flux_edge("functions", "new", fname, cwd=tmp_path, env=env))
    entry = tmp_path / "supabase" / "functions" / fname / "index.ts"
    assert "Deno.serve" in entry.read_text()
    deployed = ok(
        flux_edge("functions", "deploy", f"supabase/functions/{fname}", cwd=tmp_path, env=env)
    )
    assert f"{fname}: created, version 1" in deployed
    answer = ok(flux_edge("functions", "invoke", fname, "-d", '{"name": "Ada"}', env=env))
    assert json.loads(answer) == {"message": "Hello Ada!"}


@pytest.mark.parametrize("template", ["fetch", "handler"])
def test_each_template_deploys_and_answers(env, tmp_path, fname, template):
    ok(
        flux_edge(
            "functions", "new", fname, "--template", template, "--dir", "fns", cwd=tmp_path, env=env
        )
    )
    ok(flux_edge("functions", "deploy", f"fns/{fname}", cwd=tmp_path, env=env))
    answer = flux_edge("functions", "invoke", fname, "-d", '{"a": 1}', "--json", env=env)
    assert ok_json(answer)["status"] == 200


def test_new_refuses_an_existing_folder_or_a_bad_name(env, tmp_path, fname):
    ok(flux_edge("functions", "new", fname, cwd=tmp_path, env=env))
    assert "already exists" in one_line_failure(
        flux_edge("functions", "new", fname, cwd=tmp_path, env=env)
    )
    assert "is not a function name" in one_line_failure(
        flux_edge("functions", "new", "no/slash", cwd=tmp_path, env=env)
    )


def test_list_shows_a_table_and_json(env, echo):
    table = ok(flux_edge("functions", "list", env=env))
    header, *rows = table.splitlines()
    assert header.split() == ["NAME", "ENABLED", "VERSION", "ACCESS", "UPDATED"]
    assert any(row.split()[:4] == [echo, "yes", "1", "public"] for row in rows)
    listed = ok_json(flux_edge("functions", "list", "--json", env=env))
    assert {"name": echo, "enabled": True, "version": 1}.items() <= next(
        f for f in listed if f["name"] == echo
    ).items()


def test_get_shows_settings_code_and_json(env, echo):
    shown = ok(flux_edge("functions", "get", echo, env=env))
    assert "name:" in shown
    assert echo in shown
    assert "permissions: net, env" in shown
    assert ok(flux_edge("functions", "get", echo, "--code", env=env)).strip() == ECHO
    assert ok_json(flux_edge("functions", "get", echo, "--json", env=env))["code"] == ECHO


def test_invoke_sends_method_path_headers_and_body(env, echo, tmp_path):
    (tmp_path / "body.json").write_text('{"from": "file"}')
    answer = ok_json(
        flux_edge(
            "functions",
            "invoke",
            echo,
            "-X",
            "put",
            "--path",
            "items/7",
            "-H",
            "x-trace: abc",
            "-d",
            "@body.json",
            cwd=tmp_path,
            env=env,
        )
    )
    assert answer == {
        "method": "PUT",
        "path": f"/{echo}/items/7",
        "trace": "abc",
        "type": "application/json",
        "body": '{"from": "file"}',
    }
    plain = ok_json(flux_edge("functions", "invoke", echo, "-d", "not json", env=env))
    assert plain["type"] == "text/plain"
    assert plain["body"] == "not json"
    piped = ok_json(flux_edge("functions", "invoke", echo, "-d", "@-", stdin="from stdin", env=env))
    assert piped["body"] == "from stdin"


def test_invoke_json_gives_status_headers_execution_and_body(env, echo):
    answer = ok_json(flux_edge("functions", "invoke", echo, "-X", "GET", "--json", env=env))
    assert answer["status"] == 200
    assert answer["execution_id"] == answer["headers"]["x-flux-execution-id"]
    assert json.loads(answer["body"])["method"] == "GET"


def test_invoke_of_a_function_error_prints_the_body_and_exits_1(env, admin, fname):
    code = "export default { fetch() { return new Response('nope', { status: 418 }); } };"
    admin.post("/api/v1/functions", json={"name": fname, "code": code, "enabled": True})
    done = flux_edge("functions", "invoke", fname, env=env)
    assert done.stdout == "nope"
    assert f"{fname} answered HTTP 418" in one_line_failure(done)


def test_an_unknown_function_exits_1_with_the_servers_message(env):
    for args in (
        ["functions", "get", "no-such-fn"],
        ["functions", "invoke", "no-such-fn"],
        ["functions", "versions", "no-such-fn"],
        ["functions", "delete", "no-such-fn", "--yes"],
        ["functions", "enable", "no-such-fn"],
        ["env", "list", "no-such-fn"],
    ):
        line = one_line_failure(flux_edge(*args, env=env))
        assert "(HTTP 404)" in line, (args, line)
        assert "no-such-fn" in line, (args, line)


def test_a_bad_token_exits_1_with_the_servers_message(env):
    line = one_line_failure(flux_edge("functions", "list", env={**env, "FLUX_EDGE_TOKEN": "wrong"}))
    assert "(HTTP 401)" in line


def test_a_server_that_is_down_is_named(env):
    url = f"http://127.0.0.1:{free_port()}"
    line = one_line_failure(flux_edge("functions", "list", "--url", url, env=env))
    assert line.startswith(f"flux-edge: cannot reach {url}: connection failed")


def test_versions_rollback_disable_enable(env, echo, anonymous):
    assert "disabled (version 2)" in ok(flux_edge("functions", "disable", echo, env=env))
    assert anonymous.post(f"/api/v1/functions/{echo}/invoke").status_code == 404
    enabled = ok_json(flux_edge("functions", "enable", echo, "--json", env=env))
    assert (enabled["enabled"], enabled["version"]) == (True, 3)
    assert anonymous.post(f"/api/v1/functions/{echo}/invoke").status_code == 200
    table = ok(flux_edge("functions", "versions", echo, env=env))
    assert table.splitlines()[0].split() == ["VERSION", "CURRENT", "CREATED", "BY"]
    versions = ok_json(flux_edge("functions", "versions", echo, "--json", env=env))
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, False), (3, True)]
    rolled = ok(flux_edge("functions", "rollback", echo, "2", env=env))
    assert f"{echo}: rolled back to version 2's code as version 4" in rolled
    # Version 2 was disabled, but a rollback brings back code, not settings.
    assert anonymous.post(f"/api/v1/functions/{echo}/invoke").status_code == 200
    assert "(HTTP 404)" in one_line_failure(flux_edge("functions", "rollback", echo, "99", env=env))


def test_delete_asks_without_a_terminal_and_deletes_with_yes(env, echo, admin):
    refused = one_line_failure(flux_edge("functions", "delete", echo, env=env))
    assert "without --yes" in refused
    assert admin.get(f"/api/v1/functions/{echo}").status_code == 200
    ok(flux_edge("functions", "delete", echo, "--yes", env=env))
    assert admin.get(f"/api/v1/functions/{echo}").status_code == 404


def test_a_usage_error_is_one_line_with_status_2(env):
    line = one_line_failure(flux_edge("functions", "rollback", "x", "zero", env=env), code=2)
    assert "'zero' is not a valid integer" in line
    assert "--help" in line


def test_every_command_has_help_with_an_example():
    commands = [
        [], ["serve"], ["dev"], ["token"], ["token", "create"], ["token", "list"],
        ["token", "revoke"], ["backup"], ["restore"], ["login"], ["logs"], ["completion"],
        ["functions"], ["env"], ["env", "set"], ["env", "unset"], ["env", "list"],
        *[["functions", c] for c in ("new", "deploy", "list", "get", "delete", "invoke",
                                      "versions", "rollback", "enable", "disable", "export",
                                      "import")],
    ]  # fmt: skip
    for command in commands:
        shown = ok(flux_edge(*command, "--help"))
        assert "Example" in shown, command
        assert "flux-edge " + " ".join(command) in shown.replace("  ", " "), command


def test_a_group_alone_shows_its_help():
    shown = flux_edge("functions")
    assert shown.returncode == 2
    assert "Commands:" in shown.stderr
    assert "invoke" in shown.stderr
