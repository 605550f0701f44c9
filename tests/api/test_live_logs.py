"""GET /api/v1/functions/{name}/logs (Server-Sent Events) against a real server."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

CHATTY = (
    "function handler(req) {\n"
    "  console.log('hello', req.body);\n"
    "  console.error('careful');\n"
    "  if (req.body === 'boom') throw new Error('exploded');\n"
    "  return 'ok';\n"
    "}"
)


def deploy(admin: httpx.Client, name: str, code: str = CHATTY) -> None:
    response = admin.post("/api/v1/functions", json={"name": name, "code": code, "enabled": True})
    assert response.status_code == 201, response.text


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, object]]:
    """Parse an SSE stream into {"id", "event", "data"} dicts (data decoded from JSON)."""
    event: dict[str, object] = {}
    for line in lines:
        if line == "":
            if "data" in event:
                event["data"] = json.loads(str(event["data"]))
                yield event
            event = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            event[key] = value.removeprefix(" ")


def read_until_summary(lines: Iterator[str], count: int = 1) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    for event in sse_events(lines):
        seen.append(event)
        if sum(e["event"] == "execution" for e in seen) == count:
            return seen
    raise AssertionError(f"stream ended early: {seen}")


def test_console_lines_and_summary_arrive_while_following(
    server, admin: httpx.Client, fname: str
) -> None:
    deploy(admin, fname)
    with httpx.Client(base_url=server.url, timeout=30) as follower:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        with follower.stream("GET", f"/api/v1/functions/{fname}/logs", headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            invoked = admin.post(f"/api/v1/functions/{fname}/invoke", content="world")
            assert invoked.status_code == 200
            execution_id = invoked.headers["x-flux-execution-id"]
            events = read_until_summary(stream.iter_lines())
    assert [(e["event"], e["data"]) for e in events] == [
        ("console", {"execution_id": execution_id, "level": "log", "message": "hello world"}),
        ("console", {"execution_id": execution_id, "level": "error", "message": "careful"}),
        (
            "execution",
            {
                "execution_id": execution_id,
                "status": "success",
                "status_code": 200,
                "duration_ms": events[-1]["data"]["duration_ms"],  # type: ignore[index]
                "error": None,
            },
        ),
    ]
    assert isinstance(events[-1]["data"]["duration_ms"], float | int)  # type: ignore[index]


def test_failed_call_summary_and_resume_with_last_event_id(admin: httpx.Client, fname: str) -> None:
    deploy(admin, fname)
    assert admin.post(f"/api/v1/functions/{fname}/invoke", content="one").status_code == 200
    assert admin.post(f"/api/v1/functions/{fname}/invoke", content="boom").status_code == 500
    # The summary of a call is published just after its response; give the second one a moment.
    deadline = time.monotonic() + 10
    while True:
        buffered = admin.get(f"/api/v1/functions/{fname}/logs", params={"follow": "false"})
        assert buffered.status_code == 200
        events = list(sse_events(iter(buffered.text.splitlines())))
        if sum(e["event"] == "execution" for e in events) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [e["event"] for e in events] == ["console", "console", "execution"] * 2
    failed = events[-1]["data"]
    assert failed["status"] == "error"
    assert failed["status_code"] == 500
    assert "exploded" in str(failed["error"])  # type: ignore[index]
    # Resuming after the first call's summary gives exactly the second call's events.
    resumed = admin.get(
        f"/api/v1/functions/{fname}/logs",
        params={"follow": "false"},
        headers={"Last-Event-ID": str(events[2]["id"])},
    )
    assert list(sse_events(iter(resumed.text.splitlines()))) == events[3:]
    # An id from another worker or an earlier run replays the whole buffer.
    foreign = admin.get(
        f"/api/v1/functions/{fname}/logs",
        params={"follow": "false"},
        headers={"Last-Event-ID": "0000-1"},
    )
    assert list(sse_events(iter(foreign.text.splitlines()))) == events


def test_logs_need_management_credentials(
    anonymous: httpx.Client, admin: httpx.Client, fname: str
) -> None:
    deploy(admin, fname)
    refused = anonymous.get(f"/api/v1/functions/{fname}/logs", params={"follow": "false"})
    assert refused.status_code == 401
    assert refused.json()["error"]
    missing = admin.get("/api/v1/functions/no-such-function/logs", params={"follow": "false"})
    assert missing.status_code == 404


def test_console_lines_mirrored_into_the_server_log(start_server, tmp_path: Path) -> None:
    server = start_server(extra_env={"FLUX_EDGE_LOG_FUNCTION_CONSOLE": "true"})
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "mirrored")
    assert admin.post("/api/v1/functions/mirrored/invoke", content="mirror").status_code == 200
    deadline = time.monotonic() + 10
    while "function_console" not in server.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [
        json.loads(line) for line in server.stdout().splitlines() if "function_console" in line
    ]
    assert {line["line"] for line in lines} == {
        "console.log: hello mirror",
        "console.error: careful",
    }
    assert all(line["function"] == "mirrored" for line in lines)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_followed_log_does_not_hold_up_the_server_stopping(start_server, workers: int) -> None:
    server = start_server(args=["--workers", str(workers)])
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "followed")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with (
        httpx.Client(base_url=server.url, timeout=60) as follower,
        follower.stream("GET", "/api/v1/functions/followed/logs", headers=headers) as stream,
    ):
        assert stream.status_code == 200
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        # The stream ends (the server closes it) instead of waiting out the 30 s grace period.
        assert list(stream.iter_lines()) == []
        # uvicorn re-raises the signal once it has stopped gracefully, hence -SIGTERM.
        assert server.process.wait(60) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 20
    assert '"event": "stopped"' in server.stdout() or '"event":"stopped"' in server.stdout()
    assert "Traceback" not in server.stdout() + server.stderr()


def test_a_recreated_function_starts_a_fresh_log(admin: httpx.Client, fname: str) -> None:
    deploy(admin, fname)
    assert admin.post(f"/api/v1/functions/{fname}/invoke", content="old").status_code == 200
    deadline = time.monotonic() + 10
    while (
        "event: execution"
        not in admin.get(f"/api/v1/functions/{fname}/logs", params={"follow": "false"}).text
    ):
        assert time.monotonic() < deadline, "the call's summary never arrived"
        time.sleep(0.05)
    assert admin.delete(f"/api/v1/functions/{fname}").status_code == 204
    deploy(admin, fname)
    fresh = admin.get(f"/api/v1/functions/{fname}/logs", params={"follow": "false"})
    assert fresh.status_code == 200
    assert list(sse_events(iter(fresh.text.splitlines()))) == []


def test_the_buffer_keeps_only_the_newest_events(start_server) -> None:
    server = start_server(extra_env={"FLUX_EDGE_LIVE_LOG_BUFFER": "4"})
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "bounded")
    for body in ("one", "two", "three"):  # three events each: two console lines, a summary
        assert admin.post("/api/v1/functions/bounded/invoke", content=body).status_code == 200
    deadline = time.monotonic() + 10
    while True:
        buffered = admin.get("/api/v1/functions/bounded/logs", params={"follow": "false"})
        events = list(sse_events(iter(buffered.text.splitlines())))
        if (
            "hello three" in buffered.text and events[-1]["event"] == "execution"
        ) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # The newest four: the second call's summary, then all of the third call.
    assert [e["event"] for e in events] == ["execution", "console", "console", "execution"]
    assert [e["data"]["message"] for e in events[1:3]] == ["hello three", "careful"]  # type: ignore[index]
    assert events[0]["data"]["execution_id"] != events[3]["data"]["execution_id"]  # type: ignore[index]
    # A resume from an id no longer buffered starts at the oldest kept event.
    resumed = admin.get(
        "/api/v1/functions/bounded/logs",
        params={"follow": "false"},
        headers={"Last-Event-ID": str(events[0]["id"]).rsplit("-", 1)[0] + "-1"},
    )
    assert list(sse_events(iter(resumed.text.splitlines()))) == events


def execution_ids(events: list[dict[str, object]]) -> set[object]:
    return {e["data"]["execution_id"] for e in events if e["event"] == "execution"}  # type: ignore[index]


def test_a_stream_answered_by_one_worker_shows_every_workers_calls(start_server) -> None:
    server = start_server(args=["--workers", "2"])
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "everywhere")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    calls = []
    with (
        httpx.Client(base_url=server.url, timeout=30) as follower,
        follower.stream("GET", "/api/v1/functions/everywhere/logs", headers=headers) as stream,
    ):
        assert stream.status_code == 200
        for n in range(12):  # fresh connections land on either worker
            with server.client(ADMIN_TOKEN) as fresh:
                invoked = fresh.post("/api/v1/functions/everywhere/invoke", content=f"n{n}")
                assert invoked.status_code == 200
                calls.append(invoked.headers["x-flux-execution-id"])
        events = read_until_summary(stream.iter_lines(), count=12)
    assert execution_ids(events) == set(calls)
    messages = {e["data"]["message"] for e in events if e["event"] == "console"}  # type: ignore[index]
    assert {f"hello n{n}" for n in range(12)} <= messages
    # A read that does not follow, on either worker, has them all too, each once.
    for _ in range(4):
        with server.client(ADMIN_TOKEN) as fresh:
            buffered = fresh.get("/api/v1/functions/everywhere/logs", params={"follow": "false"})
        read = list(sse_events(iter(buffered.text.splitlines())))
        assert sorted(
            e["data"]["execution_id"] for e in read if e["event"] == "execution"
        ) == sorted(calls)  # type: ignore[index]
