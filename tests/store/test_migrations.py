"""Creating, reopening and migrating the database file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import pytest

from flux_edge.store._migrations import MIGRATIONS, SchemaTooNewError, migrate, schema_version
from flux_edge.store.sqlite import SQLiteStore

from .factories import function_record


def _open(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path))


async def test_a_new_file_gets_the_latest_schema_in_wal_mode(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.close()
    conn = _open(db_path)
    assert schema_version(conn) == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchall()[0][0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    assert {"functions", "function_versions", "executions", "api_tokens", "meta"} <= tables
    conn.close()


async def test_a_new_file_leaves_no_backup(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.close()
    assert list(db_path.parent.glob("*.bak-*")) == []


async def test_reopening_keeps_the_data(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.create_function(function_record())
    await store.set_meta("k", "v")
    await store.close()

    reopened = await SQLiteStore.open(db_path)
    try:
        assert await reopened.get_function("hello") == function_record()
        assert await reopened.get_meta("k") == "v"
    finally:
        await reopened.close()


async def test_foreign_keys_are_enforced_on_the_store_connections(store: SQLiteStore) -> None:
    def insert_orphan_version(conn: apsw.Connection) -> None:
        conn.execute(
            "INSERT INTO function_versions (function_id, version, code, compiled, created_at, created_by)"
            " VALUES ('missing', 1, 'c', 'c', '2024-01-01T00:00:00Z',"
            " NULL)"
        )

    with pytest.raises(apsw.ConstraintError):
        await store._writer.run(insert_orphan_version)


async def test_migrating_an_older_database_backs_it_up_first(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.create_function(function_record())
    await store.close()
    old_version = len(MIGRATIONS)
    newer = [*MIGRATIONS, "CREATE TABLE rate_limits (key TEXT PRIMARY KEY, tat REAL NOT NULL)"]

    conn = _open(db_path)
    assert migrate(conn, db_path, newer) == old_version + 1
    assert schema_version(conn) == old_version + 1
    conn.close()

    backup = _open(db_path.with_name(f"{db_path.name}.bak-v{old_version}"))
    assert schema_version(backup) == old_version
    assert backup.execute("SELECT name FROM functions").fetchall() == [("hello",)]
    backup.close()


async def test_a_failing_step_leaves_the_database_at_its_old_version(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.close()
    broken = [*MIGRATIONS, "CREATE TABLE extra (x); THIS IS NOT SQL"]

    conn = _open(db_path)
    with pytest.raises(apsw.SQLError):
        migrate(conn, db_path, broken)
    assert schema_version(conn) == len(MIGRATIONS)
    assert conn.execute("SELECT name FROM sqlite_schema WHERE name = 'extra'").fetchall() == []
    conn.close()


async def test_a_database_from_a_newer_flux_edge_is_refused(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path)
    await store.close()
    conn = _open(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError):
        await SQLiteStore.open(db_path)


async def test_stores_opening_a_new_file_at_once_migrate_it_once(db_path: Path) -> None:
    # Worker processes of one node start together on the same file.
    stores = await asyncio.gather(*(SQLiteStore.open(db_path) for _ in range(3)))
    try:
        await stores[0].create_function(function_record())
        assert await stores[2].get_function("hello") == function_record()
    finally:
        for store in stores:
            await store.close()
    conn = _open(db_path)
    assert schema_version(conn) == len(MIGRATIONS)
    conn.close()
