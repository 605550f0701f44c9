"""Helpers shared by the hostile catalogue: deploy, invoke, read the execution record, check health.

Every case deploys its hostile function to the module's real server, invokes it once, asserts the
exact HTTP status and execution record, and then proves the server is unharmed: `/health` answers
and a control function (deployed once per module) still computes the right answer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

# Rate limits would turn a fast catalogue into 429s; the canary is an environment variable of the
# server process that no function may ever see.
CANARY = f"canary-{uuid.uuid4().hex}"
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off", "FLUX_HOSTILE_CANARY": CANARY}

# Reads the globals and built-ins another function may have polluted; answers a fixed sum.
CONTROL_CODE = """
function handler(req) {
  const polluted = [typeof Object.prototype.polluted, typeof Array.prototype.polluted,
                    typeof globalThis.sharedSecret, typeof String.prototype.trim];
  return {sum: [1, 2, 3, 4].reduce((a, b) => a + b, 0), json: JSON.stringify({a: [1]}),
          polluted, echo: req.body};
}
"""
CONTROL_ANSWER = {
    "sum": 10,
    "json": '{"a":[1]}',
    "polluted": ["undefined", "undefined", "undefined", "function"],
    "echo": "ping",
}


@dataclass
class Outcome:
    """One invocation as the client saw it, and its execution record."""

    response: httpx.Response
    record: dict[str, Any]

    @property
    def status(self) -> int:
        """The HTTP status of the invocation."""
        return self.response.status_code


def deploy(admin: httpx.Client, code: str, **fields: Any) -> str:
    """Create an enabled function (timeout 1 s unless given) and return its name."""
    name = f"hostile-{uuid.uuid4().hex[:10]}"
    body = {"name": name, "code": code, "enabled": True, "timeout_seconds": 1, **fields}
    response = admin.post("/api/v1/functions", json=body)
    assert response.status_code == 201, response.text
    return name


def records(admin: httpx.Client, name: str, count: int = 1) -> list[dict[str, Any]]:
    """The function's execution records, newest first, once `count` are written (within ~5 s)."""
    deadline = time.monotonic() + 5
    while True:
        response = admin.get(f"/api/v1/functions/{name}/executions")
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def invoke(admin: httpx.Client, name: str, body: str = "", timeout: float = 30) -> Outcome:
    """Invoke `name` once and fetch the record of exactly that call."""
    response = admin.post(f"/api/v1/functions/{name}/invoke", content=body, timeout=timeout)
    execution_id = response.headers.get("x-flux-execution-id")
    if execution_id is None and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        payload = response.json()
        execution_id = payload.get("execution_id") if isinstance(payload, dict) else None
    assert execution_id, f"no execution id: {response.status_code} {response.text[:300]}"
    deadline = time.monotonic() + 5
    while True:
        rows = records(admin, name)
        found = [row for row in rows if row["id"] == execution_id]
        if found:
            return Outcome(response, found[0])
        assert time.monotonic() < deadline, f"no record for {execution_id}"
        time.sleep(0.1)


def run_hostile(admin: httpx.Client, code: str, body: str = "", **fields: Any) -> Outcome:
    """Deploy `code` and invoke it once."""
    return invoke(admin, deploy(admin, code, **fields), body)


def assert_record(
    outcome: Outcome, status: str, status_code: int, message: str | None = None
) -> None:
    """The HTTP status equals the record's; the record has `status`; the message starts with `message`."""
    record = outcome.record
    assert outcome.status == status_code, outcome.response.text[:500]
    assert (record["status"], record["status_code"]) == (status, status_code), record
    if message is None:
        assert record["error_message"] is None, record["error_message"]
    else:
        assert (record["error_message"] or "").startswith(message), record["error_message"]
        assert outcome.response.json()["message"].startswith(message.split("\n")[0])


def assert_unharmed(server_url: str, admin: httpx.Client, control: str) -> None:
    """`/health` answers and the control function still gives the right answer."""
    health = httpx.get(f"{server_url}/health", timeout=5)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    response = admin.post(f"/api/v1/functions/{control}/invoke", content="ping", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == CONTROL_ANSWER
