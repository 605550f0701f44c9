"""Answers of the Supabase-compatible gateway itself (not of a function), marked for the clients.

`@supabase/functions-js` raises `FunctionsRelayError` for a response with `x-relay-error: true` and
`FunctionsHttpError` for any other non-2xx status, so every answer flux-edge makes on
`/functions/v1` (unknown function, credential refused, body too large, rate limited, pool full,
method not allowed) carries that header, Supabase's `sb-error-code`, and CORS headers that let a
browser read them. The body is the project's `{"error", "message"}` plus Supabase's `code`.
"""

from __future__ import annotations

import msgspec
from litestar import MediaType, Response

SUPABASE_PREFIX = "/functions/v1"

# On every answer of the gateway itself. A browser caller reads x-relay-error only when the
# response allows its origin and exposes the header.
RELAY_HEADERS = {
    "x-relay-error": "true",
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-relay-error, sb-error-code",
}


class RelayErrorBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A gateway error: the project's `error`/`message` plus Supabase's `code`."""

    error: str
    message: str
    code: str
    function: str | None = None


def relay_error(
    status: int,
    code: str,
    title: str,
    message: str,
    *,
    function: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[RelayErrorBody]:
    """An answer of the gateway (not of the function), marked as such for the Supabase clients."""
    return Response(
        RelayErrorBody(error=title, message=message, code=code, function=function),
        status_code=status,
        media_type=MediaType.JSON,
        headers={**RELAY_HEADERS, "sb-error-code": code, **(headers or {})},
    )
