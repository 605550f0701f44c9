"""A real stack for scheduler tests: SQLite file, V8 runtime, function and invocation services.

Schedulers here are driven by `tick(now)` with chosen times, so due runs need no waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flux_edge.runtime import PoolLimits, Runtime
from flux_edge.scheduler import CronLedger, CronScheduler
from flux_edge.service.functions import FunctionChanges, FunctionService
from flux_edge.service.invocations import InvocationService
from flux_edge.store.base import ExecutionQuery, ExecutionRecord
from flux_edge.store.sqlite import SQLiteStore
from tests.services import open_services

START = datetime(2026, 1, 5, 10, 0, 30, tzinfo=UTC)


@dataclass
class Stack:
    """One worker's worth of services over a database file."""

    store: SQLiteStore
    functions: FunctionService
    invocations: InvocationService
    db_path: Path

    def scheduler(self, worker: str = "worker-1") -> CronScheduler:
        """A scheduler for this worker; the test drives it with tick(now)."""
        return CronScheduler(
            CronLedger(self.db_path, worker=worker),
            self.invocations,
            invoke_url=lambda name: f"http://127.0.0.1:8080/api/v1/functions/{name}/invoke",
            clock=lambda: START,
        )

    async def deploy(self, name: str, code: str, schedule: str | None, **fields: object) -> str:
        """Create an enabled function with a schedule; returns its id."""
        changes = FunctionChanges(code=code, enabled=True, cron_schedule=schedule, **fields)  # type: ignore[arg-type]
        return (await self.functions.create(name, changes, "test")).id

    async def executions(self, function_id: str) -> list[ExecutionRecord]:
        """The function's recorded executions, newest first, after flushing the writer."""
        await self.store.flush_executions()
        return await self.store.list_executions(ExecutionQuery(function_id=function_id))


async def _stack(db_path: Path, runtime: Runtime) -> Stack:
    store, functions, invocations = await open_services(db_path, runtime)
    return Stack(store, functions, invocations, db_path)


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime(PoolLimits(max_isolates=8))
    await rt.start()
    yield rt
    await rt.close(grace=0.5)


@pytest.fixture
async def stack(tmp_path: Path, runtime: Runtime) -> AsyncIterator[Stack]:
    opened = await _stack(tmp_path / "data" / "flux-edge.db", runtime)
    yield opened
    await opened.store.close()


@pytest.fixture
async def second_worker(stack: Stack, runtime: Runtime) -> AsyncIterator[Stack]:
    """Another store on the same database file, as a second worker process has."""
    opened = await _stack(stack.db_path, runtime)
    yield opened
    await opened.store.close()


@pytest.fixture
def at() -> Callable[[str], datetime]:
    """`at("10:01:00")`: that time on the test's day, in UTC."""
    return lambda hms: datetime.fromisoformat(f"2026-01-05T{hms}+00:00")
