"""Client-side bookkeeping for fault tests: what the server acknowledged, and when."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

FAST = "function handler(req) { return {ok: true, body: req.body} }"
SLOW = (
    "async function handler() { await new Promise((r) => setTimeout(r, 1500)); return 'slow done' }"
)


@dataclass
class Ledger:
    """Acknowledgements seen by the clients, each with the monotonic time it arrived."""

    executions: dict[str, float] = field(default_factory=dict)  # execution id -> ack time
    statuses: dict[str, int] = field(default_factory=dict)  # execution id -> HTTP status
    creates: dict[str, float] = field(default_factory=dict)  # function name -> ack time
    updates: dict[str, int] = field(default_factory=dict)  # function name -> last acked version
    other: list[str] = field(default_factory=list)  # unexpected answers
    lock: threading.Lock = field(default_factory=threading.Lock)


def invoke_until(base: str, name: str, stop: threading.Event, ledger: Ledger) -> None:
    """Invoke `name` in a loop, recording every acknowledged execution, until `stop` or the server dies."""
    with httpx.Client(base_url=base, timeout=10) as client:
        while not stop.is_set():
            try:
                response = client.post(f"/api/v1/functions/{name}/invoke", content=b"x")
            except httpx.TransportError:
                return  # the server is gone
            acked = time.monotonic()
            execution_id = response.headers.get("x-flux-execution-id")
            with ledger.lock:
                if execution_id:
                    ledger.executions[execution_id] = acked
                    ledger.statuses[execution_id] = response.status_code
                elif response.status_code != 503:
                    ledger.other.append(f"{response.status_code} {response.text[:200]}")


def write_until(base: str, token: str, prefix: str, stop: threading.Event, ledger: Ledger) -> None:
    """Create functions and update them, recording each acknowledged write, until `stop` or death."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10, headers=headers) as client:
        n = 0
        while not stop.is_set():
            name = f"{prefix}-{n}"
            n += 1
            try:
                created = client.post("/api/v1/functions", json={"name": name, "code": FAST})
                if created.status_code == 201:
                    with ledger.lock:
                        ledger.creates[name] = time.monotonic()
                        ledger.updates[name] = 1
                updated = client.put(f"/api/v1/functions/{name}", json={"code": FAST + "\n// v2"})
                if updated.status_code == 200:
                    with ledger.lock:
                        ledger.updates[name] = updated.json()["version"]
            except httpx.TransportError:
                return
