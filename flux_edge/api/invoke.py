"""`/api/v1/functions/:name/invoke`: the HTTP face of the invocation service (the hot path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import HttpMethod, Request, Response, route
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from flux_edge.api.access_log import note_access
from flux_edge.api.auth import authenticate_optional
from flux_edge.api.errors import error_response
from flux_edge.api.schemas import ERROR_RESPONSES, error_spec
from flux_edge.api.state import services_of
from flux_edge.runtime import InvokeResult, RuntimeUnavailableError
from flux_edge.runtime.streaming import ResponseStream
from flux_edge.service.invocations import CallInput

_JSON_START = (b"{", b"[")


def call_input(request: Request[Any, Any, Any], body: bytes) -> CallInput:
    """The call as the function sees it: lower-case header names, first value of each parameter."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    params: dict[str, str] = {}
    for key, value in request.query_params.items():
        params.setdefault(key, value)
    return CallInput(
        method=request.method,
        url=str(request.url),
        headers=headers,
        body=body.decode("utf-8", "replace"),
        params=params,
        stream_response=True,
    )


def _media_type(headers: dict[str, str], body: bytes) -> str:
    # Functions of the reference form often return a JSON string without a content type.
    given = headers.pop("content-type", None)
    if given:
        return given
    return "application/json" if body.lstrip()[:1] in _JSON_START else "text/plain; charset=utf-8"


@route(
    "/api/v1/functions/{name:str}/invoke",
    http_method=[
        HttpMethod.GET,
        HttpMethod.POST,
        HttpMethod.PUT,
        HttpMethod.PATCH,
        HttpMethod.DELETE,
    ],
    tags=["invocation"],
    summary="Invoke a function",
    responses={
        **{code: spec for code, spec in ERROR_RESPONSES.items() if code in (401, 404, 413, 429)},
        408: error_spec("The function ran past timeout_seconds"),
        500: error_spec("The function threw, broke a limit, or returned something invalid"),
        503: error_spec("The pool is saturated or shutting down; see Retry-After"),
    },
    description="Runs the function with the request; its return value is the response. Public "
    "unless the function sets allow_unauthenticated=false.",
)
async def invoke_function(request: Request[Any, Any, Any], name: str) -> Response[Any]:
    """Run the function `name` on the request and answer with what it returned."""
    services = services_of(request)
    principal = await authenticate_optional(request)
    body = await request.body()
    try:
        result, execution_id = await services.invocations.invoke(
            name, call_input(request, body), principal
        )
    except RuntimeUnavailableError as exc:
        return unavailable_response(exc, name)
    note_access(
        request.scope,
        function=name,
        execution_id=execution_id,
        caller=principal.kind if principal is not None else "anonymous",
    )
    return result_response(result, execution_id)


def unavailable_response(exc: RuntimeUnavailableError, name: str) -> Response[Any]:
    """503 with Retry-After: the pool is saturated or shutting down."""
    return error_response(
        503,
        "Service unavailable",
        str(exc),
        headers={"Retry-After": str(exc.retry_after)},
        function=name,
    )


def result_response(result: InvokeResult, execution_id: str) -> Response[Any]:
    """The HTTP response for what a function returned (shared by every invocation route)."""
    headers = dict(result.headers)
    headers["x-flux-execution-id"] = execution_id
    if result.stream is not None:
        # Sent as the function produces it (chunked); see flux_edge.runtime.streaming.
        media_type = headers.pop("content-type", None) or "application/octet-stream"
        return Stream(
            _chunks(result.stream),
            status_code=result.status_code,
            headers=headers,
            media_type=media_type,
        )
    if result.status_code == HTTP_204_NO_CONTENT:
        return Response(content=b"", status_code=204, headers=headers)
    return Response(
        content=result.body,
        status_code=result.status_code,
        headers=headers,
        media_type=_media_type(headers, result.body),
    )


async def _chunks(stream: ResponseStream) -> AsyncIterator[bytes]:
    """The body of a streamed response. The server pulls a chunk only when the client has taken
    the previous ones, which is the back-pressure; a client that goes away stops the function's
    stream; a stream that fails raises, which cuts the connection (the client sees a truncated
    body, not a clean end)."""
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await stream.aclose()
