"""A call's request body as the function routes read it (flux_edge/api/body.py): whole, however
the client sends it, and refused with the right status when it cannot be taken."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, post
from litestar.exceptions import ClientException, InternalServerException

from flux_edge.api.answers import HttpError
from flux_edge.api.body import read_body

# Answers with the size and SHA-256 of the bytes it got, so a body that lost or doubled a chunk shows.
DIGEST = """
export default {
  async fetch(req) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    return Response.json({ size: bytes.length, sha256: hex });
  },
};
"""
MAX_BODY = 6 * 1024 * 1024  # the default FLUX_EDGE_MAX_BODY_BYTES


def deploy(admin: httpx.Client, name: str) -> None:
    body = {"name": name, "code": DIGEST, "enabled": True}
    assert admin.post("/api/v1/functions", json=body).status_code == 201


def chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    """`total` bytes in `size`-byte pieces, each different, sent as a chunked upload."""
    sent = 0
    while sent < total:
        piece = bytes([sent // size % 251]) * min(size, total - sent)
        sent += len(piece)
        yield piece


@pytest.mark.parametrize("route", ["/api/v1/functions/{}/invoke", "/functions/v1/{}"])
def test_a_chunked_body_reaches_the_function_whole(admin, anonymous, fname, route):
    deploy(admin, fname)
    total = 1_000_003
    expected = hashlib.sha256(b"".join(chunks(total))).hexdigest()
    response = anonymous.post(route.format(fname), content=chunks(total))
    assert response.status_code == 200, response.text
    assert response.json() == {"size": total, "sha256": expected}


def test_a_chunked_body_over_the_limit_is_413_json(admin, anonymous, fname):
    # No Content-Length to refuse it up front: the limit is met while the body streams in.
    deploy(admin, fname)
    response = anonymous.post(
        f"/api/v1/functions/{fname}/invoke", content=chunks(MAX_BODY + 65_536)
    )
    assert response.status_code == 413
    assert response.json()["error"]
    supabase = anonymous.post(f"/functions/v1/{fname}", content=chunks(MAX_BODY + 65_536))
    assert supabase.status_code == 413
    assert supabase.json()["code"] == "REQUEST_TOO_LARGE"
    assert anonymous.post(f"/api/v1/functions/{fname}/invoke", content=b"ok").json()["size"] == 2


# ---- read_body on ASGI messages, against Litestar's own request.body() -------------------------
LIMIT = 10


@post("/f", request_max_body_size=LIMIT)
async def _route() -> None:
    """Only its body-size limit is used."""


_app = Litestar([_route])


def _receive(messages: list[dict[str, Any]]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def _request(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/f",
        "headers": headers,
        "query_string": b"",
        "app": _app,
        "litestar_app": _app,
        "route_handler": _route,
        "state": {},
    }
    return Request(scope, _receive(messages))  # type: ignore[arg-type]


async def _ours(messages: list[dict[str, Any]], headers: list) -> object:
    try:
        return await read_body(headers, _receive(messages), LIMIT)
    except HttpError as error:
        return (error.status, error.detail)


async def _litestars(messages: list[dict[str, Any]], headers: list) -> object:
    try:
        return await _request(messages, headers).body()
    except (ClientException, InternalServerException) as error:
        return (error.status_code, error.detail)


def _body(data: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": more}


CASES = {
    "one message": ([_body(b"abc")], []),
    "several messages": ([_body(b"ab", True), _body(b"", True), _body(b"cd")], []),
    "empty": ([_body(b"")], []),
    "announced over the limit": ([_body(b"x")], [(b"content-length", b"11")]),
    "announced, at the limit": ([_body(b"0123456789")], [(b"content-length", b"10")]),
    "streamed over the limit": ([_body(b"012345", True), _body(b"6789a")], []),
    "content-length not a number": ([_body(b"x")], [(b"content-length", b"ten")]),
    "client gone midway": ([_body(b"ab", True), {"type": "http.disconnect"}], []),
}


@pytest.mark.parametrize("case", CASES)
def test_read_body_answers_as_litestar_does(case):
    messages, headers = CASES[case]
    ours = asyncio.run(_ours(messages, headers))
    litestars = asyncio.run(_litestars(messages, headers))
    assert ours == litestars


def test_an_oversized_announcement_is_refused_before_reading():
    receive = _receive([])  # no message to read: never read
    with pytest.raises(HttpError) as refused:
        asyncio.run(read_body([(b"content-length", b"1000")], receive, LIMIT))
    assert refused.value.status == 413
