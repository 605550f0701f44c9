"""The `flux-edge` command: `serve`, `token create|list|revoke`, `functions deploy`, `bench`,
`--version`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from flux_edge import __version__
from flux_edge.cli_backup import add_backup_parsers, run_backup_command
from flux_edge.cli_bench import add_bench_parser, run_bench_command
from flux_edge.cli_transfer import add_transfer_parsers, run_transfer_command
from flux_edge.client.deploy import (
    DEFAULT_URL,
    DeployError,
    deploy,
    find_credentials,
    plan_deploys,
)
from flux_edge.logging import configure_logging
from flux_edge.service.errors import ServiceError
from flux_edge.service.tokens import TokenService, replace_admin_token
from flux_edge.serving import run_with_store, serve
from flux_edge.settings import load_settings
from flux_edge.store.sqlite import SQLiteStore


class _VersionAction(argparse.Action):
    """`--version`: the package version and the V8 version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> NoReturn:
        print(f"flux-edge {__version__} (V8 {_v8_version()})")
        parser.exit()


def _v8_version() -> str:
    # Loading the library and asking it is cheap; creating an isolate (MiniRacer()) costs ~45 MB.
    from py_mini_racer._dll import init_mini_racer

    return str(init_mini_racer(ignore_duplicate_init=True).mr_v8_version().decode())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flux-edge", description="Self-hosted edge-functions runtime."
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the flux-edge and V8 versions"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to bind (FLUX_EDGE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (FLUX_EDGE_PORT, default 8080)")
    serve.add_argument("--data-dir", help="database and function files (FLUX_EDGE_DATA_DIR)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (FLUX_EDGE_WORKERS, default 1)"
    )
    serve.add_argument("--admin-token", help="admin bearer token (prefer FLUX_EDGE_ADMIN_TOKEN)")
    serve.add_argument("--jwt-secret", help="HS256 secret for JWTs (prefer FLUX_EDGE_JWT_SECRET)")
    serve.add_argument("--log-format", choices=["json", "console"], help="FLUX_EDGE_LOG_FORMAT")

    # --data-dir may come before or after the action: `token --data-dir D list`, `token list
    # --data-dir D`. SUPPRESS keeps an absent option from overwriting one given earlier.
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="as for serve (FLUX_EDGE_DATA_DIR)"
    )
    token = commands.add_parser(
        "token", parents=[data_dir], help="manage API tokens in the data dir's database"
    )
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", parents=[data_dir], help="create a token and print it (shown only once)"
    )
    kind = create.add_mutually_exclusive_group(required=True)
    kind.add_argument("--name", help="a label: letters, digits, '-' or '_'")
    create.add_argument(
        "--scope",
        choices=("manage", "invoke"),
        default="manage",
        help="manage: the management API and every function (the default); invoke: calling "
        "functions only, private ones included (403 on the management API)",
    )
    kind.add_argument(
        "--admin",
        action="store_true",
        help="replace the generated admin token (a lost one); the server takes it on restart",
    )
    actions.add_parser("list", parents=[data_dir], help="list tokens (never their secrets)")
    _functions_parser(commands)
    add_backup_parsers(commands)
    add_bench_parser(commands)
    _logs_parser(commands)
    _dev_parser(commands)
    revoke = actions.add_parser("revoke", parents=[data_dir], help="revoke a token by id or name")
    revoke.add_argument("token", metavar="ID_OR_NAME")
    return parser


def _functions_parser(commands: Any) -> None:
    functions = commands.add_parser("functions", help="manage functions on a server")
    actions = functions.add_subparsers(dest="action", required=True)
    deploy = actions.add_parser(
        "deploy",
        help="upload a function folder (functions/<name>/index.ts, _shared/, deno.json, .env) "
        "or a single file",
    )
    deploy.add_argument("path", help="a file, a function folder, or a functions folder")
    deploy.add_argument("--name", help="the function's name (default: its folder or file name)")
    deploy.add_argument(
        "--url", help=f"the server (FLUX_EDGE_URL or the config file; default {DEFAULT_URL})"
    )
    add_transfer_parsers(actions)


