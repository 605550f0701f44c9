"""`login`, `logs`, `dev` and `completion`: the commands around a session with a server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flux_edge.cli.output import URL_HELP, url_option

SHELLS = ("bash", "zsh", "fish")


@click.command(
    epilog="\b\nExamples:\n  flux-edge login --url https://edge.example.com\n"
    '  echo "$TOKEN" | flux-edge login --url http://127.0.0.1:8080'
)
@click.option("--url", metavar="URL", help=URL_HELP)
@click.option(
    "--token",
    help="An admin or API token [default: asked for without echo, or read from stdin when it is "
    "not a terminal].",
)
def login(url: str | None, token: str | None) -> int:
    """Check a token against a server and save both to the config file (mode 0600).

    The file is $XDG_CONFIG_HOME/flux-edge/config.json (~/.config/flux-edge/config.json); every
    client command reads it when --url, FLUX_EDGE_URL or FLUX_EDGE_TOKEN are not given.
    """
    from flux_edge.client.api import ApiClient
    from flux_edge.client.config import find_credentials, write_config

    found, _ = find_credentials(url)
    if token is None:
        token = _read_token()
    token = token.strip()
    if not token:
        raise click.ClickException("no token given (--token, typed when asked, or on stdin)")
    with ApiClient(found, token) as client:
        count = len(client.list_functions())  # refused (401/403) unless it can manage
    path = write_config(found, token)
    print(f"logged in to {found} ({count} functions); saved to {path}", file=sys.stderr)
    return 0


def _read_token() -> str:
    # click's hidden prompt falls back to echoing (with warnings) when stdin is a pipe: read the
    # piped line ourselves instead.
    if sys.stdin.isatty():
        return str(click.prompt("Token", hide_input=True))
    return sys.stdin.readline()


@click.command(
    epilog="\b\nExamples:\n  flux-edge logs hello\n  flux-edge logs hello --follow\n"
    "  flux-edge logs hello --json"
)
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@url_option
def logs(name: str, follow: bool, as_json: bool, url: str | None) -> int:
    """Print a function's console lines and call summaries (live with --follow).

    Without --follow it prints what the server has buffered and exits. --follow reconnects by
    itself, resuming after the last event seen.
    """
    from flux_edge.client.config import find_credentials
    from flux_edge.client.logs import print_logs

    found, token = find_credentials(url)
    print_logs(name, url=found, token=token, follow=follow, as_json=as_json)
    return 0


@click.command(epilog="\b\nExamples:\n  flux-edge dev supabase\n  flux-edge dev . --port 9000")
@click.argument("dir", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=int, default=8080, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", help="Address to bind.")
def dev(dir: Path, port: int, host: str) -> int:
    """Serve a functions folder locally, redeploying on every change.

    Runs a server on a scratch data dir, deploys every function of DIR
    (DIR/functions/<name>/index.ts or DIR/<name>/index.ts), redeploys a function when its files
    change, and prints each call's console output and errors.
    """
    from flux_edge.client.dev import run_dev

    return run_dev(dir, port=port, host=host)


@click.command(
    epilog="\b\nExamples:\n  flux-edge completion bash > ~/.local/share/bash-completion/"
    'completions/flux-edge\n  flux-edge completion zsh > "${fpath[1]}/_flux-edge"\n'
    "  flux-edge completion fish > ~/.config/fish/completions/flux-edge.fish\n"
    '  eval "$(flux-edge completion bash)"   # this shell only'
)
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> int:
    """Print the shell completion script for SHELL (commands, options, function names)."""
    from click.shell_completion import get_completion_class

    root = ctx.find_root()
    assert isinstance(root.command, click.Group)
    completer = get_completion_class(shell)
    assert completer is not None
    click.echo(completer(root.command, {}, "flux-edge", "_FLUX_EDGE_COMPLETE").source())
    return 0
