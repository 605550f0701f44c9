"""What a call looks like when it crosses into the isolate (the `start` entries of a step).

The isolate learns its function's entry form when the code loads (js/entry.js): the reference's
bare `handler(req)` gets the reference's object (`kind` "plain"), every module and serve form a
web Request built from the "web" shape. Converting here, once per call, keeps each shape small:
the plain form never carries bytes, the web form never carries the reference's combined headers.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl

import msgspec

from flux_edge.runtime.types import InvokeRequest

EntryKind = Literal["plain", "web"]


class PlainCall(msgspec.Struct):
    """The reference's FunctionRequest and our extensions, exactly as `handler(req)` sees it."""

    method: str
    url: str
    headers: dict[str, str]
    body: str
    execution_id: str
    params: dict[str, str]
    user_id: str | None
    trigger_type: str


class WebCall(msgspec.Struct, omit_defaults=True):
    """What js/web/request_response.js `requestFromPlain` turns into a Request, plus the peer.

    A body up to `TEXT_BODY_LIMIT` that is valid UTF-8 travels as its text: the Request keeps it
    as text, so `json()` and `text()` read it without bytes, and its bytes (made only if asked
    for) are the ones sent. Any other body travels as base64, which V8 decodes natively. The
    limit bounds what a function that reads such a body as bytes pays for its encoding in
    JavaScript (~10 ns a byte, as much as decoding costs one that reads text; docs/runtime.md,
    "Bytes across the boundary").
    """

    method: str
    url: str
    headers: list[tuple[str, str]]
    bodyText: str | None = None
    bodyBase64: bytes | None = None  # msgspec writes bytes as base64
    remote: tuple[str, int] | None = None


TEXT_BODY_LIMIT = 16 * 1024


def combined_headers(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The reference's headers object: one entry per name, repeated values joined with ", "."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def query_params(query: str) -> dict[str, str]:
    """The reference's `params`: the query's first value of each name, blank ones kept. Parsed
    here, for the one form that has them, rather than by the server for every call."""
    params: dict[str, str] = {}
    if query:
        for key, value in parse_qsl(query, keep_blank_values=True, separator="&"):
            params.setdefault(key, value)
    return params


def plain_call(request: InvokeRequest) -> PlainCall:
    """The reference form's view: headers combined, the body decoded as UTF-8 (bad bytes U+FFFD)."""
    return PlainCall(
        method=request.method,
        url=request.url,
        headers=combined_headers(request.headers),
        body=request.body.decode("utf-8", "replace"),
        execution_id=request.execution_id,
        params=query_params(request.query),
        user_id=request.user_id,
        trigger_type=request.trigger_type,
    )


def _utf8_text(body: bytes) -> str | None:
    """The body as text, or None if it is not valid UTF-8 (no `contextlib.suppress` on the
    call path: its three calls cost more than the decode of a small body)."""
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def web_call(request: InvokeRequest) -> WebCall:
    """The module and serve forms' view: the function URL, header pairs, the body's exact bytes
    (as text when it is short valid UTF-8)."""
    body = request.body
    text = _utf8_text(body) if body and len(body) <= TEXT_BODY_LIMIT else None
    return WebCall(
        method=request.method,
        url=request.function_url or request.url,
        headers=request.headers,
        bodyText=text,
        bodyBase64=body if text is None and body else None,
        remote=request.remote_addr,
    )


def to_isolate(request: InvokeRequest, kind: EntryKind) -> PlainCall | WebCall:
    """The call in the shape its function's entry form takes."""
    return web_call(request) if kind == "web" else plain_call(request)
