"""The `flux-edge backup FILE` and `flux-edge restore FILE` commands (logic: client/backup.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flux_edge.client.backup import BackupError, backup, restore, terminal_progress
from flux_edge.settings import load_settings


def add_backup_parsers(commands: Any) -> None:
    """`backup` and `restore` under the top-level command parser."""
    save = commands.add_parser(
        "backup",
        help="copy the database to FILE (SQLite's online backup; safe while the server runs)",
        epilog="example: flux-edge backup --data-dir /var/lib/flux-edge flux-edge-$(date +%F).db",
    )
    save.add_argument("file", metavar="FILE", help="the backup file to write")
    save.add_argument("--data-dir", help="the server's data dir (FLUX_EDGE_DATA_DIR)")
    save.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    load = commands.add_parser(
        "restore",
        help="copy a backup FILE into the data dir's database (stop the server first)",
        epilog="example: flux-edge restore --data-dir /var/lib/flux-edge flux-edge-2026-12-01.db",
    )
    load.add_argument("file", metavar="FILE", help="a file written by `flux-edge backup`")
    load.add_argument("--data-dir", help="the data dir to restore into (FLUX_EDGE_DATA_DIR)")
    load.add_argument(
        "--force",
        action="store_true",
        help="replace an existing database, even one a running server uses",
    )


def run_backup_command(args: argparse.Namespace) -> int:
    """Run `backup` or `restore`; one line on stderr and exit status 1 on failure."""
    settings = load_settings({"data_dir": args.data_dir})
    file = Path(args.file)
    try:
        if args.command == "backup":
            pages = backup(
                settings.database_path, file, force=args.force, progress=terminal_progress("backup")
            )
            print(f"backed up {settings.database_path} to {file} ({pages} pages)", file=sys.stderr)
        else:
            pages = restore(
                file, settings.data_dir, force=args.force, progress=terminal_progress("restore")
            )
            print(
                f"restored {file} into {settings.database_path} ({pages} pages); "
                "start the server to use it",
                file=sys.stderr,
            )
    except BackupError as exc:
        print(f"flux-edge: {exc}", file=sys.stderr)
        return 1
    return 0
