"""The load a `flux-edge bench` level sends: closed-loop HTTP/1.1 clients, each on one keep-alive
connection, lean enough that the bench measures the server rather than itself.

httpx, which the bench keeps for its few management calls, cost ~0.9 ms of CPU a request on this
project's 2-core machine: at 16 loops the bench used a whole core at ~1,100 req/s against a server
that serves 7,000-9,000 (docs/performance.md, "The twenty-first pass"). Here each loop writes one
request built once and reads the answer with httptools, the parser uvicorn serves with.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools

# As long as httpx waited for an answer before.
ANSWER_TIMEOUT_SECONDS = 60.0

OnAnswer = Callable[[str, float], None]  # (status, or what went wrong; seconds it took)


@dataclass(frozen=True)
class Target:
    """Where the loops connect and the request each sends, as bytes."""

    host: str
    port: int
    tls: ssl.SSLContext | None
    request: bytes


def post_target(base_url: str, path: str, headers: dict[str, str], body: bytes) -> Target:
    """A POST of `body` to `path` under `base_url` (which may carry a path prefix)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    tls = _tls_context() if parts.scheme == "https" else None
    port = parts.port or (443 if tls is not None else 80)
    head = [f"POST {parts.path.rstrip('/')}{path} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(body)}")
    return Target(parts.hostname, port, tls, ("\r\n".join(head) + "\r\n\r\n").encode() + body)


def _tls_context() -> ssl.SSLContext:
    import certifi  # the CA bundle httpx trusts, so both clients agree

    return ssl.create_default_context(cafile=certifi.where())


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request at a time, its status when the answer is complete."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[int] | None = None
        self.open = True
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def on_message_complete(self) -> None:  # httptools calls this
        self.keep_alive = self._parser.should_keep_alive()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)

    async def exchange(self, request: bytes) -> int:
        """Send `request`; its answer's status."""
        assert self._transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()


async def run_loops(target: Target, concurrency: int, end: float, on_answer: OnAnswer) -> None:
    """`concurrency` loops sending `target.request` one after another until `end`
    (time.monotonic()), each answer (or failure, by its type's name) reported to `on_answer`."""
    loop = asyncio.get_running_loop()

    async def one() -> None:
        connection: _Connection | None = None
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_SECONDS):
                    if connection is None or not connection.open:
                        _, connection = await loop.create_connection(
                            _Connection,
                            target.host,
                            target.port,
                            ssl=target.tls,
                            server_hostname=target.host if target.tls is not None else None,
                        )
                    outcome = str(await connection.exchange(target.request))
                if not connection.keep_alive:
                    connection.close()
            except (OSError, TimeoutError, httptools.HttpParserError) as exc:
                outcome = type(exc).__name__
                if connection is not None:
                    connection.close()
            on_answer(outcome, time.perf_counter() - started)
        if connection is not None:
            connection.close()

    await asyncio.gather(*(one() for _ in range(concurrency)))
