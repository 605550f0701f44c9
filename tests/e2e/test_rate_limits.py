"""Rate limits against real server processes: budgets, headers, honest waits, shared workers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, ServerProcess, spawn_server
from tests.e2e.test_zygote_prestart import workers_of

BODY = b"x" * 65536  # far more than a worker reads of its own while idle (its hosts' pings)


def bytes_read(pid: int) -> int:
    """What process `pid` has read so far (`rchar`: sockets included)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no rchar for {pid}")


# A function whose isolate keeps a random id in its globals, so responses tell isolates apart.
WHO = (
    "function handler() {\n"
    "  globalThis.who = globalThis.who || String(Math.random());\n"
    "  return {status: 200, body: globalThis.who};\n"
    "}"
)
# Explicit, so these tests hold whatever default the shared fixtures choose.
ON = {"FLUX_EDGE_RATE_LIMITS": "on"}
FAST_LIMITS = {
    **ON,
    "FLUX_EDGE_RATE_LIMIT_WRITE": "2/4s",  # one write every 2 s after a burst of 2
    "FLUX_EDGE_RATE_LIMIT_INVOKE": "3/min",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with the default limits (the reference's table)."""
    srv = spawn_server(tmp_path_factory.mktemp("limited") / "data", extra_env=ON)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tokens(make_jwt):
    """Callable minting a distinct management credential each time (a JWT with its own sub)."""
    return lambda: make_jwt({"sub": uuid.uuid4().hex, "role": "service_role"})


def write(client: httpx.Client) -> httpx.Response:
    """A management write that does nothing (404) but counts against the write budget."""
    return client.put("/api/v1/functions/no-such-function", json={"description": "x"})


def burst_of_writes(server: ServerProcess, tokens, count: int) -> list[httpx.Response]:
    """`count` writes of a fresh credential, all sent within one second: 60/min refills one
    write a second, so on a loaded machine a slower burst is sent again with another credential
    until one fits (the server's span lies within the client's)."""
    for _ in range(10):
        client = server.client(tokens())
        started = time.monotonic()
        responses = [write(client) for _ in range(count)]
        if time.monotonic() - started < 1.0:
            return responses
    pytest.fail(f"{count} writes never fitted in one second on this machine")


def test_the_61st_write_within_a_minute_is_refused_with_body_and_headers(server, tokens):
    *allowed, refused = burst_of_writes(server, tokens, 61)
    for n, response in enumerate(allowed):
        assert response.status_code == 404, response.text
        assert response.headers["x-ratelimit-limit"] == "60"
        assert response.headers["x-ratelimit-remaining"] == str(59 - n)
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "Rate limit exceeded"
    assert body["retry_after"] == 1  # 60/min refills one request a second
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-limit"] == "60"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert 59 <= int(refused.headers["x-ratelimit-reset"]) <= 60


def test_another_token_is_not_affected(server, tokens):
    statuses = [response.status_code for response in burst_of_writes(server, tokens, 61)]
    assert statuses[-1] == 429
    other = server.client(tokens())
    assert write(other).status_code == 404


def test_each_limited_endpoint_reports_its_own_limit(server):
    admin = server.client(ADMIN_TOKEN)
    created = admin.post(
        "/api/v1/functions",
        json={"name": f"f-{uuid.uuid4().hex[:8]}", "code": WHO, "enabled": True},
    )
    name = created.json()["name"]
    limits = {
        f"/api/v1/functions/{name}": "300",
        "/api/v1/functions": "300",
        f"/api/v1/functions/{name}/executions": "300",
        f"/api/v1/functions/{name}/invoke": "600",
    }
    for path, limit in limits.items():
        response = admin.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-limit"] == limit, path
    assert created.headers["x-ratelimit-limit"] == "60"


def test_a_functions_own_response_carries_its_limit_fields_once_after_its_own(server):
    # The response goes out whole (flux_edge/http/cycle.py `send_whole`), the limiter's fields
    # added to the function's as the ASGI messages would have them.
    admin = server.client(ADMIN_TOKEN)
    name = f"f-{uuid.uuid4().hex[:8]}"
    code = 'Deno.serve(() => new Response("hi", { headers: { "x-own": "yes" } }));'
    created = admin.post("/api/v1/functions", json={"name": name, "code": code, "enabled": True})
    assert created.status_code == 201, created.text
    with server.client() as caller:  # one kept-alive connection, anonymous: one budget
        for n in range(3):
            response = caller.get(f"/functions/v1/{name}")
            assert (response.status_code, response.text) == (200, "hi")
            fields = [field.lower() for field, _ in response.headers.raw]
            assert fields.index(b"x-own") < fields.index(b"x-ratelimit-limit")
            for field in (b"x-own", b"x-ratelimit-limit", b"x-ratelimit-remaining", b"date"):
                assert fields.count(field) == 1, (field, fields)
            assert response.headers["x-ratelimit-limit"] == "600"
            assert response.headers["x-ratelimit-remaining"] == str(599 - n)
            assert response.headers["content-length"] == "2"


def test_endpoints_outside_the_api_carry_no_limit_headers(server):
    assert "x-ratelimit-limit" not in server.client().get("/health").headers


def test_waiting_retry_after_is_enough(start_server):
    srv = start_server(extra_env=FAST_LIMITS)
    admin = srv.client(ADMIN_TOKEN)
    assert [write(admin).status_code for _ in range(3)] == [404, 404, 429]
    refused = write(admin)
    wait = int(refused.headers["retry-after"])
    assert refused.json()["retry_after"] == wait
    assert 1 <= wait <= 2
    time.sleep(wait)
    assert write(admin).status_code == 404


def test_anonymous_invocations_are_limited_per_client_and_function(start_server):
    srv = start_server(extra_env=FAST_LIMITS)
    admin, anonymous = srv.client(ADMIN_TOKEN), srv.client()
    for name in ("one", "two"):
        admin.post("/api/v1/functions", json={"name": name, "code": WHO, "enabled": True})
    statuses = [anonymous.post("/api/v1/functions/one/invoke").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert anonymous.post("/api/v1/functions/two/invoke").status_code == 200
    assert admin.post("/api/v1/functions/one/invoke").status_code == 200


def test_rate_limits_off_admits_everything(start_server):
    srv = start_server(extra_env={**FAST_LIMITS, "FLUX_EDGE_RATE_LIMITS": "off"})
    admin = srv.client(ADMIN_TOKEN)
    responses = [write(admin) for _ in range(10)]
    assert {r.status_code for r in responses} == {404}
    assert "x-ratelimit-limit" not in responses[0].headers


def test_two_worker_processes_share_one_budget(start_server):
    srv = start_server(
        args=["--workers", "2"], extra_env={**ON, "FLUX_EDGE_RATE_LIMIT_INVOKE": "40/h"}
    )
    srv.client(ADMIN_TOKEN).post(
        "/api/v1/functions", json={"name": "who", "code": WHO, "enabled": True}
    )
    workers = workers_of(srv.process.pid)
    assert len(workers) == 2
    before = [bytes_read(worker) for worker in workers]
    statuses = []
    # Enough admitted calls that the kernel all but surely hands some to each worker.
    for _ in range(80):
        # A new connection each time, so the kernel spreads requests over both workers.
        response = httpx.post(f"{srv.url}/api/v1/functions/who/invoke", content=BODY, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [200] * 40 + [429] * 40
    # Both workers read calls' bodies (the workers share the function's isolate, so its answers
    # cannot tell them apart); with a budget per worker, the second would have admitted more
    # than 40 in total.
    read = [bytes_read(worker) - old for worker, old in zip(workers, before, strict=True)]
    assert all(count >= len(BODY) for count in read), read