def _logs_parser(commands: Any) -> None:
    logs = commands.add_parser(
        "logs",
        help="print a function's console lines and call summaries (live with --follow)",
        description="Examples: flux-edge logs hello; flux-edge logs hello --follow --json",
    )
    logs.add_argument("name", help="the function")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    logs.add_argument("--json", action="store_true", help="one JSON object per event")
    logs.add_argument(
        "--url", help=f"the server (FLUX_EDGE_URL or the config file; default {DEFAULT_URL})"
    )


def _dev_parser(commands: Any) -> None:
    dev = commands.add_parser(
        "dev",
        help="serve a functions folder locally, redeploying on every change",
        description="Runs a server on a scratch data dir, deploys every function of DIR "
        "(DIR/functions/<name>/index.ts or DIR/<name>/index.ts), redeploys a function when its "
        "files change, and prints each call's console output and errors. "
        "Example: flux-edge dev supabase --port 8080",
    )
    dev.add_argument("dir", nargs="?", default=".", help="the functions folder (default: .)")
    dev.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flux-edge` console script and `python -m flux_edge`."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "functions":
        return _functions(args)
    if args.command in ("backup", "restore"):
        return run_backup_command(args)
    if args.command == "bench":
        return run_bench_command(args)
    if args.command == "logs":
        return _logs(args)
    if args.command == "dev":
        from flux_edge.client.dev import run_dev

        return run_dev(Path(args.dir), port=args.port, host=args.host)
    return _token(args)


def _functions(args: argparse.Namespace) -> int:
    """`functions deploy`: the logic lives in flux_edge.client.deploy."""
    if args.action in ("export", "import"):
        return run_transfer_command(args)
    try:
        url, token = find_credentials(args.url)
        plans = plan_deploys(Path(args.path), args.name)
        for plan in plans:
            print(deploy(plan, url=url, token=token).summary())
    except DeployError as exc:
        print(f"flux-edge: {exc}", file=sys.stderr)
        return 1
    return 0


def _logs(args: argparse.Namespace) -> int:
    """`logs NAME`: the logic lives in flux_edge.client.logs."""
    from flux_edge.client.logs import print_logs

    try:
        url, token = find_credentials(args.url)
        print_logs(args.name, url=url, token=token, follow=args.follow, as_json=args.json)
    except DeployError as exc:
        print(f"flux-edge: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def _serve(args: argparse.Namespace) -> int:
    return serve(
        {
            "host": args.host,
            "port": args.port,
            "data_dir": args.data_dir,
            "workers": args.workers,
            "admin_token": args.admin_token,
            "jwt_secret": args.jwt_secret,
            "log_format": args.log_format,
        }
    )


def _token(args: argparse.Namespace) -> int:
    settings = load_settings({"data_dir": getattr(args, "data_dir", None)})
    # stdout carries only the command's output (e.g. the new token), so logs go to stderr.
    configure_logging("console", "warning", stream=sys.stderr)

    database = settings.database_path
    if not database.exists():
        # Creating an empty database here would leave the token where no server looks for it.
        print(
            f"flux-edge: no flux-edge database at {database}: pass the server's --data-dir "
            "(or FLUX_EDGE_DATA_DIR); `flux-edge serve` creates the database on its first start",
            file=sys.stderr,
        )
        return 1
    print(f"data dir: {settings.data_dir}", file=sys.stderr)

    async def run(store: SQLiteStore) -> int:
        tokens = TokenService(store)
        if args.action == "create" and args.admin:
            print(await replace_admin_token(store))
            print(
                "replaced the admin token; it is shown only once, and a running server takes it "
                "when restarted",
                file=sys.stderr,
            )
        elif args.action == "create":
            record, secret = await tokens.create(args.name, args.scope)
            print(secret)
            print(
                f"created token {record.name} ({record.id}, scope {record.scope}); it is shown "
                "only once",
                file=sys.stderr,
            )
        elif args.action == "list":
            for t in await tokens.list_tokens():
                state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
                print(f"{t.id}  {t.name}  scope {t.scope}  created {t.created_at}  {state}")
        else:
            record = await tokens.revoke(args.token)
            print(f"revoked token {record.name} ({record.id})", file=sys.stderr)
        return 0

    try:
        return run_with_store(settings, run)
    except ServiceError as exc:
        print(f"flux-edge: {exc.message}", file=sys.stderr)
        return 1
