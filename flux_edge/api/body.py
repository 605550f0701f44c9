"""A function call's request body, read straight from the ASGI messages.

Litestar's `request.body()` builds a `Headers` container to read Content-Length and runs an async
generator over the messages: ~18 µs a call on the invoke path (docs/performance.md), for a body
that uvicorn has usually handed over in one message. `read_body` keeps its behaviour (a bad
Content-Length is a 400, one over the limit a 413 before anything is read, bytes past the limit a
413, a client gone midway a 500; tests/api/test_request_body.py compares the two) without Litestar.
"""

from __future__ import annotations

from collections.abc import Iterable

from flux_edge.api.answers import HttpError
from flux_edge.asgi import Receive

TOO_LARGE = "Request Entity Too Large"


def announced_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length (its first, as Litestar reads it); a 400 if not a number."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                raise HttpError(
                    400, f"Invalid content-length: {value.decode('latin-1')!r}"
                ) from None
    return None


async def read_body(
    headers: Iterable[tuple[bytes, bytes]], receive: Receive, limit: float
) -> bytes:
    """The whole body of a request with these headers, at most `limit` bytes."""
    announced = announced_length(headers)
    if announced is not None and announced > limit:
        raise HttpError(413, TOO_LARGE)
    chunks: list[bytes] = []
    total = 0
    while True:
        event = await receive()
        if event["type"] == "http.request":
            chunk = event["body"]
            if chunk:
                total += len(chunk)
                if total > limit:
                    raise HttpError(413, TOO_LARGE)
                chunks.append(chunk)
            if not event.get("more_body", False):
                break
        elif event["type"] == "http.disconnect":
            raise HttpError(500, "client disconnected prematurely")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
