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
        await other.set_meta("k", "v")
        assert store.change_counter() != before
    finally:
        await other.close()
