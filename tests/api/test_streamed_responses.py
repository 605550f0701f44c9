"""Streamed responses over HTTP against a real server: Server-Sent Events arrive event by event,
a slow client holds the function back, the timeout cuts a stream off, and the execution record is
written when the stream ends."""

from __future__ import annotations

import gzip
import socket
import time

import httpx
import pytest

from .test_invoke import deploy, executions

SSE = """
export default {
  fetch() {
    const encoder = new TextEncoder();
    let n = 0;
    let timer;
    const body = new ReadableStream({
      start(controller) {
        const send = () => {
          n += 1;
          controller.enqueue(encoder.encode(`id: ${n}\\ndata: {"n": ${n}, "at": ${Date.now()}}\\n\\n`));
          console.log('event', n);
          if (n === 3) { clearInterval(timer); controller.close(); }
        };
        send();
        timer = setInterval(send, 700);
      },
      cancel() { clearInterval(timer); },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
  },
};
"""


# The first chunk comes a second after the Response: its head must not wait for it.
LATE_FIRST_CHUNK = """
export default {
  fetch() {
    const body = new ReadableStream({
      start(controller) {
        setTimeout(() => {
          controller.enqueue(new TextEncoder().encode(JSON.stringify({ at: Date.now() })));
          controller.close();
        }, 1000);
      },
    });
    return new Response(body, { headers: { 'content-type': 'application/json' } });
  },
};
"""


def read_lines(client: httpx.Client, path: str, into: list[str]) -> None:
    """GETs `path` as a stream, collecting its lines into `into` until it ends (or fails)."""
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            into.append(line)


def read_text(client: httpx.Client, path: str, into: list[str]) -> None:
    """GETs `path` as a stream, collecting its text as it comes into `into` (or until it fails)."""
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        for text in response.iter_text():
            into.append(text)


def sse_events(lines: list[str]) -> list[dict[str, str]]:
    events, current = [], {}
    for line in lines:
        if line == "":
            if current:
                events.append(current)
            current = {}
            continue
        field, _, value = line.partition(": ")
        current[field] = value
    return events


def test_server_sent_events_arrive_one_by_one(admin, anonymous, fname):
    deploy(admin, fname, SSE)
    received: list[tuple[float, str]] = []
    with anonymous.stream("GET", f"/api/v1/functions/{fname}/invoke") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["x-flux-execution-id"]
        for line in response.iter_lines():
            received.append((time.time() * 1000, line))
    events = sse_events([line for _, line in received])
    assert [event["id"] for event in events] == ["1", "2", "3"]
    # The first event was read before the function wrote the second.
    first_read = next(at for at, line in received if line.startswith("data:"))
    second_written = httpx.Response(200, content=events[1]["data"]).json()["at"]
    assert first_read < second_written
    rows = executions(admin, fname)
    assert rows[0]["status"] == "success"
    assert rows[0]["logs"] == "console.log: event 1\nconsole.log: event 2\nconsole.log: event 3"
    assert rows[0]["duration_ms"] >= 1400


def test_a_streams_head_arrives_before_its_first_chunk_is_written(admin, anonymous, fname):
    deploy(admin, fname, LATE_FIRST_CHUNK)
    with anonymous.stream("GET", f"/api/v1/functions/{fname}/invoke") as response:
        head_read = time.time() * 1000
        assert response.status_code == 200
        assert response.headers["x-flux-execution-id"]
        first_written = httpx.Response(200, content=response.read()).json()["at"]
    assert head_read < first_written


def test_a_slow_client_holds_the_function_back(admin, server, fname):
    # pull() runs only when the stream wants more; a client that stops reading must stop it.
    deploy(
        admin,
        fname,
        """
        let pulls = 0;
        Deno.serve(() => new Response(new ReadableStream({
          pull(controller) { pulls += 1; controller.enqueue(new Uint8Array(256 * 1024)); },
          cancel() { console.log('produced', pulls * 256 * 1024); },
        })));
        """,
    )
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        client.sendall(f"GET /api/v1/functions/{fname}/invoke HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = client.recv(4096)
        assert head.startswith(b"HTTP/1.1 200")
        time.sleep(1.5)  # not reading: socket buffers fill, then the server stops pulling
    rows = executions(admin, fname)
    produced = int(rows[0]["logs"].removeprefix("console.log: produced "))
    # An unbounded producer would have made gigabytes in 1.5 s; this one waited for the client.
    assert produced < 64 * 1024 * 1024
    assert rows[0]["status"] == "success"


def test_the_timeout_cuts_a_stream_off_and_is_recorded(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        """
        Deno.serve(() => new Response(new ReadableStream({
          async pull(controller) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            controller.enqueue(new TextEncoder().encode('tick\\n'));
          },
        })));
        """,
        timeout_seconds=1,
    )
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        read_lines(anonymous, f"/api/v1/functions/{fname}/invoke", received)
    assert 3 <= len(received) <= 10
    rows = executions(admin, fname)
    assert (rows[0]["status"], rows[0]["status_code"]) == ("timeout", 408)


def test_a_stream_error_cuts_the_body_and_records_the_error(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        """
        Deno.serve(() => new Response(new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('partial '));
            setTimeout(() => controller.error(new Error('upstream went away')), 100);
          },
        })));
        """,
    )
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        read_text(anonymous, f"/api/v1/functions/{fname}/invoke", received)
    assert "".join(received) == "partial "
    rows = executions(admin, fname)
    assert rows[0]["status"] == "error"
    assert rows[0]["error_message"].startswith("Error: upstream went away")


def test_a_request_body_is_read_as_a_stream_and_piped_back(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        """
        export default {
          fetch(req) {
            const upper = new TransformStream({
              transform(chunk, controller) {
                controller.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()));
              },
            });
            return new Response(req.body.pipeThrough(upper), { headers: { 'content-type': 'text/plain' } });
          },
        };
        """,
    )
    response = anonymous.post(f"/api/v1/functions/{fname}/invoke", content=b"hello stream")
    assert (response.status_code, response.text) == (200, "HELLO STREAM")
    assert response.headers["transfer-encoding"] == "chunked"


def test_a_gzip_stream_is_sent_compressed(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        """
        export default {
          fetch() {
            const text = new Blob(['flux '.repeat(1000)]).stream();
            return new Response(text.pipeThrough(new CompressionStream('gzip')), {
              headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
            });
          },
        };
        """,
    )
    with anonymous.stream("GET", f"/api/v1/functions/{fname}/invoke") as response:
        raw = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert raw[:2] == b"\x1f\x8b"  # gzip
    assert len(raw) < 200  # 5,000 bytes squeezed
    assert gzip.decompress(raw) == b"flux " * 1000
