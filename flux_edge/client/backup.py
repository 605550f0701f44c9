"""`flux-edge backup FILE` and `flux-edge restore FILE`: SQLite's online backup of the database.

The backup API copies a consistent snapshot page by page while the server keeps running (writers
are not blocked for long: a step copies some pages, then lets others in). A restore copies a
backup into the data dir's database the same way, so WAL files are handled by SQLite itself.
Function files written by functions (the file jails under `functions/`) are not in the database
and are not part of a backup.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import apsw

from flux_edge.client.config import ClientError
from flux_edge.service.metrics import running_server_pids

PAGES_PER_STEP = 512


class BackupError(ClientError):
    """A backup or restore that cannot be done; the message says why, in one line."""


Progress = Callable[[int, int], None]
"""Called after each step with (pages copied, pages in all)."""


def _copy(source: apsw.Connection, target: apsw.Connection, progress: Progress) -> int:
    total = 0
    with target.backup("main", source, "main") as step:
        while not step.done:
            step.step(PAGES_PER_STEP)
            total = int(step.page_count)
            progress(total - step.remaining, total)
    # Read while the backup is open: a finished, closed backup reports a page count of 0.
    return total


def backup(database: Path, file: Path, *, force: bool = False, progress: Progress) -> int:
    """Copy `database` into `file` (a new SQLite file); returns the pages copied."""
    if not database.exists():
        raise BackupError(f"no flux-edge database at {database}: pass the server's --data-dir")
    if file.exists() and not force:
        raise BackupError(f"{file} exists: choose another name or pass --force to overwrite it")
    source = apsw.Connection(str(database), flags=apsw.SQLITE_OPEN_READONLY)
    source.set_busy_timeout(10_000)
    target = apsw.Connection(str(file))
    try:
        return _copy(source, target, progress)
    finally:
        target.close()
        source.close()


def restore(file: Path, data_dir: Path, *, force: bool = False, progress: Progress) -> int:
    """Copy the backup `file` into `data_dir`'s database; returns the pages copied."""
    if not file.is_file():
        raise BackupError(f"no backup file at {file}")
    source = apsw.Connection(str(file), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        _check_backup(source, file)
        database = data_dir / "flux-edge.db"
        running = running_server_pids(data_dir)
        if running and not force:
            raise BackupError(
                f"a server (pid {', '.join(map(str, running))}) is running on {data_dir}: stop it "
                "first, or pass --force to replace its database under it"
            )
        if database.exists() and not force:
            raise BackupError(f"{database} exists: pass --force to replace it with the backup")
        data_dir.mkdir(parents=True, exist_ok=True)
        target = apsw.Connection(str(database))
        target.set_busy_timeout(10_000)
        try:
            return _copy(source, target, progress)
        finally:
            target.close()
    finally:
        source.close()


def _check_backup(source: apsw.Connection, file: Path) -> None:
    try:
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
        (verdict,) = source.execute("PRAGMA quick_check").fetchone() or ("no answer",)
    except apsw.Error as exc:
        raise BackupError(f"{file} is not a SQLite database: {exc}") from None
    if "functions" not in tables:
        raise BackupError(f"{file} is not a flux-edge backup (it has no functions table)")
    if verdict != "ok":
        raise BackupError(f"{file} is damaged: {verdict}")
