"""`flux-edge functions export FILE` and `functions import FILE` (logic: client/transfer.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flux_edge.cli.output import api_client, url_option


@click.command(
    name="export",
    epilog="\b\nExamples:\n  flux-edge functions export functions.json\n"
    "  flux-edge functions export - | jq '.functions | length'",
)
@click.argument("file", metavar="FILE")
@url_option
def export_command(file: str, url: str | None) -> int:
    """Write every function with its versions and settings to FILE (JSON; '-': stdout).

    Env values are never exported, only their names.
    """
    import httpx

    from flux_edge.client.api import unreachable
    from flux_edge.client.transfer import export_functions

    with api_client(url) as client:
        try:
            document = export_functions(client.http)
        except httpx.TransportError as exc:
            raise unreachable(client.url, exc) from None
    text = json.dumps(document, indent=2) + "\n"
    if file == "-":
        sys.stdout.write(text)
    else:
        _write(Path(file), text)
    print(f"exported {len(document['functions'])} functions", file=sys.stderr)
    return 0


@click.command(
    name="import",
    epilog="\b\nExample:\n  flux-edge functions import functions.json --env-file .env",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Values for the env names the functions declare.",
)
@url_option
def import_command(file: Path, env_file: Path | None, url: str | None) -> int:
    """Recreate the functions of an export FILE on a server."""
    from flux_edge.cli.progress import steps
    from flux_edge.client.transfer import import_functions

    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {file}: {exc}") from None
    env = _env_file(env_file) if env_file else None
    import httpx

    from flux_edge.client.api import unreachable

    with api_client(url) as client, steps("import") as progress:
        try:
            lines = import_functions(client.http, document, env, progress)
        except httpx.TransportError as exc:
            raise unreachable(client.url, exc) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise click.ClickException(f"{file} is not a complete export: {exc!r}") from None
    for line in lines:
        click.echo(line)
    return 0


def _env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {k: v or "" for k, v in dotenv_values(path).items()}


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
