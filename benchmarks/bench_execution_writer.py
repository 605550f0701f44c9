"""Write 100,000 execution records through the real batched writer and report the writer's time.

Target: 100k records in <= 2 s of writer time. Usage: `python benchmarks/bench_execution_writer.py
[--records N] [--db PATH]`. The last line printed is one JSON object for runner scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

from flux_edge.store.base import ExecutionRecord, FunctionRecord
from flux_edge.store.clock import utc_now
from flux_edge.store.sqlite import SQLiteStore

TARGET_SECONDS = 2.0
FUNCTIONS = 10


def _function(i: int) -> FunctionRecord:
    now = utc_now()
    return FunctionRecord(
        id=f"fn-{i}",
        name=f"bench-{i}",
        description=None,
        code="function handler() { return 'ok'; }",
        compiled="function handler() { return 'ok'; }",
        version=1,
        enabled=True,
        timeout_seconds=30,
        memory_limit_mb=128,
        allow_net=True,
        allow_env=True,
        allow_read=False,
        allow_write=False,
        allow_unauthenticated=True,
        cron_schedule=None,
        env={},
        created_at=now,
        updated_at=now,
        created_by=None,
    )


def _records(n: int) -> list[ExecutionRecord]:
    # Shaped like the reference's examples: a short JSON result and two log lines.
    now = utc_now()
    return [
        ExecutionRecord(
            id=str(uuid.uuid4()),
            function_id=f"fn-{i % FUNCTIONS}",
            function_version=1,
            trigger_type="http" if i % 10 else "cron",
            status="success" if i % 20 else "error",
            status_code=200,
            duration_ms=i % 300,
            result='{"sent":true,"message_id":"msg_123456"}',
            logs="console.log: Sending email to user@example.com\nconsole.log: Email sent",
            error_message=None,
            executed_at=now,
            completed_at=now,
        )
        for i in range(n)
    ]


async def run(records: int, db: Path) -> dict[str, object]:
    store = await SQLiteStore.open(db, flush_interval=3600.0)  # only the explicit flush writes
    try:
        for i in range(FUNCTIONS):
            await store.create_function(_function(i))
        batch = _records(records)

        started = time.perf_counter()
        for record in batch:
            store.enqueue_execution(record)
        enqueue_seconds = time.perf_counter() - started

        started = time.perf_counter()
        await store.flush_executions()
        writer_seconds = time.perf_counter() - started
    finally:
        await store.close()
    return {
        "benchmark": "execution_writer",
        "records": records,
        "writer_seconds": round(writer_seconds, 3),
        "records_per_second": round(records / writer_seconds),
        "enqueue_us_per_record": round(enqueue_seconds / records * 1e6, 3),
        "target_seconds": TARGET_SECONDS * records / 100_000,
        "ok": writer_seconds <= TARGET_SECONDS * records / 100_000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="database file (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args.records, args.db or Path(tmp) / "bench.db"))
    records, seconds = result["records"], result["writer_seconds"]
    print(f"wrote {records} execution records in {seconds} s of writer time")
    rate, enqueue_us = result["records_per_second"], result["enqueue_us_per_record"]
    print(f"{rate} records/s; enqueue took {enqueue_us} µs per record")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
