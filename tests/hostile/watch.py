"""Measuring that a server is unharmed *while* an attack runs: latency probes and process memory.

`LatencyProbe` calls `/health` and the control function in a loop from a thread of its own and
records every latency and failure; `tree_rss` adds up the resident memory of the server and every
process it started (its isolate hosts), read from /proc.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx

from .support import CONTROL_ANSWER

_PAGE = os.sysconf("SC_PAGE_SIZE")


class LatencyProbe:
    """While active, calls `/health` and the control function every `interval` seconds."""

    def __init__(self, url: str, token: str, control: str, interval: float = 0.02) -> None:
        self._client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        self._control = control
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.health: list[float] = []
        self.control: list[float] = []
        self.failures: list[str] = []

    def __enter__(self) -> LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(120)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._timed(self.health, lambda: self._client.get("/health"), {"status": "ok"})
            self._timed(
                self.control,
                lambda: self._client.post(
                    f"/api/v1/functions/{self._control}/invoke", content="ping"
                ),
                CONTROL_ANSWER,
            )
            self._stop.wait(self._interval)

    def _timed(self, into: list[float], send: object, expected: object) -> None:
        started = time.monotonic()
        try:
            response = send()  # type: ignore[operator]
        except httpx.HTTPError as error:
            self.failures.append(f"{type(error).__name__}: {error}")
            return
        into.append(time.monotonic() - started)
        if response.status_code != 200 or response.json() != expected:
            self.failures.append(f"{response.status_code}: {response.text[:200]}")

    def assert_within(self, p99_seconds: float, at_least: int = 5) -> None:
        """No probe failed, enough probes ran, and each series' p99 is under the bound."""
        assert not self.failures, self.failures[:5]
        for name, series in (("health", self.health), ("control", self.control)):
            assert len(series) >= at_least, f"only {len(series)} {name} probes"
            ordered = sorted(series)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            assert p99 < p99_seconds, f"{name} p99 {p99 * 1000:.0f} ms; worst {ordered[-1]:.2f} s"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: the ppid follows the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`."""
    result: list[int] = []
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            result.append(child)
            todo.append(child)
    return result


def rss(pid: int) -> int:
    """Resident bytes of one process (0 if it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants."""
    return sum(rss(p) for p in (pid, *descendants(pid)))
