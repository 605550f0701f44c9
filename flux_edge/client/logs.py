"""`flux-edge logs NAME [--follow]`: print a function's live log (console lines, one summary per
call) from the server's Server-Sent Events endpoint. No CLI framework in here: the CLI module
parses the arguments and calls `print_logs`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

from flux_edge.client.api import error_text
from flux_edge.client.deploy import DeployError

RECONNECT_SECONDS = 1.0


class LogsError(DeployError):
    """What went wrong, worded for the command line."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event of the stream."""

    id: str | None
    kind: str
    data: dict[str, Any]


def format_event(event: LogEvent) -> str:
    """The line printed for an event."""
    data = event.data
    short = str(data.get("execution_id", ""))[:8]
    if event.kind == "console":
        return f"[{short}] {data.get('level')}: {data.get('message')}"
    line = (
        f"[{short}] {data.get('status')} {data.get('status_code')} "
        f"in {float(data.get('duration_ms') or 0):.1f} ms (execution {data.get('execution_id')})"
    )
    if data.get("error"):
        line += f"\n[{short}] error: {data['error']}"
    return line


def print_logs(
    name: str,
    *,
    url: str,
    token: str | None,
    follow: bool,
    as_json: bool = False,
    out: TextIO = sys.stdout,
) -> None:
    """Print `name`'s buffered events, then (with `follow`) new ones until interrupted; a dropped
    connection is resumed where it stopped (`Last-Event-ID`). Raises LogsError."""
    last_id: str | None = None
    while True:
        try:
            for event in stream_events(name, url=url, token=token, follow=follow, last_id=last_id):
                last_id = event.id or last_id
                text = json.dumps({"id": event.id, "event": event.kind, **event.data})
                print(text if as_json else format_event(event), file=out, flush=True)
        except httpx.TransportError as exc:
            if not follow:
                raise LogsError(f"cannot reach {url}: {exc}") from None
            time.sleep(RECONNECT_SECONDS)  # server restarting or connection dropped: resume
            continue
        if not follow:
            return


def stream_events(
    name: str, *, url: str, token: str | None, follow: bool, last_id: str | None = None
) -> Iterator[LogEvent]:
    """The events of one connection to the logs endpoint."""
    headers = {"Accept": "text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if last_id:
        headers["Last-Event-ID"] = last_id
    timeout = httpx.Timeout(30.0, read=None if follow else 30.0)
    with (
        httpx.Client(base_url=url.rstrip("/"), timeout=timeout) as client,
        client.stream(
            "GET",
            f"/api/v1/functions/{name}/logs",
            params={"follow": "true" if follow else "false"},
            headers=headers,
        ) as response,
    ):
        if response.status_code != 200:
            response.read()
            raise LogsError(f"{name}: {error_text(response)}")
        yield from parse_sse(response.iter_lines())


def parse_sse(lines: Iterator[str]) -> Iterator[LogEvent]:
    """Events from the lines of a text/event-stream body (comments skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in fields:
                yield LogEvent(fields.get("id"), fields.get("event", "message"), _json(fields))
            fields = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[key] = f"{fields[key]}\n{value}" if key == "data" and key in fields else value


def _json(fields: dict[str, str]) -> dict[str, Any]:
    try:
        value = json.loads(fields["data"])
    except ValueError:
        return {"message": fields["data"]}
    return value if isinstance(value, dict) else {"message": value}
