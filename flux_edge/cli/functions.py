"""`flux-edge functions ...`: create, deploy, inspect, call and manage functions on a server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from flux_edge.cli.invoke import invoke
from flux_edge.cli.names import name_argument
from flux_edge.cli.output import (
    api_client,
    json_option,
    print_fields,
    print_json,
    print_table,
    url_option,
)
from flux_edge.cli.transfer import export_command, import_command


@click.group(
    epilog="\b\nExamples:\n  flux-edge functions new hello\n"
    "  flux-edge functions deploy supabase/functions/hello\n  flux-edge functions list\n"
    '  flux-edge functions invoke hello -d \'{"name": "Ada"}\''
)
def functions() -> None:
    """Create, deploy, inspect, call and manage functions on a server."""


@functions.command(
    epilog="\b\nExamples:\n  flux-edge functions new hello\n"
    "  flux-edge functions new api --template fetch --dir functions"
)
@click.argument("name")
@click.option(
    "--template",
    type=click.Choice(["serve", "fetch", "handler"]),
    default="serve",
    help="serve: Deno.serve (as `supabase functions new`); fetch: export default { fetch }; "
    "handler: export async function handler(request) (a Request in, a Response out).",
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("supabase/functions"),
    help="The functions folder to create it in.",
)
def new(name: str, template: str, folder: Path) -> int:
    """Write a starter function, DIR/NAME/index.ts, ready for `functions deploy`."""
    from flux_edge.client.scaffold import new_function

    entry = new_function(folder, name, template)
    print(
        f"created {entry}; deploy it with: flux-edge functions deploy {entry.parent}",
        file=sys.stderr,
    )
    return 0


@functions.command(
    epilog="\b\nExamples:\n  flux-edge functions deploy supabase/functions\n"
    "  flux-edge functions deploy supabase/functions/hello\n"
    "  flux-edge functions deploy hello.ts --name hello"
)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="The function's name [default: its folder or file name].")
@url_option
def deploy(path: Path, name: str | None, url: str | None) -> int:
    """Upload a function folder (functions/<name>/index.ts, _shared/, deno.json, .env) or one file.

    PATH is a file, a function folder, or a functions folder (each function in it). A function
    that exists gets a new version; a new one is created enabled.
    """
    from flux_edge.cli.progress import note, waiting
    from flux_edge.client.api import ApiClient
    from flux_edge.client.config import find_credentials
    from flux_edge.client.deploy import DEPLOY_TIMEOUT_SECONDS, plan_deploys
    from flux_edge.client.deploy import deploy as upload

    found, token = find_credentials(url)
    plans = plan_deploys(path, name)
    with ApiClient(found, token, timeout=DEPLOY_TIMEOUT_SECONDS) as client:
        for plan in plans:
            # On a terminal: what goes up, which packages the server will resolve, and a clock
            # while it links and fetches them (a cold package cache can take seconds).
            packages = plan.named_packages()
            note(f"{plan.name}: uploading {plan.describe()}")
            if packages:
                note(f"{plan.name}: the server resolves and fetches {', '.join(packages)}")
            stage = "linking and resolving packages" if packages else "linking"
            with waiting(f"{plan.name}: {stage} on the server"):
                deployed = upload(plan, client)
            click.echo(deployed.summary())
    return 0


@functions.command(
    name="list",
    epilog="\b\nExamples:\n  flux-edge functions list\n  flux-edge functions list --json",
)
@url_option
@json_option
def list_functions(url: str | None, as_json: bool) -> int:
    """List the functions: enabled, version, who may call them, last update."""
    with api_client(url) as client:
        found = client.list_functions()
    if as_json:
        print_json(found)
    elif not found:
        print("no functions", file=sys.stderr)
    else:
        print_table(
            ["name", "enabled", "version", "access", "updated"],
            [[f["name"], f["enabled"], f["version"], _access(f), f["updated_at"]] for f in found],
        )
    return 0


@functions.command(
    epilog="\b\nExamples:\n  flux-edge functions get hello\n"
    "  flux-edge functions get hello --code > hello.ts"
)
@name_argument
@click.option(
    "--code",
    is_flag=True,
    help="Print the source only (each file of a multi-file function under a `// file: PATH` line).",
)
@url_option
@json_option
def get(name: str, code: bool, url: str | None, as_json: bool) -> int:
    """Show a function's settings (variable names, never values), or its code."""
    with api_client(url) as client:
        found = client.get_function(name)
    if as_json:
        print_json(found)
    elif code:
        files = found.get("files")
        if files:
            for path, text in files.items():
                click.echo(f"// file: {path}\n{text}")
        else:
            click.echo(found["code"], nl=not str(found["code"]).endswith("\n"))
    else:
        print_fields(_settings(found))
    return 0


