"""`/functions/v1/:name[/<rest>]`: functions invoked the way Supabase serves them.

Existing Supabase clients (`supabase.functions.invoke()`, `@supabase/functions-js`) call
`<url>/functions/v1/<name>` with `apikey` and `Authorization: Bearer <anon key or user JWT>`. This
route runs the same invocation path as `/api/v1/functions/:name/invoke`, with Supabase's gateway
semantics on top (docs/supabase.md):

- a public function (`allow_unauthenticated`, Supabase's `verify_jwt = false`) ignores the
  credential: any bearer is accepted without being checked, and the function sees the headers;
- a function with `allow_unauthenticated: false` behaves like `verify_jwt = true`: a valid token or
  HS256 JWT is required, except on OPTIONS (browsers send CORS preflights without credentials);
- answers made by the gateway itself, not by the function (404, 401, 413, 503), carry
  `x-relay-error: true`, which the clients turn into `FunctionsRelayError`, and Supabase's
  `sb-error-code` header and `code` field.

The function sees the URL `http://<host>/<name>/<rest>?<query>`, as on Supabase.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from litestar import HttpMethod, MediaType, Request, Response, route
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from flux_edge.api.auth import authenticate_optional
from flux_edge.api.invoke import call_input, result_response
from flux_edge.api.schemas import error_spec
from flux_edge.api.state import services_of
from flux_edge.runtime import RuntimeUnavailableError
from flux_edge.service.auth import AuthenticationError, Principal
from flux_edge.service.errors import NotFoundError

SUPABASE_PREFIX = "/functions/v1"

# Supabase serves these methods; HEAD is answered like GET without the body.
SUPABASE_METHODS = [
    HttpMethod.GET,
    HttpMethod.HEAD,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
    HttpMethod.OPTIONS,
]

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


def function_url(request: Request[Any, Any, Any]) -> str:
    """`<scheme>://<host>/<name>/<rest>?<query>`: the path after the prefix, as sent (still
    percent-encoded, trailing slash kept), which is what routers inside functions match on."""
    raw_path = request.scope["raw_path"].decode("latin-1").partition("?")[0]
    tail = raw_path[len(SUPABASE_PREFIX) :]
    query = request.scope["query_string"].decode("latin-1")
    url = f"{request.url.scheme}://{request.url.netloc}{tail}"
    return f"{url}?{query}" if query else url


async def _required_principal(
    request: Request[Any, Any, Any], name: str
) -> Principal | Response[RelayErrorBody]:
    try:
        principal = await authenticate_optional(request)
    except AuthenticationError as exc:
        return relay_error(
            401,
            "UNAUTHORIZED_INVALID_JWT",
            "Unauthorized",
            str(exc),
            function=name,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if principal is None:
        return relay_error(
            401,
            "UNAUTHORIZED_NO_AUTH_HEADER",
            "Unauthorized",
            f"Function {name!r} requires a credential (verify_jwt): send 'Authorization: Bearer "
            "<token or JWT>'.",
            function=name,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


@route(
    [f"{SUPABASE_PREFIX}/{{name:str}}", f"{SUPABASE_PREFIX}/{{name:str}}/{{rest:path}}"],
    http_method=SUPABASE_METHODS,
    tags=["invocation"],
    summary="Invoke a function (Supabase-compatible)",
    responses={
        401: error_spec("The function requires a credential (verify_jwt) and none valid was sent"),
        404: error_spec("No enabled function of that name (x-relay-error: true)"),
        413: error_spec("The request body is over the size limit"),
        429: error_spec("Rate limit exceeded; see Retry-After"),
        503: error_spec("The pool is saturated or shutting down; see Retry-After"),
    },
    description="What Supabase clients call: the function receives the request with the URL "
    "http://<host>/<name>/<rest>. Public functions accept any bearer without checking it; "
    "functions with allow_unauthenticated=false need a valid token or JWT (not on OPTIONS).",
)
async def invoke_supabase(request: Request[Any, Any, Any], name: str) -> Response[Any]:
    """Run the function `name` on the request, with Supabase's gateway semantics."""
    invocations = services_of(request).invocations
    preflight = request.method == HttpMethod.OPTIONS
    principal: Principal | None = None
    if not preflight and await invocations.requires_credential(name):
        required = await _required_principal(request, name)
        if isinstance(required, Response):
            return required
        principal = required
    try:
        body = await request.body()
    except RequestEntityTooLarge:
        limit = services_of(request).settings.max_body_bytes
        return relay_error(
            413,
            "REQUEST_TOO_LARGE",
            "Request Entity Too Large",
            f"The request body is larger than {limit} bytes (FLUX_EDGE_MAX_BODY_BYTES).",
            function=name,
        )
    call = dataclasses.replace(call_input(request, body), url=function_url(request))
    try:
        result, execution_id = await invocations.invoke(
            name, call, principal, credential_exempt=preflight
        )
    except NotFoundError as exc:
        return relay_error(
            404, "NOT_FOUND", "Requested function was not found", exc.message, function=name
        )
    except RuntimeUnavailableError as exc:
        return relay_error(
            503,
            "SERVICE_UNAVAILABLE",
            "Service unavailable",
            str(exc),
            function=name,
            headers={"Retry-After": str(exc.retry_after)},
        )
    return result_response(result, execution_id)
