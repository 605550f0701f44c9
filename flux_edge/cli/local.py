"""Commands on this machine's server and data dir: `serve`, `token`, `backup`, `restore`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

if TYPE_CHECKING:
    from flux_edge.store.base import TokenScope

DATA_DIR_HELP = "The server's data dir [default: FLUX_EDGE_DATA_DIR or ./flux-edge-data]."


@click.command(
    epilog="\b\nExamples:\n  flux-edge serve\n  flux-edge serve --host 0.0.0.0 --port 9000 "
    "--data-dir /var/lib/flux-edge --workers 4"
)
@click.option("--host", help="Address to bind [default: FLUX_EDGE_HOST or 127.0.0.1].")
@click.option("--port", type=int, help="Port to bind [default: FLUX_EDGE_PORT or 8080].")
@click.option("--data-dir", help=DATA_DIR_HELP)
@click.option(
    "--workers",
    type=int,
    help="Worker processes [default: FLUX_EDGE_WORKERS, or one per two CPUs, at most one per "
    "GiB of memory].",
)
@click.option("--admin-token", help="The admin bearer token (prefer FLUX_EDGE_ADMIN_TOKEN).")
@click.option("--jwt-secret", help="HS256 secret for JWTs (prefer FLUX_EDGE_JWT_SECRET).")
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    help="Log line format [default: FLUX_EDGE_LOG_FORMAT or json].",
)
def serve(**options: object) -> int:
    """Run the HTTP server.

    Every option can also come from a FLUX_EDGE_* variable (README, Settings). On the first start
    the admin token is generated and printed once, on stderr.
    """
    from flux_edge.collector import hold_during_start, resume

    hold_during_start()  # the app's factory turns collections on again (flux_edge/collector.py)
    try:
        from flux_edge.serving import serve as run_server

        return run_server(options)
    finally:
        resume()


def _data_dir_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option("--data-dir", help=DATA_DIR_HELP)(f)


@click.group(
    epilog="\b\nExamples:\n  flux-edge token create --name ci\n  flux-edge token list "
    "--data-dir /var/lib/flux-edge\n  flux-edge token revoke ci"
)
@_data_dir_option
@click.pass_context
def token(ctx: click.Context, data_dir: str | None) -> None:
    """Manage API tokens in the data dir's database (run where the server's data dir is).

    --data-dir may come before or after the action.
    """
    ctx.obj = data_dir


@token.command(
    epilog="\b\nExamples:\n  flux-edge token create --name ci --scope manage\n"
    "  flux-edge token create --admin"
)
@click.option("--name", help="A label for the new token: letters, digits, '-' or '_'.")
@click.option(
    "--scope",
    type=click.Choice(["manage", "invoke"]),
    default="manage",
    help="manage: the management API and every function; invoke: calling functions only, "
    "private ones included (403 on the management API).",
)
@click.option(
    "--admin",
    is_flag=True,
    help="Replace the generated admin token (a lost one); the server takes it on restart.",
)
@_data_dir_option
@click.pass_context
def create(
    ctx: click.Context, name: str | None, scope: str, admin: bool, data_dir: str | None
) -> int:
    """Create a token and print it (it is shown only once; only its hash is stored)."""
    if (name is None) == (not admin):
        raise click.UsageError("give exactly one of --name NAME and --admin", ctx)
    return _run_token(data_dir or ctx.obj, "create", name=name, scope=scope, admin=admin)


@token.command(name="list", epilog="\b\nExample:\n  flux-edge token list")
@_data_dir_option
@click.pass_context
def list_tokens(ctx: click.Context, data_dir: str | None) -> int:
    """List tokens: id, name, scope, creation time, active or revoked (never their secrets)."""
    return _run_token(data_dir or ctx.obj, "list")


@token.command(epilog="\b\nExample:\n  flux-edge token revoke ci")
@click.argument("id_or_name", metavar="ID_OR_NAME")
@_data_dir_option
@click.pass_context
def revoke(ctx: click.Context, id_or_name: str, data_dir: str | None) -> int:
    """Revoke a token by id or name; a running server refuses it at once."""
    return _run_token(data_dir or ctx.obj, "revoke", name=id_or_name)


def _run_token(
    data_dir: str | None,
    action: str,
    *,
    name: str | None = None,
    scope: str = "manage",
    admin: bool = False,
) -> int:
    from flux_edge.logging import configure_logging
    from flux_edge.service.errors import ServiceError
    from flux_edge.service.tokens import TokenService, replace_admin_token
    from flux_edge.serving import run_with_store
    from flux_edge.settings import load_settings
    from flux_edge.store.sqlite import SQLiteStore

    settings = load_settings({"data_dir": data_dir})
    # stdout carries only the command's output (e.g. the new token), so logs go to stderr.
    configure_logging("console", "warning", stream=sys.stderr)
    database = settings.database_path
    if not database.exists():
        # Creating an empty database here would leave the token where no server looks for it.
        raise click.ClickException(
            f"no flux-edge database at {database}: pass the server's --data-dir (or "
            "FLUX_EDGE_DATA_DIR); `flux-edge serve` creates the database on its first start"
        )
    print(f"data dir: {settings.data_dir}", file=sys.stderr)

    async def run(store: SQLiteStore) -> None:
        tokens = TokenService(store)
        if action == "create" and admin:
            print(await replace_admin_token(store))
            print(
                "replaced the admin token; it is shown only once, and a running server takes it "
                "when restarted",
                file=sys.stderr,
            )
        elif action == "create":
            assert name is not None
            record, secret = await tokens.create(name, cast("TokenScope", scope))
            print(secret)
            print(
                f"created token {record.name} ({record.id}, scope {record.scope}); it is shown "
                "only once",
                file=sys.stderr,
            )
        elif action == "list":
            for t in await tokens.list_tokens():
                state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
                print(f"{t.id}  {t.name}  scope {t.scope}  created {t.created_at}  {state}")
        else:
            assert name is not None
            record = await tokens.revoke(name)
            print(f"revoked token {record.name} ({record.id})", file=sys.stderr)

    try:
        run_with_store(settings, run)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    return 0


@click.command(
    epilog="\b\nExample:\n  flux-edge backup --data-dir /var/lib/flux-edge flux-edge-$(date +%F).db"
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_data_dir_option
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def backup(file: Path, data_dir: str | None, force: bool) -> int:
    """Copy the database to FILE (SQLite's online backup; safe while the server runs)."""
    from flux_edge.cli.progress import page_progress
    from flux_edge.client.backup import backup as save
    from flux_edge.settings import load_settings

    settings = load_settings({"data_dir": data_dir})
    pages = save(settings.database_path, file, force=force, progress=page_progress("backup"))
    print(f"backed up {settings.database_path} to {file} ({pages} pages)", file=sys.stderr)
    return 0


@click.command(
    epilog="\b\nExample:\n  flux-edge restore --data-dir /var/lib/flux-edge flux-edge-2026-12-01.db"
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data-dir", help="The data dir to restore into [default: FLUX_EDGE_DATA_DIR].")
@click.option(
    "--force", is_flag=True, help="Replace an existing database, even one a running server uses."
)
def restore(file: Path, data_dir: str | None, force: bool) -> int:
    """Copy a backup FILE into the data dir's database (stop the server first)."""
    from flux_edge.cli.progress import page_progress
    from flux_edge.client.backup import restore as load
    from flux_edge.settings import load_settings

    settings = load_settings({"data_dir": data_dir})
    pages = load(file, settings.data_dir, force=force, progress=page_progress("restore"))
    print(
        f"restored {file} into {settings.database_path} ({pages} pages); start the server to "
        "use it",
        file=sys.stderr,
    )
    return 0
