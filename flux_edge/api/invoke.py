"""`/api/v1/functions/:name/invoke[/<sub-path>]`: the HTTP face of the invocation service (the hot path).

Every method reaches the function (OPTIONS and HEAD included; method tokens Litestar does not route
arrive through `api/any_method.py`). `respond` is the one place that turns a request for a function
into a call and the call's result into a response; a second route (Supabase's `/functions/v1`)
calls it with its own authentication and sub-path.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlunsplit

import msgspec
from litestar import HttpMethod, Request, route
from litestar.exceptions import ClientException
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Scope, Send

from flux_edge.api.access_log import note_access
from flux_edge.api.auth import authenticate_optional
from flux_edge.api.body import read_body
from flux_edge.api.docs import FUNCTION_RESPONSE, OPTIONAL_SECURITY
from flux_edge.api.schemas import ERROR_RESPONSES, ErrorBody, error_spec
from flux_edge.api.state import services_of
from flux_edge.runtime import InvokeResult, RuntimeUnavailableError
from flux_edge.runtime.streaming import ResponseStream
from flux_edge.service.auth import AuthenticationError, Principal
from flux_edge.service.errors import NotFoundError
from flux_edge.service.invocations import CallInput

INVOKE_PATH = "/api/v1/functions/{name:str}/invoke"
INVOKE_HANDLER = "invoke_function"
# The same paths as a pattern over the (normalised) ASGI path, for api/any_method.py.
INVOKE_PATTERN = re.compile(r"^/api/v1/functions/(?P<name>[^/]+)/invoke(?:/.*)?$")
# Path components before the sub-path: "", "api", "v1", "functions", name, "invoke".
_INVOKE_SEGMENTS = 6
_JSON_START = (b"{", b"[")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
# Statuses whose responses carry no body (RFC 9110).
_NO_BODY = (204, 304)

Authenticate = Callable[[Request[Any, Any, Any]], Awaitable[Principal | None]]

_encode = msgspec.json.encode


def raw_sub_path(request: Request[Any, Any, Any], segments: int) -> str:
    """The request path after its first `segments` "/"-separated components (the empty one before
    the leading slash counts), exactly as sent: "" or "/...".

    Read from the raw path, so percent-escapes, `//` and a trailing slash reach the function as
    the client wrote them (Litestar's parsed path is normalised and decoded).
    """
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1").partition("?")[0] if raw else request.scope["path"]
    parts = path.split("/", segments)
    return "/" + parts[segments] if len(parts) > segments else ""


def call_input(request: Request[Any, Any, Any], body: bytes, name: str, sub_path: str) -> CallInput:
    """The call as the runtime takes it: headers as received (lower-case names, in order), the
    raw body, and the URL module forms see, `http://host/<name><sub-path>?query` (Supabase's).

    Read from the ASGI scope: Litestar's `query_params` and `url` build a MultiDict and a URL
    object per request (~6 µs of the hot path); `request_url` and the query parse here give the
    same strings (tests/api/test_invoke_scope.py)."""
    scope = request.scope
    headers = [
        (raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
        for raw_name, raw_value in scope["headers"]
    ]
    query = scope["query_string"].decode("latin-1")
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, separator="&"):
        params.setdefault(key, value)
    scheme, netloc, url = request_url(scope)
    function_url = f"{scheme}://{netloc}/{name}{sub_path}" + (f"?{query}" if query else "")
    client = scope.get("client")
    return CallInput(
        method=scope["method"],
        url=url,
        headers=headers,
        body=body,
        params=params,
        function_url=function_url,
        remote_addr=(str(client[0]), int(client[1])) if client else None,
        stream_response=True,
    )


def request_url(scope: Scope) -> tuple[str, str, str]:
    """The request's scheme, host and URL as Litestar's `request.url` has them
    (`URL.from_scope`): the Host header (else the server's address), root path, path, query.
    A Host whose port is not a number is a 400 (ClientException); an IPv6 server address is
    bracketed (Litestar leaves it bare, and its URL then fails to parse)."""
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    host = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"host"), "")
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
    return scheme, host, urlunsplit((scheme, host, path, query, ""))


def _check_host(host: str) -> None:
    """Refuse a Host whose port is not a number up to 65535 (no URL can be made of it)."""
    _, colon, port = host.rpartition(":")
    # A port ends the Host unless the Host ends with an IPv6 address ("[::1]": no port).
    valid_port = port.isascii() and port.isdigit() and int(port) <= 65535
    if colon and port and not port.endswith("]") and not valid_port:
        raise ClientException(f"The Host header {host!r} is not a valid host[:port].")


def error_response(
    status: int,
    title: str,
    message: str,
    headers: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> ASGIResponse:
    """A JSON error in the contract's shape, as an ASGI response."""
    body = _encode(ErrorBody(error=title, message=message, **extra))
    return ASGIResponse(
        body=body, status_code=status, headers=headers or [], media_type="application/json"
    )


def function_response(
    request: Request[Any, Any, Any], result: InvokeResult, execution_id: str
) -> ASGIResponse:
    """The function's response as HTTP has it: every header pair kept (several Set-Cookie), the
    content type as the function wrote it, no body for HEAD (its length is still announced)."""
    headers = [*result.headers, ("x-flux-execution-id", execution_id)]
    if result.stream is not None:
        return _streamed_response(request, result, result.stream, headers)
    body = result.body
    status = result.status_code
    head = request.method == "HEAD"
    if status in _NO_BODY:
        body = b""
    else:
        if result.header("content-type") is None:
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


class FunctionResponse(ASGIResponse):
    """A function's complete response as its two ASGI messages, the headers encoded once.

    Litestar's ASGIResponse builds a header container and defaults a content type and length
    per response, ~6 µs a call on the hot path; `function_response` has already settled those.
    """

    __slots__ = ("_encoded",)

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        # ASGIResponse's own __init__ is skipped on purpose (see above): Litestar only calls a
        # response it did not build, so __call__ below is all of it that runs.
        self.status_code = status
        self.body = body
        self._encoded = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head and the body."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self._encoded}
        )
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


async def respond(
    request: Request[Any, Any, Any],
    name: str,
    sub_path: str,
    authenticate: Authenticate = authenticate_optional,
) -> ASGIResponse:
    """Run the function `name` on the request and answer with what it returned, or the error."""
    services = services_of(request)
    try:
        principal = await authenticate(request)
        body = await read_body(request)
        result, execution_id = await services.invocations.invoke(
            name, call_input(request, body, name, sub_path), principal
        )
    except AuthenticationError as exc:
        return error_response(401, "Unauthorized", str(exc), [("www-authenticate", "Bearer")])
    except NotFoundError as exc:
        return error_response(404, exc.title, exc.message)
    except RuntimeUnavailableError as exc:
        return error_response(
            503,
            "Service unavailable",
            str(exc),
            [("retry-after", str(exc.retry_after))],
            function=name,
        )
    note_access(
        request.scope,
        function=name,
        execution_id=execution_id,
        caller=principal.kind if principal is not None else "anonymous",
    )
    return function_response(request, result, execution_id)


@route(
    [INVOKE_PATH, INVOKE_PATH + "/{path:path}"],
    http_method=list(HttpMethod),
    name=INVOKE_HANDLER,
    tags=["invocation"],
    summary="Invoke a function",
    status_code=200,
    response_description=FUNCTION_RESPONSE,
    security=OPTIONAL_SECURITY,
    responses={
        **{code: spec for code, spec in ERROR_RESPONSES.items() if code in (401, 404, 413, 429)},
        408: error_spec("The function ran past timeout_seconds"),
        500: error_spec("The function threw, broke a limit, or returned something invalid"),
        503: error_spec("The pool is saturated or shutting down; see Retry-After"),
    },
    description="Runs the function with the request; its return value is the response. Every "
    "method reaches the function, and so does any sub-path: module and serve forms see the URL "
    "`http://host/<name>/<sub-path>?query`. Public unless the function sets "
    "allow_unauthenticated=false.",
)
async def invoke_function(
    request: Request[Any, Any, Any], name: str, path: str = ""
) -> ASGIResponse:
    """Run the function `name` on the request (any method, any sub-path)."""
    return await respond(request, name, raw_sub_path(request, _INVOKE_SEGMENTS))


async def respond_to_any_method(request: Request[Any, Any, Any], name: str) -> ASGIResponse:
    """`invoke_function`, as api/any_method.py serves it (every method token, before Litestar)."""
    return await respond(request, name, raw_sub_path(request, _INVOKE_SEGMENTS))


def _streamed_response(
    request: Request[Any, Any, Any],
    result: InvokeResult,
    stream: ResponseStream,
    headers: list[tuple[str, str]],
) -> ASGIResponse:
    """A Response whose body is a stream, sent chunked as the function produces it (see
    flux_edge.runtime.streaming). HEAD gets the head only, and the stream is stopped."""
    if result.header("content-type") is None:
        headers.append(("content-type", "application/octet-stream"))
    head = request.method == "HEAD"
    return ASGIStreamingResponse(
        iterator=_chunks(stream, head),
        status_code=result.status_code,
        encoded_headers=[
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ],
        is_head_response=head,
    )


async def _chunks(stream: ResponseStream, head: bool) -> AsyncIterator[bytes]:
    """The body of a streamed response. The server pulls a chunk only when the client has taken
    the previous ones, which is the back-pressure; a client that goes away stops the function's
    stream; a stream that fails raises, which cuts the connection (the client sees a truncated
    body, not a clean end)."""
    try:
        if not head:
            async for chunk in stream:
                yield chunk
    finally:
        await stream.aclose()
