"""What the client commands share: the --url and --json options, the API client, and output.

Readable output is a table or `key: value` lines; `--json` prints the API's own JSON (an object or
an array, as documented in docs/cli.md), so scripts get a stable shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from flux_edge.client.api import ApiClient

F = TypeVar("F", bound=Callable[..., Any])

URL_HELP = "The server [default: FLUX_EDGE_URL, the login file, or http://127.0.0.1:8080]."


def url_option(f: F) -> F:
    """`--url URL`."""
    return click.option("--url", metavar="URL", help=URL_HELP)(f)


def json_option(f: F) -> F:
    """`--json`: machine-readable output."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (stable, for scripts)."
    )(f)


def api_client(url: str | None) -> ApiClient:
    """A client for the server and token found from `url`, the environment and the config."""
    from flux_edge.client.api import ApiClient
    from flux_edge.client.config import find_credentials

    found, token = find_credentials(url)
    return ApiClient(found, token)


def print_json(value: Any) -> None:
    """`value` as indented JSON on stdout."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Left-aligned columns separated by two spaces, headers in capitals."""
    cells = [[str(h).upper() for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_fields(fields: Sequence[tuple[str, object]]) -> None:
    """`key: value` lines, aligned."""
    width = max(len(key) for key, _ in fields)
    for key, value in fields:
        click.echo(f"{key + ':':<{width + 1}} {_cell(value)}")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)
