"""FunctionService rules that HTTP tests cannot reach reliably: concurrency, file clean-up."""

from __future__ import annotations

import asyncio

import pytest

from flux_edge.runtime import PoolLimits, Runtime
from flux_edge.runtime.codeforms import compile_source
from flux_edge.service.errors import InvalidInputError
from flux_edge.service.functions import FunctionChanges, FunctionService
from flux_edge.service.metrics import InvocationMetrics
from flux_edge.store.sqlite import SQLiteStore
from tests.services import open_services

HANDLER = "function handler() { return 'ok'; }"


@pytest.fixture
async def service(tmp_path):
    store = await SQLiteStore.open(tmp_path / "flux-edge.db")
    # No CodeChecker: these tests are about versions and files, not about loading code into V8.
    yield FunctionService(
        store, compile_source=compile_source, checker=None, functions_dir=tmp_path / "functions"
    )
    await store.close()


async def test_concurrent_updates_each_get_their_own_version(service):
    await service.create("busy", FunctionChanges(code=HANDLER), created_by="admin")
    results = await asyncio.gather(
        *(service.update("busy", FunctionChanges(timeout_seconds=n)) for n in range(1, 9))
    )
    assert sorted(r.version for r in results) == list(range(2, 10))
    assert [v.version for v in await service.list_versions("busy")] == list(range(1, 10))


async def test_delete_removes_the_function_files(service, tmp_path):
    created = await service.create("files", FunctionChanges(code=HANDLER), created_by=None)
    jail = tmp_path / "functions" / created.id
    jail.mkdir(parents=True)
    (jail / "data.txt").write_text("x")
    await service.delete("files")
    assert not jail.exists()


async def test_typescript_is_compiled_and_the_source_kept(service):
    source = "export function handler(req: unknown): string { return 'ok'; }"
    created = await service.create("ts", FunctionChanges(code=source), created_by=None)
    assert created.code == source
    assert ": unknown" not in created.compiled


@pytest.mark.parametrize("cron", ["*/5 * * * *", "0 0 * * 1-5", "15 3 1 1 *"])
async def test_five_field_cron_expressions_are_accepted(service, cron):
    created = await service.create(
        f"cron-{abs(hash(cron))}", FunctionChanges(code=HANDLER, cron_schedule=cron), None
    )
    assert created.cron_schedule == cron


@pytest.mark.parametrize("cron", ["@hourly", "* * * *", "0 0 * * * *", "60 * * * *", ""])
async def test_other_cron_expressions_are_refused(service, cron):
    with pytest.raises(InvalidInputError):
        await service.create("bad-cron", FunctionChanges(code=HANDLER, cron_schedule=cron), None)


async def test_a_deploy_works_out_its_metric_series_before_the_first_call(tmp_path):
    # A new function's 43 metric keys (~0.3 ms) are made once the deploy has been answered, not
    # on the cold start's path by its first call.
    runtime = Runtime(PoolLimits(max_isolates=4))
    await runtime.start()
    metrics = InvocationMetrics(tmp_path / "metrics")
    store, functions, _ = await open_services(tmp_path / "flux-edge.db", runtime, metrics)
    try:
        await functions.create("fresh", FunctionChanges(code=HANDLER, enabled=True), None)
        await asyncio.sleep(0)
        assert "fresh" in metrics._series
    finally:
        await runtime.close(grace=0.5)
        await store.close()
