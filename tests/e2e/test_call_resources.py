"""Each call's JavaScript CPU time and its isolate's heap, in execution records and /metrics,
against real servers (isolates in host processes, the default, and in the server process)."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flux_edge.runtime.usage import HEAP_SAMPLE_SECONDS
from tests.conftest import ADMIN_TOKEN, written_executions

# A fixed amount of work (some 10-50 ms of CPU), however busy the machine is.
BUSY = """
function handler() {
  let n = 0;
  for (let i = 0; i < 5e6; i++) n += Math.sqrt(i);
  return { status: 200, body: String(n > 0) };
}
"""
# Waits as long, doing nothing.
IDLE = """
async function handler() {
  await new Promise((resolve) => setTimeout(resolve, 40));
  return { status: 200, body: 'rested' };
}
"""
# Keeps ~4 MB more on every call (the array lives on in the isolate).
KEEPS = """
globalThis.kept = [];
function handler() {
  kept.push(Array.from({ length: 500000 }, (_, i) => i + kept.length));
  return { status: 200, body: String(kept.length) };
}
"""


def deploy(admin: httpx.Client, name: str, code: str) -> None:
    body = {"name": name, "code": code, "enabled": True}
    assert admin.post("/api/v1/functions", json=body).status_code == 201, name


def invoke(admin: httpx.Client, name: str) -> None:
    assert admin.post(f"/api/v1/functions/{name}/invoke").status_code == 200


def records(admin: httpx.Client, name: str, count: int) -> list[dict]:
    """The function's records (newest first) once `count` of them are written."""
    rows = written_executions(admin, name, count)
    assert len(rows) == count, rows
    return rows


def scrape(admin: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = admin.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(params=["hosted", "in-process"])
def server(request, start_server):
    env = {} if request.param == "hosted" else {"FLUX_EDGE_ISOLATE_HOSTS": "false"}
    return start_server(extra_env=env)


def test_a_busy_call_shows_more_cpu_time_than_an_idle_one(server):
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "busy", BUSY)
    deploy(admin, "idle", IDLE)
    for _ in range(3):
        invoke(admin, "busy")
        invoke(admin, "idle")
    busy, idle = records(admin, "busy", 3), records(admin, "idle", 3)
    for row in busy + idle:
        assert row["cpu_time_ms"] is not None, row
        assert row["heap_used_bytes"] > 0, row
        # One thread's CPU time cannot exceed the call's wall time.
        assert row["cpu_time_ms"] <= row["duration_ms"] + 1, row
    least_busy = min(r["cpu_time_ms"] for r in busy)
    most_idle = max(r["cpu_time_ms"] for r in idle)
    assert least_busy > 4 * most_idle, (busy, idle)
    assert least_busy > 1, busy

    metrics = scrape(admin)
    count = ("flux_edge_invocation_cpu_seconds_count", (("function", "busy"),))
    total = metrics[("flux_edge_invocation_cpu_seconds_sum", (("function", "busy"),))]
    assert metrics[count] == 3
    assert total == pytest.approx(sum(r["cpu_time_ms"] for r in busy) / 1000, rel=0.01)
    idle_total = metrics[("flux_edge_invocation_cpu_seconds_sum", (("function", "idle"),))]
    assert idle_total < total / 4


def test_the_heap_grows_for_a_function_that_keeps_memory(server):
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "keeps", KEEPS)
    heap_key = ("flux_edge_isolate_heap_bytes", (("function", "keeps"),))
    gauges = []
    for _ in range(4):
        invoke(admin, "keeps")
        gauges.append(scrape(admin)[heap_key])
        time.sleep(HEAP_SAMPLE_SECONDS * 1.5)  # calls further apart than the heap sampling
    heaps = [r["heap_used_bytes"] for r in reversed(records(admin, "keeps", 4))]
    assert heaps == sorted(heaps), heaps
    assert len(set(heaps)) == 4, heaps
    # Each call keeps 500,000 small integers: 2 MB (4-byte compressed pointers) plus whatever
    # garbage the reading catches; a loaded run measured 6.0 MB over three calls, another 12.
    assert heaps[-1] - heaps[0] > 4_500_000, heaps
    assert gauges == heaps, (gauges, heaps)
