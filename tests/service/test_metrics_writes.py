"""When a worker's metric values reach its files: once per event-loop turn, for every call of it."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import structlog.testing
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from flux_edge.boot import ServerParts
from flux_edge.runtime.types import InvokeResult
from flux_edge.service.metrics import InvocationMetrics
from flux_edge.settings import load_settings

DONE = InvokeResult(
    outcome="success", status_code=200, headers=[], body=b"", logs="", duration_ms=2.0
)
CALLS = ("flux_edge_invocations_total", (("function", "f"), ("status", "success")))
IN_FLIGHT = ("flux_edge_invocations_in_flight", (("function", "f"),))


def read_files(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """What another worker's scrape sees: the files only, not this process's memory."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_turns_calls_reach_the_files_together_when_the_turn_ends(tmp_path):
    async def main() -> None:
        metrics = InvocationMetrics(tmp_path)
        metrics.open()
        for _ in range(5):
            metrics.started("f")
        for _ in range(3):
            metrics.observe("f", DONE)
            metrics.ended("f")
        assert CALLS not in read_files(tmp_path)  # nothing written within the turn
        await asyncio.sleep(0)
        seen = read_files(tmp_path)
        assert seen[CALLS] == 3
        assert seen[IN_FLIGHT] == 2
        metrics.observe("f", DONE)
        metrics.ended("f")
        metrics.render()  # the answering worker's own values are exact at once
        assert read_files(tmp_path)[CALLS] == 4
        metrics.started("f")
        metrics.close()  # what is pending is written before the files close
        assert read_files(tmp_path)[CALLS] == 4

    asyncio.run(main())


def test_off_the_event_loop_values_are_written_at_once(tmp_path):
    metrics = InvocationMetrics(tmp_path)
    metrics.open()
    metrics.observe("f", DONE)
    assert read_files(tmp_path)[CALLS] == 1
    metrics.close()


def test_values_counted_before_the_files_exist_reach_them_when_the_files_are_made(tmp_path):
    async def main() -> None:
        metrics = InvocationMetrics(tmp_path)
        metrics.watch_pool(lambda: 3.0, lambda: 0.0)
        metrics.observe("f", DONE)  # before `open`: nothing to write into yet
        await asyncio.sleep(0)
        assert list(tmp_path.iterdir()) == []
        metrics.open()  # the directory, at a server's start
        # The HTTP API's build thread makes the files (prometheus-client's import) off the loop,
        # here within one loop turn, which has counted a call and not written it yet.
        metrics.observe("f", DONE)
        builder = threading.Thread(target=metrics.open_files)
        builder.start()
        builder.join()
        assert CALLS not in read_files(tmp_path)
        await asyncio.sleep(0)  # the loop's next write has everything counted so far
        seen = read_files(tmp_path)
        assert seen[CALLS] == 2
        assert seen[("flux_edge_isolates", ())] == 3
        metrics.close()

    asyncio.run(main())


def test_the_first_write_makes_the_files_if_no_thread_did(tmp_path):
    async def main() -> None:
        metrics = InvocationMetrics(tmp_path)
        metrics.open()
        metrics.observe("f", DONE)
        await asyncio.sleep(0)
        assert read_files(tmp_path)[CALLS] == 1
        assert metrics.render().count(b"flux_edge_invocations_total{") == 1
        metrics.close()

    asyncio.run(main())


def test_files_that_cannot_be_made_are_logged_and_the_server_goes_on(tmp_path):
    settings = load_settings({"data_dir": tmp_path / "data"}, environ={})
    parts = ServerParts(settings, {"settings": settings})
    parts.metrics.open()  # at start: the directory is fine
    parts.metrics.directory.rmdir()
    parts.metrics.directory.write_text("not a directory any more")
    loop = asyncio.new_event_loop()
    try:
        with structlog.testing.capture_logs() as logs:
            parts.open_metrics_files(loop)  # what the HTTP API's build thread does first
    finally:
        loop.close()
    assert [e["event"] for e in logs] == ["metrics_files_failed"]
    assert logs[0]["directory"] == str(parts.metrics.directory)


