"""The server's own JSON answers (errors, the Supabase gateway's), and which one each exception
gets, without Litestar.

The function routes and `/health` are served before Litestar is imported (flux_edge/front.py), so
their error answers are ASGI apps made here; Litestar's exception handlers (api/errors.py) answer
with the same bodies, statuses and messages by converting these.

Answers of the Supabase-compatible gateway itself (not of a function) are marked for the clients:
`@supabase/functions-js` raises `FunctionsRelayError` for a response with `x-relay-error: true` and
`FunctionsHttpError` for any other non-2xx status, so every answer flux-edge makes on
`/functions/v1` (unknown function, credential refused, body too large, rate limited, pool full,
method not allowed) carries that header, Supabase's `sb-error-code`, and CORS headers that let a
browser read them. The body is the project's `{"error", "message"}` plus Supabase's `code`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import apsw
import msgspec
import structlog

from flux_edge.asgi import Receive, Scope, Send
from flux_edge.http.cycle import send_whole, wire_fields
from flux_edge.service.auth import AuthenticationError, PermissionDeniedError
from flux_edge.service.errors import ConflictError, InvalidInputError, NotFoundError, ServiceError
from flux_edge.settings import Settings

log = structlog.get_logger("flux_edge.api")

SUPABASE_PREFIX = "/functions/v1"

_SERVICE_STATUS: dict[type[ServiceError], int] = {
    InvalidInputError: 400,
    NotFoundError: 404,
    ConflictError: 409,
}
_JSON = (b"content-type", b"application/json")
# On every answer of the gateway itself. A browser caller reads x-relay-error only when the
# response allows its origin and exposes the header.
RELAY_HEADERS = {
    "x-relay-error": "true",
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-relay-error, sb-error-code",
}
_encode = msgspec.json.encode


class ErrorBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Every error response. `line`/`column` locate a code error; invocation errors name the
    function and, once it ran, the execution."""

    error: str
    message: str
    line: int | None = None
    column: int | None = None
    file: str | None = None  # the module, for a multi-file function
    function: str | None = None
    execution_id: str | None = None


class RelayErrorBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A gateway error: the project's `error`/`message` plus Supabase's `code`."""

    error: str
    message: str
    code: str
    function: str | None = None


class HttpError(Exception):
    """The request itself refused before any function ran: a bad Content-Length or Host (400), a
    body over the limit (413), a client gone while its body was read (500)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class JsonAnswer:
    """A complete JSON response as an ASGI app: status, encoded body, extra headers."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head and the body (in one write when the server is flux-edge's own)."""
        head = [
            _JSON,
            (b"content-length", str(len(self.body)).encode()),
            *((name.lower().encode("latin-1"), value.encode("latin-1"))
              for name, value in self.headers.items()),
        ]  # fmt: skip
        if send_whole(send, self.status, wire_fields(head), self.body):
            return
        await send({"type": "http.response.start", "status": self.status, "headers": head})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def error_answer(
    status: int, title: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JsonAnswer:
    """A JSON error in the contract's shape."""
    return JsonAnswer(status, _encode(ErrorBody(error=title, message=message, **extra)), headers)


def relay_error(
    status: int,
    code: str,
    title: str,
    message: str,
    *,
    function: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonAnswer:
    """An answer of the gateway (not of the function), marked as such for the Supabase clients."""
    body = RelayErrorBody(error=title, message=message, code=code, function=function)
    return JsonAnswer(
        status, _encode(body), {**RELAY_HEADERS, "sb-error-code": code, **(headers or {})}
    )


# Python 3.13 took RFC 9110's names for these (413 "Content Too Large", ...); error titles, and the
# Supabase route's error codes made from them, stay the same whichever Python serves them.
_STABLE_TITLES = {
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
}


def status_title(status: int) -> str:
    """The reason phrase of a status ("Error" for one HTTP does not name)."""
    stable = _STABLE_TITLES.get(status)
    if stable is not None:
        return stable
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"


def http_error_message(status: int, detail: str, method: str, path: str, settings: Settings) -> str:
    """What an HTTP-level error says, by status: routing's 404 and 405, the body limit's 413."""
    if status == 404:
        return f"No endpoint at {path}. See /schema/openapi.json for the API."
    if status == 405:
        return f"{method} is not allowed on {path}."
    if status == 413:
        limit = settings.max_body_bytes
        return f"The request body is larger than {limit} bytes (FLUX_EDGE_MAX_BODY_BYTES)."
    return detail


def http_error_answer(
    status: int,
    detail: str,
    method: str,
    path: str,
    settings: Settings,
    headers: dict[str, str] | None = None,
) -> JsonAnswer:
    """An HTTP-level error; on the Supabase paths, the gateway's answer (so the Supabase clients
    raise FunctionsRelayError)."""
    title = status_title(status)
    message = http_error_message(status, detail, method, path, settings)
    if path.startswith(SUPABASE_PREFIX):
        return relay_error(status, title.upper().replace(" ", "_"), title, message, headers=headers)
    return error_answer(status, title, message, headers)


def storage_answer(exc: apsw.Error, method: str, path: str, settings: Settings) -> JsonAnswer:
    """The database refused a write: say so, so the operator knows where to look."""
    log.error("storage_error", method=method, path=path, error=str(exc))
    data_dir = settings.data_dir
    if isinstance(exc, apsw.FullError):
        return error_answer(
            507, "Insufficient storage", f"The disk holding {data_dir} is full; nothing was saved."
        )
    if isinstance(exc, apsw.ReadOnlyError | apsw.IOError | apsw.CantOpenError):
        return error_answer(
            503,
            "Storage unavailable",
            f"The database in {data_dir} cannot be written (read-only or failing disk); "
            "nothing was saved.",
            headers={"Retry-After": "30"},
        )
    return unexpected_answer(method, path)


def unexpected_answer(method: str, path: str) -> JsonAnswer:
    """A 500 for a failure nothing else answers; the traceback goes to the log."""
    log.exception("unhandled_error", method=method, path=path)
    return error_answer(
        500, "Internal server error", "The server failed unexpectedly; the error was logged."
    )


def service_answer(exc: ServiceError) -> JsonAnswer:
    """A service's refusal: its status by kind, a code error's location."""
    status = next(code for kind, code in _SERVICE_STATUS.items() if isinstance(exc, kind))
    if isinstance(exc, InvalidInputError) and (exc.line is not None or exc.file is not None):
        return error_answer(
            status, exc.title, exc.message, line=exc.line, column=exc.column, file=exc.file
        )
    return error_answer(status, exc.title, exc.message)


def exception_answer(exc: Exception, method: str, path: str, settings: Settings) -> JsonAnswer:
    """What any exception out of a request's handling answers (api/errors.py says the same for
    the routes Litestar serves)."""
    if isinstance(exc, ServiceError):
        return service_answer(exc)
    if isinstance(exc, AuthenticationError):
        return error_answer(401, "Unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, PermissionDeniedError):
        return error_answer(403, "Forbidden", str(exc))
    if isinstance(exc, HttpError):
        return http_error_answer(exc.status, exc.detail, method, path, settings)
    if isinstance(exc, apsw.Error):
        return storage_answer(exc, method, path, settings)
    return unexpected_answer(method, path)
