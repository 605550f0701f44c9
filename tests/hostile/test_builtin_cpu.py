"""Hostile CPU inside one V8 builtin: a call that cannot be interrupted where it runs.

V8 checks for termination between JavaScript operations, not inside a builtin such as
`toUpperCase` on a 32 MB string, and closing an isolate whose thread is in one blocks until it
returns. Each case runs while probes call `/health` and a control function, whose latency must
stay bounded: the stuck isolate's host process is killed, never waited for (issue 12, case 2).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

from .support import CONTROL_CODE, assert_record, deploy, invoke, measured_attack
from .support import SERVER_ENV as BASE_ENV

SERVER_ENV = {**BASE_ENV, "FLUX_EDGE_ISOLATE_HOSTS": "on"}

TIMED_OUT = "the function did not finish within its timeout of 1 s (timeout_seconds)"
BUILTIN_LOOPS = {
    "to-upper-case": (
        "function handler() { let s = 'ab'; for (let i = 0; i < 24; i++) s += s;"
        " for (;;) s.toUpperCase(); }"
    ),
    "to-locale-upper-case-turkish": (
        "function handler() { let s = 'i\\u0131'; for (let i = 0; i < 25; i++) s += s;"
        " for (;;) s.toLocaleUpperCase('tr'); }"
    ),
    "normalize": (
        "function handler() { let s = 'e\\u0301'; for (let i = 0; i < 24; i++) s += s;"
        " for (;;) s.normalize('NFC'); }"
    ),
}


@pytest.mark.parametrize("code", BUILTIN_LOOPS.values(), ids=BUILTIN_LOOPS.keys())
def test_a_builtin_past_the_deadline_is_a_prompt_408_and_freezes_nothing(
    server, admin, control, unharmed, code
):
    name = deploy(admin, code)
    with measured_attack(server, admin, control):
        started = time.monotonic()
        outcome = invoke(admin, name)
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # the host is killed and a spare replaces it meanwhile
    assert_record(outcome, "timeout", 408, TIMED_OUT)
    assert elapsed < 5, f"408 after {elapsed:.1f} s for a 1 s timeout"
    # The next call of the same function gets a fresh host and the same clean answer.
    assert_record(invoke(admin, name), "timeout", 408, TIMED_OUT)
    unharmed()


def test_sigterm_stops_the_server_promptly_during_a_builtin_attack(start_server):
    server = start_server(extra_env=SERVER_ENV)
    admin = server.client(ADMIN_TOKEN)
    control = deploy(admin, CONTROL_CODE, timeout_seconds=5)
    name = deploy(admin, BUILTIN_LOOPS["to-locale-upper-case-turkish"], timeout_seconds=3)
    answers: list[int] = []

    def attack() -> None:
        try:
            response = httpx.post(
                f"{server.url}/api/v1/functions/{name}/invoke",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=60,
            )
            answers.append(response.status_code)
        except httpx.HTTPError:
            answers.append(0)

    thread = threading.Thread(target=attack)
    thread.start()
    time.sleep(1.0)
    assert admin.post(f"/api/v1/functions/{control}/invoke", content="ping").status_code == 200
    hosts = _children(server.process.pid)
    assert hosts, "the server runs no isolate host"
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    returncode = server.process.wait(30)
    elapsed = time.monotonic() - started
    thread.join(30)
    # uvicorn re-raises the signal after a graceful shutdown: -SIGTERM is a clean exit too.
    assert returncode in (0, -signal.SIGTERM), server.stderr()[-2000:]
    assert '"stopped"' in server.stdout(), "the shutdown hook did not run"
    # Shutdown waits for the call in flight, which its host answers at its 3 s deadline.
    assert elapsed < 10, f"stopped {elapsed:.1f} s after SIGTERM"
    assert answers == [408]
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in hosts) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in hosts if _alive(pid)], "isolate hosts outlived the server"


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the server's isolate host zygote)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False
