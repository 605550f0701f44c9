"""One structured log line per HTTP request: method, path, status, duration, client, and for calls
of a function its name, execution id and caller kind.

This runs on every request, so the JSON line is rendered by msgspec and written with one
`os.write` (a few microseconds), not through the standard library's logging and structlog's
`ProcessorFormatter` (about 150 µs a line). The console format for development keeps structlog.

`flux-edge serve` writes the lines from its HTTP protocol (flux_edge/http/cycle.py), which sees
each response go out without an ASGI layer wrapping every request's messages (in a micro-benchmark
that layer was ~3 of the ~7 µs the middleware and its line cost). `AccessLogMiddleware` writes them
for the app served any other way, and stands aside for requests the protocol logs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from flux_edge.asgi import ASGIApp, Message, Receive, Scope, Send

# The handler of a request adds fields for the access line here (see `note_access`).
ACCESS_FIELDS_KEY = "flux_edge.access"

# Writes one request's line: (scope, status, time.perf_counter() at its start, noted fields).
AccessWriter = Callable[[Any, int, float, dict[str, str]], None]


def _measured(scope: Any, started: float) -> tuple[str, str, float, str | None]:
    """A request's method, path, duration so far (ms; `started` is its time.perf_counter() at
    the start) and client address."""
    client = scope.get("client")
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return scope["method"], scope["path"], duration_ms, client[0] if client else None


def access_entry(scope: Any, status: int, started: float, noted: dict[str, str]) -> dict[str, Any]:
    """The fields of a request's line."""
    method, path, duration_ms, client = _measured(scope, started)
    return {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "client": client,
        **noted,
    }


def note_access(
    scope: Scope | Any, *, function: str, execution_id: str | None = None, caller: str | None = None
) -> None:
    """Add the called function, its execution id and the caller's kind to this request's line."""
    noted = scope.get(ACCESS_FIELDS_KEY)
    if isinstance(noted, dict):
        noted["function"] = function
        if execution_id is not None:
            noted["execution_id"] = execution_id
        if caller is not None:
            noted["caller"] = caller


class _Line(msgspec.Struct, omit_defaults=True):
    """An access line as the rest of the log renders its entries (the noted fields when set)."""

    event: str
    method: str
    path: str
    status: int
    duration_ms: float
    client: str | None
    logger: str
    level: str
    timestamp: str
    function: str | None = None
    execution_id: str | None = None
    caller: str | None = None


class _JsonLines:
    """Renders a request as the JSON line the rest of the log uses, and writes it at once: one
    struct encoded by msgspec, no dictionaries in between (~1 µs less a line)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._encode = msgspec.json.Encoder().encode
        self._second = -1
        self._prefix = ""

    def _timestamp(self, now: float) -> str:
        # The date and time change once a second; only the microseconds are formatted per line.
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((now - second) * 1_000_000):06d}Z"

    def __call__(self, scope: Any, status: int, started: float, noted: dict[str, str]) -> None:
        method, path, duration_ms, client = _measured(scope, started)
        line = _Line(
            "request",
            method,
            path,
            status,
            duration_ms,
            client,
            "flux_edge.access",
            "info",
            self._timestamp(time.time()),
            noted.get("function"),
            noted.get("execution_id"),
            noted.get("caller"),
        )
        # Not `contextlib.suppress`: its three calls are a tenth of a line's cost.
        try:
            os.write(self._fd, self._encode(line) + b"\n")
        except OSError:
            return  # a closed or full log stream must not fail a request


def access_writer(log_format: str, log_level: str, fd: int = 1) -> AccessWriter | None:
    """The access-line writer for these settings, or None when info lines are not logged."""
    if log_level.lower() not in ("debug", "info"):
        return None
    if log_format == "console":
        log = structlog.get_logger("flux_edge.access")
        return lambda scope, status, started, noted: log.info(
            "request", **access_entry(scope, status, started, noted)
        )
    return _JsonLines(fd)


class AccessLogMiddleware:
    """Pure ASGI middleware, so it times the whole request including errors and body streaming.

    The line is written just before the response's last body message goes out, so whoever reads
    the log after getting the response finds the line there. A request whose scope already has
    the access fields is logged by the HTTP protocol that serves it, and passes straight through.
    """

    def __init__(self, app: ASGIApp, write: AccessWriter | None) -> None:
        self.app = app
        self.write = write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through and log it once its response is complete."""
        write = self.write
        if write is None or scope["type"] != "http" or ACCESS_FIELDS_KEY in scope:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        noted: dict[str, str] = {}
        scope[ACCESS_FIELDS_KEY] = noted
        status = 500  # what the client sees if the app fails before sending anything
        logged = False

        def log_now() -> None:
            nonlocal logged
            logged = True
            write(scope, status, started, noted)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                log_now()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if not logged:
                log_now()
