"""The function and invocation services wired as a server wires them, over a real SQLite file and
a real runtime: for tests of what happens between a deploy and its calls."""

from __future__ import annotations

from pathlib import Path

from flux_edge.runtime import Runtime
from flux_edge.runtime.codeforms import compile_source
from flux_edge.service.functions import FunctionService
from flux_edge.service.invocations import InvocationService
from flux_edge.service.metrics import InvocationMetrics
from flux_edge.service.sibling_notices import SiblingNotices
from flux_edge.store.sqlite import SQLiteStore


async def open_services(
    db_path: Path,
    runtime: Runtime,
    metrics: InvocationMetrics | None = None,
    notices: SiblingNotices | None = None,
) -> tuple[SQLiteStore, FunctionService, InvocationService]:
    """The store (close it after), and the services on it (as flux_edge/boot.py makes them)."""
    store = await SQLiteStore.open(db_path, flush_interval=30.0)
    functions_dir = db_path.parent / "functions"
    invocations = InvocationService(
        store, runtime, functions_dir=functions_dir, metrics=metrics, notices=notices
    )
    functions = FunctionService(
        store,
        compile_source=compile_source,
        checker=invocations,
        functions_dir=functions_dir,
        retire=runtime.retire,
        on_saved=invocations.saved,
        on_deleted=invocations.deleted,
    )
    return store, functions, invocations