def _settings(f: dict[str, Any]) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        ("name", f["name"]),
        ("description", f.get("description")),
        ("enabled", f["enabled"]),
        ("version", f["version"]),
        ("access", _access(f)),
        ("timeout", f"{f['timeout_seconds']} s"),
        ("memory", f"{f['memory_limit_mb']} MiB"),
        ("permissions", [p for p in ("net", "env", "read", "write") if f.get(f"allow_{p}")]),
        ("cron", f.get("cron_schedule")),
        ("env", f.get("env_names")),
    ]
    if f.get("files"):
        rows.append(("entrypoint", f.get("entrypoint")))
        rows.append(("files", sorted(f["files"])))
    if f.get("packages"):
        rows.append(("packages", [f"{k}@{v}" for k, v in f["packages"].items()]))
    rows += [("created", f["created_at"]), ("updated", f["updated_at"])]
    return rows


def _access(f: dict[str, Any]) -> str:
    return "public" if f.get("allow_unauthenticated", True) else "token"


@functions.command(
    epilog="\b\nExamples:\n  flux-edge functions delete hello\n"
    "  flux-edge functions delete hello --yes"
)
@name_argument
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@url_option
def delete(name: str, yes: bool, url: str | None) -> int:
    """Delete a function with its versions, executions, files and schedule."""
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(f"not deleting {name} without --yes (no terminal to ask)")
        click.confirm(f"Delete {name} with all its versions and executions?", abort=True)
    with api_client(url) as client:
        client.delete_function(name)
    print(f"deleted {name}", file=sys.stderr)
    return 0


@functions.command(
    epilog="\b\nExamples:\n  flux-edge functions versions hello\n"
    "  flux-edge functions versions hello --json"
)
@name_argument
@url_option
@json_option
def versions(name: str, url: str | None, as_json: bool) -> int:
    """List a function's versions, oldest first, marking the current one."""
    with api_client(url) as client:
        found = client.list_versions(name)
    if as_json:
        print_json(found)
    else:
        print_table(
            ["version", "current", "created", "by"],
            [[v["version"], v["current"], v["created_at"], v["created_by"]] for v in found],
        )
    return 0


@functions.command(epilog="\b\nExample:\n  flux-edge functions rollback hello 2")
@name_argument
@click.argument("version", type=click.IntRange(min=1))
@url_option
@json_option
def rollback(name: str, version: int, url: str | None, as_json: bool) -> int:
    """Make a new version holding VERSION's code (the history keeps every version)."""
    with api_client(url) as client:
        found = client.rollback(name, version)
    _done(
        found,
        as_json,
        f"{name}: rolled back to version {version}'s code as version {found['version']}",
    )
    return 0


@functions.command(epilog="\b\nExample:\n  flux-edge functions enable hello")
@name_argument
@url_option
@json_option
def enable(name: str, url: str | None, as_json: bool) -> int:
    """Enable a function: it answers calls (a new version)."""
    return _set_enabled(name, True, url, as_json)


@functions.command(epilog="\b\nExample:\n  flux-edge functions disable hello")
@name_argument
@url_option
@json_option
def disable(name: str, url: str | None, as_json: bool) -> int:
    """Disable a function: calls get 404 until it is enabled (a new version)."""
    return _set_enabled(name, False, url, as_json)


def _set_enabled(name: str, enabled: bool, url: str | None, as_json: bool) -> int:
    with api_client(url) as client:
        found = client.update_function(name, {"enabled": enabled})
    state = "enabled" if enabled else "disabled"
    _done(found, as_json, f"{name}: {state} (version {found['version']})")
    return 0


def _done(found: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        print_json(found)
    else:
        click.echo(line)


for command in (invoke, export_command, import_command):
    functions.add_command(command)
