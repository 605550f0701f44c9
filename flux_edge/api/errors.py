"""Maps every exception to the contract's JSON error body: `{"error": ..., "message": ...}`.

Covers our service errors, auth failures, and Litestar's own 400/404/405/413/500, so no response is
ever HTML or a bare stack trace.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import apsw
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response.base import ASGIResponse
from litestar.types import ExceptionHandlersMap

from flux_edge.api.relay import SUPABASE_PREFIX, relay_error
from flux_edge.api.schemas import ErrorBody
from flux_edge.service.auth import AuthenticationError, PermissionDeniedError
from flux_edge.service.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)

log = structlog.get_logger("flux_edge.api")

_SERVICE_STATUS: dict[type[ServiceError], int] = {
    InvalidInputError: 400,
    NotFoundError: 404,
    ConflictError: 409,
}


def error_response(
    status: int, title: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[ErrorBody]:
    """A JSON error response in the contract's shape."""
    return Response(
        ErrorBody(error=title, message=message, **extra),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _service_error(_: Request[Any, Any, Any], exc: ServiceError) -> Response[ErrorBody]:
    status = next(code for kind, code in _SERVICE_STATUS.items() if isinstance(exc, kind))
    if isinstance(exc, InvalidInputError) and (exc.line is not None or exc.file is not None):
        return error_response(
            status, exc.title, exc.message, line=exc.line, column=exc.column, file=exc.file
        )
    return error_response(status, exc.title, exc.message)


def _unauthenticated(_: Request[Any, Any, Any], exc: AuthenticationError) -> Response[ErrorBody]:
    return error_response(401, "Unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})


def _forbidden(_: Request[Any, Any, Any], exc: PermissionDeniedError) -> Response[ErrorBody]:
    return error_response(403, "Forbidden", str(exc))


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[ErrorBody]:
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
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    return error_response(400, "Invalid request", "; ".join(problems) or str(exc.detail))


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status == 404:
        message = f"No endpoint at {request.url.path}. See /schema/openapi.json for the API."
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    elif status == 413:
        limit = request.app.state.settings.max_body_bytes
        message = f"The request body is larger than {limit} bytes (FLUX_EDGE_MAX_BODY_BYTES)."
    else:
        message = str(exc.detail)
    if request.scope["path"].startswith(SUPABASE_PREFIX):
        # Routing answered (405 for a method Supabase does not serve, 404 for no name): the
        # gateway's answer, so the Supabase clients raise FunctionsRelayError.
        code = title.upper().replace(" ", "_")
        return relay_error(status, code, title, message, headers=exc.headers)
    return error_response(status, title, message, headers=exc.headers)


def _storage(request: Request[Any, Any, Any], exc: apsw.Error) -> Response[ErrorBody]:
    # The database refused a write: say so, so the operator knows where to look.
    log.error("storage_error", method=request.method, path=request.url.path, error=str(exc))
    data_dir = request.app.state.settings.data_dir
    if isinstance(exc, apsw.FullError):
        return error_response(
            507, "Insufficient storage", f"The disk holding {data_dir} is full; nothing was saved."
        )
    if isinstance(exc, apsw.ReadOnlyError | apsw.IOError | apsw.CantOpenError):
        return error_response(
            503,
            "Storage unavailable",
            f"The database in {data_dir} cannot be written (read-only or failing disk); "
            "nothing was saved.",
            headers={"Retry-After": "30"},
        )
    return _unexpected(request, exc)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled_error", method=request.method, path=request.url.path)
    return error_response(
        500, "Internal server error", "The server failed unexpectedly; the error was logged."
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ServiceError: _service_error,
    AuthenticationError: _unauthenticated,
    PermissionDeniedError: _forbidden,
    ValidationException: _validation,
    HTTPException: _http,
    apsw.Error: _storage,
    Exception: _unexpected,
}


def exception_response(request: Request[Any, Any, Any], exc: Exception) -> ASGIResponse:
    """What EXCEPTION_HANDLERS answer for `exc`, for code that runs outside Litestar's routing."""
    for kind in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(kind)
        if handler is not None:
            response: Response[Any] = handler(request, exc)
            return response.to_asgi_response(app=None, request=request)
    return _unexpected(request, exc).to_asgi_response(app=None, request=request)
