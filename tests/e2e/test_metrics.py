"""GET /metrics against real servers: totals over several workers, error kinds, refusals, auth."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client.parser import text_string_to_metric_families

from flux_edge.interpreter import from_labels, interpreter_build
from flux_edge.service.metrics import metrics_root
from tests.conftest import ADMIN_TOKEN, calls_in_flight, wait_for_calls_in_flight

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
OK = "function handler() { return {status: 200, body: 'ok'} }"
THROWS = "function handler() { throw new TypeError('bad input') }"
SPINS = "function handler() { for (;;) {} }"
BOMB = "function handler() { const a = []; for (;;) a.push(new Uint8Array(8 << 20).fill(1)) }"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels (the parser checks syntax)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def deploy(admin: httpx.Client, name: str, code: str, **fields: object) -> None:
    body = {"name": name, "code": code, "enabled": True, **fields}
    assert admin.post("/api/v1/functions", json=body).status_code == 201


def scrape(url: str, **headers: str) -> httpx.Response:
    # A new connection each time, so the workers take turns answering.
    with httpx.Client(base_url=url, headers=headers) as client:
        return client.get("/metrics")


def test_counters_add_up_over_two_workers_and_never_go_back(start_server):
    server = start_server(args=["--workers", "2"])
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "counted", OK)
    calls = 30
    for _ in range(calls):
        with httpx.Client(base_url=server.url) as client:  # spread over both workers
            assert client.post("/api/v1/functions/counted/invoke").status_code == 200
    counter_files = list(metrics_root(server.data_dir).glob("server-*/counter_*.db"))
    assert len(counter_files) == 2  # one per worker
    key = ("flux_edge_invocations_total", (("function", "counted"), ("status", "success")))
    count_key = ("flux_edge_invocation_duration_seconds_count", (("function", "counted"),))
    for _ in range(12):
        response = scrape(server.url)
        assert response.status_code == 200
        assert response.headers["content-type"] == PROMETHEUS_TEXT
        values = samples(response.text)
        assert values[key] == calls
        assert values[count_key] == calls
        assert values[("flux_edge_invocation_duration_seconds_bucket",
                       (("function", "counted"), ("le", "+Inf")))] == calls  # fmt: skip
        assert "_created" not in response.text
        assert values[("flux_edge_isolates", ())] >= 1


def test_errors_are_counted_by_kind(admin, server):
    deploy(admin, "throws", THROWS)
    deploy(admin, "spins", SPINS, timeout_seconds=1)
    deploy(admin, "bomb", BOMB, memory_limit_mb=64)
    for name in ("throws", "spins", "bomb"):
        assert admin.post(f"/api/v1/functions/{name}/invoke").status_code in (408, 500)
    values = samples(scrape(server.url).text)
    errors = "flux_edge_invocation_errors_total"
    assert values[(errors, (("function", "throws"), ("kind", "exception")))] == 1
    assert values[(errors, (("function", "spins"), ("kind", "timeout")))] == 1
    assert values[(errors, (("function", "bomb"), ("kind", "memory")))] == 1
    assert values[("flux_edge_invocations_total",
                   (("function", "spins"), ("status", "timeout")))] == 1  # fmt: skip
    assert ("flux_edge_queue_depth", ()) in values


def test_rate_limit_refusals_are_counted(start_server):
    server = start_server(
        extra_env={"FLUX_EDGE_RATE_LIMITS": "on", "FLUX_EDGE_RATE_LIMIT_LIST": "2/min"}
    )
    admin = server.client(ADMIN_TOKEN)
    statuses = [admin.get("/api/v1/functions").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    values = samples(scrape(server.url).text)
    assert values[("flux_edge_rate_limited_requests_total", (("limit", "list"),))] == 2


def test_the_server_names_the_python_it_runs_on(start_server):
    # flux-edge bench reads it, since it may run elsewhere (the server runs on this interpreter).
    server = start_server()
    [python] = [
        s
        for family in text_string_to_metric_families(scrape(server.url).text)
        for s in family.samples
        if s.name == "flux_edge_python_info"
    ]
    assert python.value == 1
    assert from_labels(python.labels) == interpreter_build()


def test_a_metrics_token_is_required_when_set(start_server):
    server = start_server(extra_env={"FLUX_EDGE_METRICS_TOKEN": "scrape-secret"})
    refused = scrape(server.url)
    assert refused.status_code == 401
    assert refused.json()["error"] == "Unauthorized"
    assert scrape(server.url, authorization="Bearer wrong").status_code == 401
    # The admin token is not the scraper's credential.
    assert scrape(server.url, authorization=f"Bearer {ADMIN_TOKEN}").status_code == 401
    allowed = scrape(server.url, authorization="Bearer scrape-secret")
    assert allowed.status_code == 200
    assert re.search(r"^# TYPE flux_edge_isolates gauge$", allowed.text, re.MULTILINE)


def test_a_restart_starts_from_zero(start_server, tmp_path):
    data = tmp_path / "restarted"
    first = start_server(data)
    deploy(first.client(ADMIN_TOKEN), "again", OK)
    first.client().post("/api/v1/functions/again/invoke")
    first.stop()
    second = start_server(data)
    second.client().post("/api/v1/functions/again/invoke")
    values = samples(scrape(second.url).text)
    key = ("flux_edge_invocations_total", (("function", "again"), ("status", "success")))
    assert values[key] == 1
    assert len(list(metrics_root(data).iterdir())) == 1  # the stopped server's directory is gone


def test_calls_in_flight_are_counted_until_they_end_waituntil_work_included(start_server):
    server = start_server(args=["--workers", "2"])
    admin = server.client(ADMIN_TOKEN)
    release = "await new Promise((r) => setTimeout(r, 1500))"
    deploy(admin, "held", f"async function handler() {{ {release}; return 'held' }}")
    deploy(
        admin,
        "tail",
        f"Deno.serve(() => {{ EdgeRuntime.waitUntil((async () => {{ {release} }})()); "
        "return new Response('early') })",
    )
    assert calls_in_flight(server.url, "held") == 0
    with ThreadPoolExecutor(3) as pool:
        held = [
            pool.submit(httpx.post, f"{server.url}/api/v1/functions/held/invoke", timeout=30)
            for _ in range(3)
        ]
        wait_for_calls_in_flight(server.url, "held", 3)
        assert [f.result().text for f in held] == ["held"] * 3
    wait_for_calls_in_flight(server.url, "held", 0)
    # The answer comes first; the call is in flight until its waitUntil work has ended.
    assert httpx.post(f"{server.url}/api/v1/functions/tail/invoke").text == "early"
    assert calls_in_flight(server.url, "tail") == 1
    wait_for_calls_in_flight(server.url, "tail", 0)
