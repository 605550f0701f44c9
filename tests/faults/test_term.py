"""SIGTERM under load: calls in flight finish (or are refused with 503), and every record is written."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import ADMIN_TOKEN, database_rows, wait_for_calls_in_flight

from .support import FAST, SLOW, Ledger, invoke_until

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}


def slow_call(base: str) -> tuple[float, httpx.Response | None]:
    """One call of the slow function; the time it was sent and its answer (None if refused)."""
    sent = time.monotonic()
    try:
        return sent, httpx.post(f"{base}/api/v1/functions/slow/invoke", timeout=30)
    except httpx.TransportError:
        return sent, None


def test_sigterm_lets_calls_in_flight_finish_and_writes_every_record(start_server, tmp_path):
    server = start_server(tmp_path / "data", extra_env=SERVER_ENV)
    admin = server.client(ADMIN_TOKEN)
    for name, code in (("slow", SLOW), ("fast", FAST)):
        assert (
            admin.post(
                "/api/v1/functions", json={"name": name, "code": code, "enabled": True}
            ).status_code
            == 201
        )

    ledger, stop = Ledger(), threading.Event()
    fast_clients = [
        threading.Thread(target=invoke_until, args=(server.url, "fast", stop, ledger))
        for _ in range(3)
    ]
    for thread in fast_clients:
        thread.start()
    with ThreadPoolExecutor(8) as pool:
        in_flight = [pool.submit(slow_call, server.url) for _ in range(8)]
        wait_for_calls_in_flight(server.url, "slow", 8)  # all inside their 1.5 s wait
        terminated_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        slow = [future.result() for future in in_flight]
    exit_code = server.process.wait(30)
    stop.set()
    for thread in fast_clients:
        thread.join(10)

    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit too.
    assert exit_code in (0, -signal.SIGTERM), server.stderr()[-2000:]
    assert all(sent < terminated_at for sent, _ in slow)
    statuses = [response.status_code if response is not None else None for _, response in slow]
    assert all(status in (200, 503) for status in statuses), statuses
    assert statuses.count(200) >= 1
    for _, response in slow:
        if response is not None and response.status_code == 200:
            assert response.text == "slow done"
            ledger.executions[response.headers["x-flux-execution-id"]] = time.monotonic()
            ledger.statuses[response.headers["x-flux-execution-id"]] = 200
    assert not ledger.other, ledger.other[:5]

    # Every answered call has its record, written on the way out; nothing else was recorded.
    rows = database_rows(server.database_path)
    recorded = {row[0]: row[5] for row in rows["executions"]}
    assert set(recorded) == set(ledger.executions)
    assert all(recorded[i] == ledger.statuses[i] for i in recorded)
    assert "stopped" in server.stdout()
