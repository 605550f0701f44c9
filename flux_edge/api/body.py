"""A function call's request body, read straight from the ASGI messages.

Litestar's `request.body()` builds a `Headers` container to read Content-Length and runs an async
generator over the messages: ~18 µs a call on the invoke path (docs/performance.md), for a body
that uvicorn has usually handed over in one message. `read_body` keeps its behaviour (a bad
Content-Length is a 400, one over the route's `request_max_body_size` a 413 before anything is
read, bytes past the limit a 413, a client gone midway a 500) and caches the body where
`request.body()` finds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge


def announced_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length (its first, as Litestar reads it); a 400 if not a number."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise ClientException(
                    f"Invalid content-length: {value.decode('latin-1')!r}"
                ) from None
    return None


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The whole body, as `await request.body()` returns it."""
    cached = request._body  # private: where request.body() caches the body (set below)
    if isinstance(cached, bytes):
        return cached
    if not request.is_connected:
        raise InternalServerException("stream consumed")
    limit = request.route_handler.resolve_request_max_body_size() or math.inf
    announced = announced_length(request.scope["headers"])
    if announced is not None and announced > limit:
        raise RequestEntityTooLarge
    chunks: list[bytes] = []
    total = 0
    receive = request.receive
    while True:
        event = await receive()
        if event["type"] == "http.request":
            chunk = event["body"]
            if chunk:
                total += len(chunk)
                if total > limit:
                    raise RequestEntityTooLarge
                chunks.append(chunk)
            if not event.get("more_body", False):
                break
        elif event["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
    request.is_connected = False
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = request._connection_state.body = body
    return body
