"""Which address a request is counted, logged and shown to functions under: the TCP peer, or the
caller a trusted proxy names in X-Forwarded-For (docs/rate-limits-cron-websocket.md)."""

from __future__ import annotations

import json

import httpx

from tests.conftest import ADMIN_TOKEN, ServerProcess

WHO_CALLS = "Deno.serve((req, info) => new Response(info.remoteAddr.hostname));"
CALLER = "203.0.113.7"


def deploy(server: ServerProcess) -> None:
    created = server.client(ADMIN_TOKEN).post(
        "/api/v1/functions", json={"name": "who-calls", "code": WHO_CALLS, "enabled": True}
    )
    assert created.status_code == 201, created.text


def call_from(server: ServerProcess, source: str, forwarded: str) -> httpx.Response:
    """Call the function over a connection from local address `source`, naming `forwarded`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.url, transport=transport, timeout=30) as client:
        return client.get("/functions/v1/who-calls", headers={"x-forwarded-for": forwarded})


def test_a_proxy_on_the_same_host_passes_each_callers_address(start_server):
    server = start_server(
        extra_env={"FLUX_EDGE_RATE_LIMITS": "on", "FLUX_EDGE_RATE_LIMIT_INVOKE": "2/min"}
    )
    deploy(server)
    answered = call_from(server, "127.0.0.1", CALLER)
    assert (answered.status_code, answered.text) == (200, CALLER)
    execution_id = answered.headers["x-flux-execution-id"]
    [line] = [
        entry
        for entry in (json.loads(text) for text in server.stdout().splitlines() if text[:1] == "{")
        if entry.get("execution_id") == execution_id
    ]
    assert line["client"] == CALLER
    # The limit is the forwarded caller's own: its budget runs out, another caller's does not.
    assert call_from(server, "127.0.0.1", CALLER).status_code == 200
    assert call_from(server, "127.0.0.1", CALLER).status_code == 429
    assert call_from(server, "127.0.0.1", "198.51.100.9").status_code == 200


def test_the_header_from_any_other_peer_is_ignored(start_server):
    server = start_server()
    deploy(server)
    # 127.0.0.2 is another loopback address: a peer that is not the trusted 127.0.0.1.
    answered = call_from(server, "127.0.0.2", CALLER)
    assert (answered.status_code, answered.text) == (200, "127.0.0.2")


def test_forwarded_allow_ips_names_other_trusted_proxies(start_server):
    server = start_server(extra_env={"FORWARDED_ALLOW_IPS": "127.0.0.2"})
    deploy(server)
    answered = call_from(server, "127.0.0.2", CALLER)
    assert (answered.status_code, answered.text) == (200, CALLER)
