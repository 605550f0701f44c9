"""SIGKILL in the middle of a burst of invocations and writes, then a restart on the same data dir.

The contract: an acknowledged invocation's record is durable within one second; management writes
are committed before they are acknowledged. So after a kill, every execution acknowledged more than
a second before it, and every acknowledged create and update, must be in the database, and no row
may be duplicated or half-written.
"""

from __future__ import annotations

import signal
import threading
import time

import apsw

from tests.conftest import ADMIN_TOKEN, database_rows

from .support import FAST, Ledger, invoke_until, write_until

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}
DURABLE_WITHIN = 1.0  # seconds, from the contract
STATUSES = {"success": 200, "error": 500, "timeout": 408}


def burst_then_kill(server, seconds: float) -> tuple[Ledger, float]:
    """Invoke from four clients and write from one for `seconds`, then SIGKILL the server."""
    admin = server.client(ADMIN_TOKEN)
    for name, code in (
        ("steady", FAST),
        ("failing", "function handler() { throw new Error('no') }"),
    ):
        response = admin.post(
            "/api/v1/functions", json={"name": name, "code": code, "enabled": True}
        )
        assert response.status_code == 201, response.text
    ledger, stop = Ledger(), threading.Event()
    threads = [
        threading.Thread(target=invoke_until, args=(server.url, name, stop, ledger))
        for name in ("steady", "steady", "steady", "failing")
    ]
    threads.append(
        threading.Thread(target=write_until, args=(server.url, ADMIN_TOKEN, "w", stop, ledger))
    )
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    server.process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    server.process.wait(10)
    stop.set()
    for thread in threads:
        thread.join(15)
    return ledger, killed_at


def test_a_killed_server_restarts_and_keeps_everything_acknowledged_before_the_last_second(
    start_server, tmp_path
):
    server = start_server(tmp_path / "data", extra_env=SERVER_ENV)
    ledger, killed_at = burst_then_kill(server, seconds=3.0)
    assert not ledger.other, ledger.other[:5]
    assert len(ledger.executions) > 100, "the burst was too small to prove anything"
    assert ledger.creates, "no write was acknowledged before the kill"

    # The database opens cleanly and is consistent before the server touches it again.
    conn = apsw.Connection(str(server.database_path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()

    restarted = start_server(tmp_path / "data", extra_env=SERVER_ENV)
    assert restarted.client().get("/health").json() == {"status": "ok"}
    rows = database_rows(restarted.database_path)
    executions = {row[0]: row for row in rows["executions"]}

    durable = {i for i, acked in ledger.executions.items() if acked < killed_at - DURABLE_WITHIN}
    lost = durable - set(executions)
    assert not lost, (
        f"{len(lost)} of {len(durable)} executions acknowledged >1 s before the kill are lost"
    )
    # Every record that made it is whole: a known status whose code matches, both timestamps set.
    for row in rows["executions"]:
        # The first 13 columns; later migrations append theirs (per-call CPU time and heap).
        (_id, _function_id, version, trigger, status, status_code, _duration, _result, _logs, _error,
         executed_at, executed_us, completed_at) = row[:13]  # fmt: skip
        assert trigger == "http"
        assert STATUSES[status] == status_code
        assert version >= 1
        assert executed_at
        assert executed_us
        assert completed_at
        if row[0] in ledger.statuses:
            assert ledger.statuses[row[0]] == status_code

    functions = {row[1]: row for row in rows["functions"]}
    versions: dict[str, list[int]] = {}
    for function_id, version, *_ in rows["function_versions"]:
        versions.setdefault(function_id, []).append(version)
    for name in ledger.creates:
        assert name in functions, f"acknowledged create of {name} was lost"
    for name, version in ledger.updates.items():
        stored = functions[name]
        assert stored[5] >= version, f"acknowledged version {version} of {name} was lost"
    for record in functions.values():
        function_id, stored_version = record[0], record[5]
        # No half-written function: its versions are exactly 1..version.
        assert sorted(versions[function_id]) == list(range(1, stored_version + 1))

    # The restarted server serves the functions and records new calls.
    admin = restarted.client(ADMIN_TOKEN)
    response = admin.post("/api/v1/functions/steady/invoke", content="after")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "body": "after"}
    listed = admin.get("/api/v1/functions").json()
    assert {f["name"] for f in listed} == set(functions)
