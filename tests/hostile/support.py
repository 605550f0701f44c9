"""Helpers shared by the hostile catalogue: deploy, invoke, read the execution record, check health.

Every case deploys its hostile function to the module's real server, invokes it once, asserts the
exact HTTP status and execution record, and then proves the server is unharmed: `/health` answers
and a control function (deployed once per module) still computes the right answer. Cases that can
harm more than one answer measure it: `measured_attack` probes `/health` and the control function
while the attack runs (p99 under a bound), `assert_resources_back` checks that the server's RSS and
fd count return within a bound of a `baseline` once the function is deleted, and `disk_bytes`
measures what a function's directory takes on disk.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ServerProcess

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


# ---- "unharmed", measured: latency while an attack runs, resources after it ----------------------
# Bounds are generous on purpose (a shared 2-core CI machine): they catch a stalled event loop
# (seconds), a leak per call (thousands of fds, hundreds of MB), not a slow machine.
HEALTH_P99_SECONDS = 0.5
CONTROL_P99_SECONDS = 1.5
RSS_SLACK_BYTES = 128 * 1024 * 1024
FD_SLACK = 16
SETTLE_SECONDS = 20.0


def _process_group(pgid: int) -> list[int]:
    """The pids of the process group `pgid` (the server and any worker or host process it runs)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, ...
            pids.append(int(entry))
    return pids


def server_rss(server: ServerProcess) -> int:
    """Resident bytes of the server and every process of its group."""
    total = 0
    for pid in _process_group(server.process.pid):
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as file:
                total += int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


def server_fds(server: ServerProcess) -> int:
    """Open file descriptors of the server and every process of its group."""
    total = 0
    for pid in _process_group(server.process.pid):
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


def disk_bytes(path: Path) -> int:
    """Bytes allocated on disk under `path` (directories included, as `du` counts them)."""
    total = 0
    for dirpath, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def p99(samples: list[float]) -> float:
    """The 99th percentile of `samples` (the largest when there are fewer than 100)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


class LatencyProbe:
    """Calls `/health` and the control function in a loop on threads of its own, timing each,
    while an attack runs; failures (timeouts, wrong answers) are kept as well."""

    def __init__(self, server_url: str, token: str | None, control: str) -> None:
        self._url = server_url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._control = control
        self._stop = threading.Event()
        self.health: list[float] = []
        self.control: list[float] = []
        self.failures: list[str] = []
        self._threads = [
            threading.Thread(target=self._loop, args=(self._health_once, self.health), daemon=True),
            threading.Thread(
                target=self._loop, args=(self._control_once, self.control), daemon=True
            ),
        ]

    def _health_once(self, client: httpx.Client) -> None:
        response = client.get("/health")
        if response.status_code != 200:
            self.failures.append(f"/health {response.status_code}")

    def _control_once(self, client: httpx.Client) -> None:
        response = client.post(f"/api/v1/functions/{self._control}/invoke", content="ping")
        if response.status_code != 200 or response.json() != CONTROL_ANSWER:
            self.failures.append(f"control {response.status_code} {response.text[:200]}")

    def _loop(self, once: Callable[[httpx.Client], None], samples: list[float]) -> None:
        with httpx.Client(base_url=self._url, headers=self._headers, timeout=30) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    once(client)
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                samples.append(time.monotonic() - began)
                self._stop.wait(0.02)

    def __enter__(self) -> LatencyProbe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        # A quick attack still gets a sample of each kind taken after it.
        deadline = time.monotonic() + 30
        while (not self.health or not self.control) and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def assert_responsive(
        self, health_p99: float = HEALTH_P99_SECONDS, control_p99: float = CONTROL_P99_SECONDS
    ) -> None:
        """Every probe answered correctly and the p99 latencies stayed under the bounds."""
        assert not self.failures, self.failures[:5]
        assert self.health, "the probe took no /health samples"
        assert self.control, "the probe took no control samples"
        assert p99(self.health) < health_p99, f"/health p99 {p99(self.health):.3f} s"
        assert p99(self.control) < control_p99, f"control p99 {p99(self.control):.3f} s"


@dataclass
class Baseline:
    """The server's resources before an attack, to compare with after it."""

    rss: int
    fds: int


def baseline(server: ServerProcess, settle: float = 1.0, within: float = 15.0) -> Baseline:
    """RSS and fd count of the server once its processes have settled: isolate hosts booted
    ahead (spares) come and go after a deploy, and each carries its own fds and memory."""
    deadline = time.monotonic() + within
    group = sorted(_process_group(server.process.pid))
    steady_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - steady_since < settle:
        time.sleep(0.1)
        now = sorted(_process_group(server.process.pid))
        if now != group:
            group, steady_since = now, time.monotonic()
    return Baseline(server_rss(server), server_fds(server))


def delete_function(admin: httpx.Client, name: str) -> None:
    """Delete a function (its isolates and files go with it)."""
    response = admin.delete(f"/api/v1/functions/{name}")
    assert response.status_code in (200, 204), response.text


def assert_resources_back(
    server: ServerProcess,
    before: Baseline,
    *,
    rss_slack: int = RSS_SLACK_BYTES,
    fd_slack: int = FD_SLACK,
    seconds: float = SETTLE_SECONDS,
) -> None:
    """Within `seconds`, the server's RSS and fd count come back within a bound of `before`."""
    deadline = time.monotonic() + seconds
    while True:
        rss, fds = server_rss(server), server_fds(server)
        if rss <= before.rss + rss_slack and fds <= before.fds + fd_slack:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not back within bounds after {seconds:g} s: RSS {before.rss >> 20} -> "
                f"{rss >> 20} MiB (slack {rss_slack >> 20}), fds {before.fds} -> {fds} "
                f"(slack {fd_slack})"
            )
        time.sleep(0.25)


def function_dir(server: ServerProcess, admin: httpx.Client, name: str) -> Path:
    """The directory holding the files of the function `name`."""
    response = admin.get(f"/api/v1/functions/{name}")
    assert response.status_code == 200, response.text
    return server.data_dir / "functions" / response.json()["id"]


@contextlib.contextmanager
def measured_attack(
    server: ServerProcess, admin: httpx.Client, control: str, **bounds: float
) -> Iterator[LatencyProbe]:
    """Runs the body (the attack) while probing latency; afterwards asserts the probes' p99 and
    health as `assert_unharmed` does. Resource checks are separate (`assert_resources_back`), as
    they need the attacking function deleted first."""
    with LatencyProbe(server.url, server.admin_token, control) as probe:
        yield probe
    probe.assert_responsive(**bounds)
    assert_unharmed(server.url, admin, control)
