"""Why point reads run inline on the event loop and lists on a reader thread: the costs measured.

Times `get_function` and `find_token` inline, an empty round trip through a thread
(`asyncio.to_thread`), and `list_executions` pages of 50 and 1000 rows through the reader thread.
Usage: `python benchmarks/bench_store_reads.py`. The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# The script directory is on sys.path when run as a script: reuse the writer benchmark's records.
from bench_execution_writer import _function, _records

from flux_edge.store.base import ExecutionQuery, TokenRecord
from flux_edge.store.clock import utc_now
from flux_edge.store.sqlite import SQLiteStore


async def _us_per_call(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        await call()
    return round((time.perf_counter() - started) / repeat * 1e6, 1)


async def run(db: Path) -> dict[str, object]:
    store = await SQLiteStore.open(db)
    try:
        for i in range(10):
            await store.create_function(_function(i))
        for record in _records(20_000):
            store.enqueue_execution(record)
        await store.flush_executions()
        await store.create_token(
            TokenRecord(id="t1", name="bench", token_hash="h" * 64, created_at=utc_now())
        )

        def page(limit: int) -> Callable[[], Awaitable[object]]:
            return lambda: store.list_executions(ExecutionQuery(function_id="fn-1", limit=limit))

        return {
            "benchmark": "store_reads",
            "get_function_inline_us": await _us_per_call(
                lambda: store.get_function("bench-1"), 2000
            ),
            "find_token_inline_us": await _us_per_call(lambda: store.find_token("h" * 64), 2000),
            "thread_round_trip_us": await _us_per_call(lambda: asyncio.to_thread(int), 2000),
            "list_50_executions_us": await _us_per_call(page(50), 500),
            "list_1000_executions_us": await _us_per_call(page(1000), 50),
        }
    finally:
        await store.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(Path(tmp) / "bench.db"))
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
