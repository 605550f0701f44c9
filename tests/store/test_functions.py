"""Functions and their versions in the SQLite store."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from flux_edge.store.base import (
    NameConflictError,
    NotFoundError,
    SourceSet,
    VersionConflictError,
)
from flux_edge.store.sqlite import SQLiteStore

from .factories import count_rows, execution_record, function_record


async def test_a_created_function_reads_back_field_for_field(store: SQLiteStore) -> None:
    record = function_record(cron_schedule="*/5 * * * *", env={"A": "1", "B": "é"}, enabled=False)
    await store.create_function(record)
    assert await store.get_function("hello") == record


async def test_an_unknown_function_reads_as_none(store: SQLiteStore) -> None:
    assert await store.get_function("nope") is None


async def test_creating_stores_the_first_version(store: SQLiteStore) -> None:
    record = function_record()
    await store.create_function(record)
    (version,) = await store.list_versions(record.id)
    assert (version.version, version.code, version.compiled) == (1, record.code, record.compiled)
    assert version.created_by == "user-1"


async def test_a_taken_name_is_a_name_conflict(store: SQLiteStore) -> None:
    await store.create_function(function_record("dup", id="a"))
    with pytest.raises(NameConflictError):
        await store.create_function(function_record("dup", id="b"))
    assert [f.id for f in await store.list_functions()] == ["a"]


async def test_functions_are_listed_by_name(store: SQLiteStore) -> None:
    for name in ["charlie", "alpha", "bravo"]:
        await store.create_function(function_record(name))
    assert [f.name for f in await store.list_functions()] == ["alpha", "bravo", "charlie"]


async def test_an_update_with_new_code_adds_a_version(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    updated = function_record(
        code="// v2", compiled="// v2", version=2, updated_at="2024-10-27T00:00:00Z"
    )
    await store.update_function(updated, new_code=True)
    assert await store.get_function("hello") == updated
    v2 = await store.get_version(updated.id, 2)
    assert v2 is not None
    assert (v2.code, v2.created_at) == ("// v2", "2024-10-27T00:00:00Z")
    assert [v.version for v in await store.list_versions(updated.id)] == [1, 2]


async def test_an_update_without_new_code_adds_no_version(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    await store.update_function(function_record(enabled=False, version=2), new_code=False)
    current = await store.get_function("hello")
    assert current is not None
    assert (current.enabled, current.version) == (False, 2)
    assert [v.version for v in await store.list_versions(current.id)] == [1]


async def test_updating_a_missing_function_is_not_found(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError):
        await store.update_function(function_record(), new_code=True)


async def test_storing_a_version_twice_is_a_version_conflict(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    await store.update_function(function_record(code="first", version=2), new_code=True)
    with pytest.raises(VersionConflictError):
        await store.update_function(function_record(code="second", version=2), new_code=True)
    current = await store.get_function("hello")
    assert current is not None
    assert current.code == "first"  # the losing update changed nothing


async def test_renaming_onto_a_taken_name_is_a_name_conflict(store: SQLiteStore) -> None:
    await store.create_function(function_record("one"))
    await store.create_function(function_record("two"))
    with pytest.raises(NameConflictError):
        await store.update_function(function_record("two", id="fn-one"), new_code=False)


async def test_an_unknown_version_reads_as_none(store: SQLiteStore) -> None:
    await store.create_function(function_record())
    assert await store.get_version("fn-hello", 7) is None


async def test_delete_returns_the_function_and_removes_versions_and_executions(
    store: SQLiteStore, db_path: Path
) -> None:
    record = function_record()
    await store.create_function(record)
    await store.update_function(function_record(version=2, code="v2"), new_code=True)
    await store.create_function(function_record("other"))
    for function_id in ["fn-hello", "fn-hello", "fn-other"]:
        store.enqueue_execution(execution_record(function_id))
    await store.flush_executions()

    deleted = await store.delete_function("hello")

    assert deleted.id == record.id
    assert await store.get_function("hello") is None
    assert await store.list_versions(record.id) == []
    assert count_rows(db_path, "executions") == 1  # only the other function's
    assert count_rows(db_path, "function_versions") == 1


async def test_deleting_a_missing_function_is_not_found(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError):
        await store.delete_function("nope")


async def test_updating_a_missing_function_onto_a_taken_name_is_not_found(
    store: SQLiteStore,
) -> None:
    await store.create_function(function_record("taken"))
    with pytest.raises(NotFoundError):
        await store.update_function(function_record("taken", id="missing"), new_code=False)


async def test_a_multi_file_function_keeps_its_sources_on_the_function_and_each_version(
    store: SQLiteStore,
) -> None:
    sources = SourceSet(
        entrypoint="hello/index.ts",
        files={"hello/index.ts": "export default () => 1;", "_shared/x.ts": "export {};"},
        packages={"zod@3.24.2": "sha512-abc"},
    )
    record = function_record(sources=sources)
    await store.create_function(record)
    assert (await store.get_function("hello")) == record
    updated = msgspec.structs.replace(record, version=2, sources=None)
    await store.update_function(updated, new_code=True)
    first, second = await store.list_versions(record.id)
    assert (first.sources, second.sources) == (sources, None)
    assert (await store.get_version(record.id, 1)).sources == sources
