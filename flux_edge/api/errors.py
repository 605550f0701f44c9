"""Litestar's exception handlers: every exception gets the contract's JSON error body,
`{"error": ..., "message": ...}`, as api/answers.py makes it for the routes served before Litestar.

Covers our service errors, auth failures, and Litestar's own 400/404/405/413/500, so no response is
ever HTML or a bare stack trace.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from flux_edge.api.answers import (
    JsonAnswer,
    error_answer,
    exception_answer,
    http_error_answer,
)


def as_response(answer: JsonAnswer) -> Response[bytes]:
    """A JSON answer as the Litestar response an exception handler returns."""
    return Response(
        answer.body, status_code=answer.status, media_type=MediaType.JSON, headers=answer.headers
    )


def error_response(
    status: int, title: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[bytes]:
    """A JSON error response in the contract's shape (api/answers.py's, for Litestar)."""
    return as_response(error_answer(status, title, message, headers, **extra))


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    # Litestar puts one entry per bad parameter in `extra`: {"key": ..., "message": ...}; a missing
    # body comes as key "data" with no useful message.
    entries = exc.extra if isinstance(exc.extra, list) else []
    if any(isinstance(item, dict) and item.get("key") == "data" for item in entries):
        return error_response(
            400,
            "Invalid request body",
            f"{request.method} {request.url.path} needs a JSON object as its body.",
        )
    problems = [
        f"{item.get('key', 'request')}: {item.get('message', '')}".strip()
        for item in entries
        if isinstance(item, dict)
    ]
    return error_response(400, "Invalid request", "; ".join(problems) or str(exc.detail))


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    settings = request.app.state.settings
    answer = http_error_answer(
        exc.status_code, str(exc.detail), request.method, request.url.path, settings, exc.headers
    )
    return as_response(answer)


def _any(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    settings = request.app.state.settings
    return as_response(exception_answer(exc, request.method, request.url.path, settings))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _any,
}
