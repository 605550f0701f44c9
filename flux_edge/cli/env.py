"""`flux-edge env set|unset|list NAME`: a function's environment variables.

Values are write-only on the server (responses carry `env_names`), so `env list` shows names only:
the CLI never prints a secret, and there is no flag to make it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from flux_edge.cli.names import name_argument
from flux_edge.cli.output import api_client, json_option, print_json, url_option


@click.group(
    epilog="\b\nExamples:\n  flux-edge env set hello GREETING=hi API_KEY=sk-123\n"
    "  flux-edge env set hello --env-file .env\n  flux-edge env unset hello API_KEY\n"
    "  flux-edge env list hello"
)
def env() -> None:
    """A function's environment variables (Deno.env, process.env, the fetch handler's env).

    Each change is a new version of the function. Values are never shown: the server does not
    give them back.
    """


@env.command(
    name="set",
    epilog="\b\nExamples:\n  flux-edge env set hello GREETING=hi\n"
    "  flux-edge env set hello --env-file supabase/functions/.env EXTRA=1",
)
@name_argument
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .env file whose variables are set too (KEY=VALUE arguments win).",
)
@url_option
@json_option
def set_env(
    name: str, assignments: tuple[str, ...], env_file: Path | None, url: str | None, as_json: bool
) -> int:
    """Set variables of a function, keeping its others."""
    values: dict[str, str] = {}
    if env_file is not None:
        from dotenv import dotenv_values

        values.update({k: v or "" for k, v in dotenv_values(env_file).items()})
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{assignment!r} is not KEY=VALUE", param_hint="KEY=VALUE")
        values[key] = value
    if not values:
        raise click.UsageError("give KEY=VALUE arguments or --env-file")
    with api_client(url) as client:
        found = client.change_env(name, values, [])
    _report(found, as_json, f"set {', '.join(sorted(values))}")
    return 0


@env.command(name="unset", epilog="\b\nExample:\n  flux-edge env unset hello API_KEY OLD_FLAG")
@name_argument
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@url_option
@json_option
def unset_env(name: str, keys: tuple[str, ...], url: str | None, as_json: bool) -> int:
    """Remove variables of a function (absent ones are ignored)."""
    with api_client(url) as client:
        found = client.change_env(name, {}, list(keys))
    _report(found, as_json, f"unset {', '.join(sorted(keys))}")
    return 0


@env.command(
    name="list",
    epilog="\b\nExamples:\n  flux-edge env list hello\n  flux-edge env list hello --json",
)
@name_argument
@url_option
@json_option
def list_env(name: str, url: str | None, as_json: bool) -> int:
    """List a function's variable names, one a line (values are write-only)."""
    with api_client(url) as client:
        found = client.get_function(name)
    names = found["env_names"]
    if as_json:
        print_json(names)
    elif names:
        click.echo("\n".join(names))
    else:
        print(f"{name} has no variables", file=sys.stderr)
    return 0


def _report(found: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        print_json(
            {"name": found["name"], "version": found["version"], "env_names": found["env_names"]}
        )
    else:
        click.echo(
            f"{found['name']}: {what} (version {found['version']}); variables: "
            f"{', '.join(found['env_names']) or '(none)'}"
        )
