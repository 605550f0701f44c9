"""The NAME argument of the function commands, completed in the shell from the server's list."""

from __future__ import annotations

from typing import Any

import click


def complete_function_names(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[str]:
    """Shell completion of a NAME argument: the server's function names (none if unreachable)."""
    from flux_edge.client.api import ApiClient
    from flux_edge.client.config import ClientError, find_credentials

    try:
        url, token = find_credentials(ctx.params.get("url"))
        with ApiClient(url, token, timeout=2.0) as client:
            names = [str(f["name"]) for f in client.list_functions()]
    except ClientError:
        return []
    return [name for name in names if name.startswith(incomplete)]


def name_argument(f: Any) -> Any:
    """The NAME argument, completed from the server."""
    return click.argument("name", shell_complete=complete_function_names)(f)
