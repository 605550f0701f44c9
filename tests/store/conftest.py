"""Fixtures for the store tests: a real SQLite database file in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flux_edge.store.sqlite import SQLiteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "flux-edge.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    # A long flush interval: tests that want records written call flush_executions() themselves.
    opened = await SQLiteStore.open(db_path, flush_interval=30.0)
    yield opened
    await opened.close()
