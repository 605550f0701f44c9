"""`flux-edge functions export FILE` and `functions import FILE` (logic: client/transfer.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from dotenv import dotenv_values

from flux_edge.client.deploy import DEFAULT_URL, DeployError, find_credentials
from flux_edge.client.transfer import TransferError, export_functions, import_functions


def add_transfer_parsers(actions: Any) -> None:
    """`export` and `import` under `flux-edge functions`."""
    url_help = f"the server (FLUX_EDGE_URL or the config file; default {DEFAULT_URL})"
    export = actions.add_parser(
        "export",
        help="write every function with its versions and settings to FILE (JSON; env values "
        "are never exported, only their names)",
        epilog="example: flux-edge functions export functions.json",
    )
    export.add_argument("file", metavar="FILE", help="where to write the export ('-': stdout)")
    export.add_argument("--url", help=url_help)
    load = actions.add_parser(
        "import",
        help="recreate the functions of an export FILE on a server",
        epilog="example: flux-edge functions import functions.json --env-file .env",
    )
    load.add_argument("file", metavar="FILE", help="a file written by `functions export`")
    load.add_argument("--env-file", help="values for the env names the functions declare")
    load.add_argument("--url", help=url_help)


def run_transfer_command(args: argparse.Namespace) -> int:
    """Run `functions export|import`; one line on stderr and exit status 1 on failure."""
    try:
        url, token = find_credentials(args.url)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            if args.action == "export":
                document = export_functions(client)
                text = json.dumps(document, indent=2) + "\n"
                if args.file == "-":
                    sys.stdout.write(text)
                else:
                    Path(args.file).write_text(text)
                print(f"exported {len(document['functions'])} functions", file=sys.stderr)
            else:
                document = json.loads(Path(args.file).read_text())
                env = (
                    {k: v or "" for k, v in dotenv_values(args.env_file).items()}
                    if args.env_file
                    else None
                )
                for line in import_functions(client, document, env):
                    print(line)
    except (TransferError, DeployError, OSError, ValueError, httpx.HTTPError) as exc:
        print(f"flux-edge: {exc}", file=sys.stderr)
        return 1
    return 0
