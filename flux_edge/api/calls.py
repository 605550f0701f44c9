"""A function call over HTTP, from the ASGI request to the function's response, without Litestar.

The routes that call functions (api/invoke.py, api/supabase.py) are served by flux_edge/front.py
before Litestar's routing, handler-signature and response layers, which cost about a fifth of the
server's time per call (docs/performance.md), and before Litestar is even imported at start-up.
What they share is here: the call as the runtime takes it, read from the ASGI scope, and the
function's answer as ASGI messages.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlunsplit

from flux_edge.api.answers import HttpError
from flux_edge.asgi import Message, Receive, Scope, Send
from flux_edge.http.cycle import send_whole
from flux_edge.runtime import InvokeResult
from flux_edge.runtime.streaming import ResponseStream
from flux_edge.service.invocations import CallInput

_JSON_START = (b"{", b"[")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Statuses whose responses carry no body (RFC 9110).
_NO_BODY = (204, 304)
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


def raw_sub_path(scope: Scope, segments: int) -> str:
    """The request path after its first `segments` "/"-separated components (the empty one before
    the leading slash counts), exactly as sent: "" or "/...".

    Read from the raw path, so percent-escapes, `//` and a trailing slash reach the function as
    the client wrote them (the ASGI path is decoded).
    """
    raw = scope.get("raw_path")
    path = raw.decode("latin-1").partition("?")[0] if raw else scope["path"]
    parts = path.split("/", segments)
    return "/" + parts[segments] if len(parts) > segments else ""


def call_input(scope: Scope, body: bytes, name: str, sub_path: str) -> CallInput:
    """The call as the runtime takes it: headers as received (lower-case names, in order), the
    raw body, and the URL module forms see, `http://host/<name><sub-path>?query` (Supabase's).

    The URL and query are the strings Litestar's `request.url` and `query_params` give
    (tests/api/test_invoke_scope.py), without their per-request objects."""
    headers = [
        (raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
        for raw_name, raw_value in scope["headers"]
    ]
    query = scope["query_string"].decode("latin-1")
    scheme, netloc, url = request_url(scope)
    function_url = f"{scheme}://{netloc}/{name}{sub_path}" + (f"?{query}" if query else "")
    client = scope.get("client")
    return CallInput(
        method=scope["method"],
        url=url,
        headers=headers,
        body=body,
        query=query,
        function_url=function_url,
        remote_addr=(str(client[0]), int(client[1])) if client else None,
        stream_response=True,
    )


def request_url(scope: Scope) -> tuple[str, str, str]:
    """The request's scheme, host and URL as Litestar's `request.url` has them
    (`URL.from_scope`): the Host header (else the server's address), root path, path, query.
    A Host whose port is not a number is a 400; an IPv6 server address is bracketed (Litestar
    leaves it bare, and its URL then fails to parse)."""
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    host = ""
    for key, value in scope["headers"]:  # a loop, not next() over a generator: per request
        if key == b"host":
            host = value.decode("latin-1")
            break
    if host:
        _check_host(host)
    elif server:
        address, port = server
        if ":" in address:  # IPv6
            address = f"[{address}]"
        host = address if port == _DEFAULT_PORTS.get(scheme) else f"{address}:{port}"
    path = scope.get("root_path", "") + scope["path"]
    query = scope.get("query_string", b"").decode()
    if not server:
        scheme = ""
    if scheme and host and path[:1] == "/":  # urlunsplit's answer, without its checks per call
        return (
            scheme,
            host,
            f"{scheme}://{host}{path}?{query}" if query else f"{scheme}://{host}{path}",
        )
    return scheme, host, urlunsplit((scheme, host, path, query, ""))


def _check_host(host: str) -> None:
    """Refuse a Host whose port is not a number up to 65535 (no URL can be made of it)."""
    _, colon, port = host.rpartition(":")
    # A port ends the Host unless the Host ends with an IPv6 address ("[::1]": no port).
    valid_port = port.isascii() and port.isdigit() and int(port) <= 65535
    if colon and port and not port.endswith("]") and not valid_port:
        raise HttpError(400, f"The Host header {host!r} is not a valid host[:port].")


def function_response(
    method: str, result: InvokeResult, execution_id: str
) -> FunctionResponse | StreamedResponse:
    """The function's response as HTTP has it: every header pair kept (several Set-Cookie), the
    content type as the function wrote it, no body for HEAD (its length is still announced)."""
    headers = [*result.headers, ("x-flux-execution-id", execution_id)]
    head = method == "HEAD"
    typed = result.header("content-type") is not None
    if result.stream is not None:
        if not typed:
            headers.append(("content-type", "application/octet-stream"))
        return StreamedResponse(result.status_code, _encoded(headers), result.stream, head)
    body = result.body
    status = result.status_code
    if status in _NO_BODY:
        body = b""
    else:
        if not typed:
            # Functions of the reference form often return a JSON string without a content type.
            json = body.lstrip()[:1] in _JSON_START
            headers.append(
                ("content-type", "application/json" if json else "text/plain; charset=utf-8")
            )
        # The function's own content-length never gets here (results.py drops hop-by-hop fields).
        headers.append(("content-length", str(len(body))))
        if head:
            body = b""
    return FunctionResponse(status, headers, body)


def _encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def _fields(headers: list[tuple[str, str]]) -> bytes:
    """The header fields as they go on the wire, `name: value\r\n` each, encoded at once."""
    if not headers:
        return b""
    return ("\r\n".join(map(": ".join, headers)) + "\r\n").encode("latin-1")


class FunctionResponse:
    """A function's complete response: status, header fields (as the runtime gives them, encoded
    when sent) and body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def sent_whole(self, send: Send) -> bool:
        """Send it in one write now if the server is flux-edge's own (see `send_whole`)."""
        return send_whole(send, self.status, _fields(self.headers), self.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head and the body (in one write when the server is flux-edge's own)."""
        if self.sent_whole(send):
            return
        headers = _encoded(self.headers)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class StreamedResponse:
    """A Response whose body is a stream, sent chunked as the function produces it (see
    flux_edge.runtime.streaming). The server pulls a chunk only when the client has taken the
    previous ones, which is the back-pressure; a client that goes away stops the function's
    stream; a stream that fails raises, which cuts the connection (the client sees a truncated
    body, not a clean end). HEAD gets the head only, and the stream is stopped."""

    __slots__ = ("head", "headers", "status", "stream")

    def __init__(
        self, status: int, headers: list[tuple[bytes, bytes]], stream: ResponseStream, head: bool
    ) -> None:
        self.status = status
        self.headers = headers
        self.stream = stream
        self.head = head

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head, then the chunks until the stream ends or the client leaves."""
        try:
            await send(
                {"type": "http.response.start", "status": self.status, "headers": self.headers}
            )
            if self.head:
                await send(_END)
                return
            sending = asyncio.ensure_future(self._send_chunks(send))
            listening = asyncio.ensure_future(_disconnect(receive))
            try:
                await asyncio.wait((sending, listening), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sending.cancel()
                listening.cancel()
                await asyncio.gather(sending, listening, return_exceptions=True)
            if not sending.cancelled():
                sending.result()  # a stream that failed: raise, so the connection is cut
        finally:
            await self.stream.aclose()

    async def _send_chunks(self, send: Send) -> None:
        async for chunk in self.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send(_END)


async def _disconnect(receive: Receive) -> None:
    """Returns when the client has gone away."""
    while (await receive())["type"] != "http.disconnect":
        pass
