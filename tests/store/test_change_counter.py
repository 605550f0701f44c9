"""`change_counter`: a cheap signal that stored data may have changed, in any worker."""

from __future__ import annotations

from pathlib import Path

from flux_edge.store.sqlite import SQLiteStore

from .factories import function_record


async def test_the_counter_stays_put_without_writes(store: SQLiteStore) -> None:
    before = store.change_counter()
    await store.get_function("hello")
    assert store.change_counter() == before


async def test_the_counter_moves_after_this_stores_own_write(store: SQLiteStore) -> None:
    before = store.change_counter()
    await store.create_function(function_record())
    assert store.change_counter() != before


async def test_the_counter_moves_after_another_workers_write(
    store: SQLiteStore, db_path: Path
) -> None:
    other = await SQLiteStore.open(db_path)
    try:
        before = store.change_counter()
        await other.create_function(function_record())
        assert store.change_counter() != before
    finally:
        await other.close()


async def test_the_counter_stays_put_while_execution_records_are_written(
    store: SQLiteStore,
) -> None:
    from .factories import execution_record

    record = function_record()
    await store.create_function(record)
    before = store.change_counter()
    store.enqueue_execution(execution_record(function_id=record.id))
    await store.flush_executions()
    assert store.change_counter() == before


async def test_the_counter_moves_after_an_update_and_a_delete(store: SQLiteStore) -> None:
    import msgspec

    record = function_record()
    await store.create_function(record)
    before = store.change_counter()
    await store.update_function(msgspec.structs.replace(record, version=2), new_code=True)
    after_update = store.change_counter()
    await store.delete_function(record.name)
    assert before != after_update != store.change_counter()
