"""A local HTTP server for fetch tests, a runtime wired to the capability bridge, and a helper
that runs one function call and returns its JSON answer."""

from __future__ import annotations

import base64
import gzip
import json
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from flux_edge.runtime import FunctionSpec, InvokeResult, Permissions, PoolLimits, Runtime
from flux_edge.runtime.capabilities import CapabilityBridge
from tests.runtime.conftest import make_request

ALL = Permissions(allow_net=True, allow_env=True, allow_read=True, allow_write=True)


@dataclass
class LocalServer:
    """What the local server saw: requests (method, path, headers, body) and closed connections."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    hang_closed: threading.Event = field(default_factory=threading.Event)
    closed_at: float | None = None  # time.monotonic() when a /hang client closed its connection

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"


def _handler(state: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            seen = {
                "method": self.command,
                "path": url.path,
                "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": base64.b64encode(body).decode(),
            }
            state.requests.append(seen)
            route = url.path
            if route == "/echo":
                self._send(200, json.dumps(seen).encode(), {"content-type": "application/json"})
            elif route == "/bytes":
                data = bytes(range(256)) * int(query.get("times", "1"))
                self._send(200, data, {"content-type": "application/octet-stream"})
            elif route == "/status":
                self._send(int(query["code"]), query.get("body", "").encode(), {"x-reason": "test"})
            elif route == "/redirect":
                code = int(query.get("code", "302"))
                self._send(code, b"", {"location": query["to"]})
            elif route == "/loop":
                self._send(302, b"", {"location": "/loop"})
            elif route == "/cookie":
                self._send(200, b"ok", {"set-cookie": "session=secret; Path=/"})
            elif route == "/multi":
                self.send_response(200)
                self.send_header("set-cookie", "a=1")
                self.send_header("set-cookie", "b=2")
                self.send_header("content-length", "0")
                self.end_headers()
            elif route == "/big":
                size = int(query["size"])
                declare = query.get("declare", "1") == "1"
                self.send_response(200)
                if declare:
                    self.send_header("content-length", str(size))
                    self.end_headers()
                    self.wfile.write(b"x" * size)
                else:
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    chunk = b"x" * 65536
                    sent = 0
                    try:
                        while sent < size:
                            part = chunk[: min(len(chunk), size - sent)]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                            sent += len(part)
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    self.close_connection = True
            elif route == "/gzip-bomb":
                data = gzip.compress(b"\0" * int(query["size"]))
                self._send(200, data, {"content-encoding": "gzip"})
            elif route == "/hang":
                self._hang()
            else:
                self._send(404, b"no such route")

        def _hang(self) -> None:
            # Answer nothing; notice when the client gives up and closes the connection.
            deadline = time.monotonic() + 20
            sock = self.connection
            while time.monotonic() < deadline:
                ready, _, _ = select.select([sock], [], [], 0.05)
                if ready:
                    try:
                        if sock.recv(1, socket.MSG_PEEK) == b"":
                            break
                    except OSError:
                        break
            state.closed_at = time.monotonic()
            state.hang_closed.set()
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    return Handler


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """An HTTP server on 127.0.0.1 in a thread, with echo, bytes, redirect, size and hang routes."""
    state = LocalServer(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


RunFunction = Callable[..., Awaitable[InvokeResult]]


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    """Options of the bridge under test; tests override entries before using `run_js`."""
    return {"net_allow": "127.0.0.0/8"}


@pytest.fixture
async def capability_runtime(bridge_options: dict[str, Any]) -> AsyncIterator[Runtime]:
    """A Runtime whose isolates reach Python through a real CapabilityBridge."""
    bridge = CapabilityBridge(**bridge_options)
    runtime = Runtime(PoolLimits(max_isolates=16), host=bridge)
    yield runtime
    await runtime.close(grace=0.5)
    await bridge.aclose()


_counter = iter(range(1, 1_000_000))


@pytest.fixture
def run_js(capability_runtime: Runtime, tmp_path: Path) -> RunFunction:
    """`await run_js(code, permissions=ALL, timeout_seconds=5, files_dir=..., env=...)` -> InvokeResult.

    `code` is the body of an async handler(req); its return value comes back as JSON.
    """

    async def run(
        code: str,
        *,
        permissions: Permissions = ALL,
        timeout_seconds: float = 5.0,
        files_dir: Path | None = None,
        env: dict[str, str] | None = None,
        function_id: str | None = None,
    ) -> InvokeResult:
        n = next(_counter)
        spec = FunctionSpec(
            function_id=function_id or f"cap-{n}",
            name=f"cap-{n}",
            version=1,
            compiled=(
                "async function handler(req) {\n"
                "  const value = await (async () => {\n"
                f"{code}\n"
                "  })();\n"
                "  return { status: 200, body: JSON.stringify(value === undefined ? null : value) };\n"
                "}"
            ),
            timeout_seconds=timeout_seconds,
            memory_limit_mb=64,
            permissions=permissions,
            env=env or {},
            files_dir=str(files_dir or tmp_path / "jail"),
        )
        return await capability_runtime.invoke(spec, make_request())

    return run


def answer(result: InvokeResult) -> Any:
    """The JSON a successful call returned; fails the test with the error otherwise."""
    assert result.outcome == "success", (result.error_message, result.error_stack, result.logs)
    return json.loads(result.body)
