"""The database schema as an ordered list of migration steps, keyed on `PRAGMA user_version`.

Step N (1-based) brings the database from version N-1 to N. To change the schema, append one entry
to `MIGRATIONS`, never edit an applied one. A step is SQL text (several statements are fine) or a
function taking the connection. All pending steps run in one transaction with foreign keys on;
before an existing database is migrated, a copy is saved beside it as `<db>.bak-v<old version>`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import apsw
import structlog

from flux_edge.store._connection import transaction

log = structlog.get_logger(__name__)

Migration = str | Callable[[apsw.Connection], None]

_V1_CORE = """
CREATE TABLE functions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    code TEXT NOT NULL,
    compiled TEXT NOT NULL,
    version INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    memory_limit_mb INTEGER NOT NULL,
    allow_net INTEGER NOT NULL,
    allow_env INTEGER NOT NULL,
    allow_read INTEGER NOT NULL,
    allow_write INTEGER NOT NULL,
    allow_unauthenticated INTEGER NOT NULL,
    cron_schedule TEXT,
    env TEXT NOT NULL DEFAULT '{}',  -- JSON object of the function's own variables
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    created_by TEXT
);

CREATE TABLE function_versions (
    function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    code TEXT NOT NULL,
    compiled TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    PRIMARY KEY (function_id, version)
);

-- executed_at is returned as the record gave it; executed_us (microseconds since the epoch) is what
-- ordering and pruning use, so "...:00Z" and "...:00.5Z" sort correctly against each other.
CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    function_version INTEGER NOT NULL,
    trigger_type TEXT NOT NULL,
    status TEXT NOT NULL,
    status_code INTEGER,
    duration_ms INTEGER,
    result TEXT,
    logs TEXT,
    error_message TEXT,
    executed_at TEXT NOT NULL,
    executed_us INTEGER NOT NULL,
    completed_at TEXT
);
-- Listing newest first walks these backwards: ascending entries end in the implicit rowid, so
-- "ORDER BY executed_us DESC, rowid DESC" (newest insert first among equal times) needs no sort.
-- Declaring executed_us DESC here would make SQLite sort every group of equal timestamps.
CREATE INDEX executions_newest ON executions (function_id, executed_us);
CREATE INDEX executions_newest_by_status ON executions (function_id, status, executed_us);
CREATE INDEX executions_newest_by_trigger ON executions (function_id, trigger_type, executed_us);
CREATE INDEX executions_by_age ON executions (executed_us);

-- A name is unique among unrevoked tokens only, so a revoked name can be issued again.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# The scheduler's claims: one row per (function, due time), inserted by whichever worker process
# gets there first, which is the one that runs it. A 'running' row younger than its lease blocks
# the next run of the same function (no overlap). Read and written by flux_edge.scheduler only.
_V2_CRON_CLAIMS = """
CREATE TABLE cron_claims (
    function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    due_at TEXT NOT NULL,  -- RFC 3339 UTC, whole seconds
    claimed_by TEXT NOT NULL,
    outcome TEXT NOT NULL,  -- running, done, skipped
    lease_until REAL NOT NULL,  -- epoch seconds; a running claim past it is presumed dead
    PRIMARY KEY (function_id, due_at)
);
CREATE INDEX cron_claims_running ON cron_claims (function_id) WHERE outcome = 'running';
"""

# Multi-file functions: the uploaded files, entrypoint and resolved packages as one JSON object
# (NULL for a single-`code` function), on the function and on each version so rollback restores it.
_V3_SOURCES = """
ALTER TABLE functions ADD COLUMN sources TEXT;
ALTER TABLE function_versions ADD COLUMN sources TEXT;
"""

# API token scopes: `manage` (the management API and every function) or `invoke` (calling
# functions, private ones included, and nothing else). Tokens made before scopes could manage.
_V4_API_SCOPES = """
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'manage';
"""

# Per-call resources, for tuning from the history: the JavaScript CPU time of the call (ms,
# fractional) and its isolate's V8 used heap after the call (bytes); NULL when not measured
# (records written before this step, calls that never reached an isolate). See docs/metrics.md.
_V5_CALL_RESOURCES = """
ALTER TABLE executions ADD COLUMN cpu_time_ms REAL;
ALTER TABLE executions ADD COLUMN heap_used_bytes INTEGER;
"""

# Append new steps here (one line each; put long SQL in a constant above). Never edit applied steps.
MIGRATIONS: list[Migration] = [
    _V1_CORE,
    _V2_CRON_CLAIMS,
    _V3_SOURCES,
    _V4_API_SCOPES,
    _V5_CALL_RESOURCES,
]


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer flux-edge than this one."""


def schema_version(conn: apsw.Connection) -> int:
    """The database's `PRAGMA user_version`."""
    return cast(int, conn.execute("PRAGMA user_version").fetchall()[0][0])


def migrate(conn: apsw.Connection, path: Path, steps: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the pending `steps` to the database at `path` (open as `conn`); returns its version."""
    target = len(steps)
    current = schema_version(conn)
    if current > target:
        raise SchemaTooNewError(
            f"{path} has schema version {current} but this flux-edge knows only up to {target}; "
            "run a newer flux-edge or restore a backup"
        )
    if current == target:
        return current
    if current > 0:
        backup = path.with_name(f"{path.name}.bak-v{current}")
        backup_database(conn, backup)
        log.info("database backed up before migration", backup=str(backup), version=current)
    with transaction(conn):
        # Another process may have migrated between the first look and taking the write lock.
        current = schema_version(conn)
        for version in range(current + 1, target + 1):
            step = steps[version - 1]
            if isinstance(step, str):
                conn.execute(step)
            else:
                step(conn)
        conn.execute(f"PRAGMA user_version = {int(target)}")
    if current < target:
        log.info("database migrated", path=str(path), from_version=current, to_version=target)
    return target


def backup_database(conn: apsw.Connection, dest: Path) -> None:
    """Copy the whole database behind `conn` to `dest` with SQLite's online backup API."""
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    target = apsw.Connection(str(partial))
    try:
        with target.backup("main", conn, "main") as backup:
            backup.step(-1)  # all pages in one step: one consistent snapshot
    finally:
        target.close()
    # A half-written copy must never carry the final name.
    os.replace(partial, dest)