def test_a_worker_that_is_the_whole_server_writes_when_scraped_and_when_it_stops(tmp_path):
    # One worker (or an app made without `flux-edge serve`): no other process reads the files,
    # so the values are not written every loop turn, and a scrape still sees every call.
    async def main() -> None:
        metrics = InvocationMetrics(tmp_path, shared=False)
        metrics.open()
        metrics.started("f")
        metrics.started("f")
        metrics.observe("f", DONE, ended=True)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert CALLS not in read_files(tmp_path)
        rendered = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics.render().decode())
            for s in family.samples
        }
        assert rendered[CALLS] == 1
        assert rendered[IN_FLIGHT] == 1
        metrics.observe("f", DONE)
        metrics.close()
        assert read_files(tmp_path)[CALLS] == 2

    asyncio.run(main())


def test_a_finished_call_leaves_the_in_flight_count_in_the_same_write(tmp_path):
    async def main() -> None:
        metrics = InvocationMetrics(tmp_path)
        metrics.open()
        metrics.started("f")
        metrics.started("f")
        metrics.observe("f", DONE, ended=True)
        metrics.observe("f", DONE)  # a call whose end was counted already (refused, say)
        await asyncio.sleep(0)
        seen = read_files(tmp_path)
        assert (seen[CALLS], seen[IN_FLIGHT]) == (2, 1)
        metrics.close()

    asyncio.run(main())


def test_a_turns_calls_are_added_up_by_outcome_kind_and_bucket_when_written(tmp_path):
    # A call only tallies; the tallies of every call of the turn reach the values at the write.
    def result(outcome: str, ms: float, cpu_ms: float | None, heap: int | None, limit=None):
        return InvokeResult(
            outcome=outcome,
            status_code=200 if outcome == "success" else 500,
            headers=[],
            body=b"",
            logs="",
            duration_ms=ms,
            cpu_time_ms=cpu_ms,
            heap_used_bytes=heap,
            limit=limit,
        )

    async def main() -> None:
        metrics = InvocationMetrics(tmp_path)
        metrics.open()
        for _ in range(4):
            metrics.started("f")
        metrics.observe("f", result("success", 2.0, 0.02, 1000), ended=True)
        metrics.observe("f", result("success", 40.0, None, None), ended=True)
        metrics.observe("f", result("error", 3.0, 0.3, 3000), ended=True)
        metrics.observe("f", result("timeout", 31_000.0, 29.0, None, limit="timeout"))
        metrics.observe("g", result("error", 1.0, 0.01, 10, limit="memory"))
        await asyncio.sleep(0)
        seen = read_files(tmp_path)

        def value(name: str, **labels: str) -> float:
            return seen[(name, tuple(sorted(labels.items())))]

        calls = "flux_edge_invocations_total"
        assert value(calls, function="f", status="success") == 2
        assert value(calls, function="f", status="error") == 1
        assert value(calls, function="f", status="timeout") == 1
        assert value(calls, function="g", status="error") == 1
        errors = "flux_edge_invocation_errors_total"
        assert value(errors, function="f", kind="exception") == 1
        assert value(errors, function="f", kind="timeout") == 1
        assert value(errors, function="g", kind="memory") == 1
        duration = "flux_edge_invocation_duration_seconds"
        assert value(duration + "_bucket", function="f", le="0.0025") == 1
        assert value(duration + "_bucket", function="f", le="0.005") == 2
        assert value(duration + "_bucket", function="f", le="0.05") == 3
        assert value(duration + "_bucket", function="f", le="30.0") == 3
        assert value(duration + "_bucket", function="f", le="+Inf") == 4
        assert value(duration + "_count", function="f") == 4
        assert abs(value(duration + "_sum", function="f") - 31.045) < 1e-9
        cpu = "flux_edge_invocation_cpu_seconds"
        assert value(cpu + "_count", function="f") == 3  # one call had no CPU reading
        assert value(cpu + "_bucket", function="f", le="5e-05") == 1
        assert abs(value(cpu + "_sum", function="f") - 0.02932) < 1e-9
        assert value("flux_edge_isolate_heap_bytes", function="f") == 3000  # the latest reading
        assert value("flux_edge_invocations_in_flight", function="f") == 1
        assert ("flux_edge_invocations_in_flight", (("function", "g"),)) not in seen
        metrics.observe("f", result("success", 2.0, 0.02, 500), ended=True)
        await asyncio.sleep(0)  # the next turn's tallies add to what was written
        seen = read_files(tmp_path)
        assert value(calls, function="f", status="success") == 3
        assert value(duration + "_count", function="f") == 5
        assert value("flux_edge_isolate_heap_bytes", function="f") == 500
        assert value("flux_edge_invocations_in_flight", function="f") == 0
        metrics.close()

    asyncio.run(main())
