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

Module and serve forms see the URL `http://<host>/<name>/<rest>?<query>`, as on Supabase.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import HttpMethod, Request, Response, route
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response.base import ASGIResponse

from flux_edge.api.access_log import note_access
from flux_edge.api.auth import authenticate_optional
from flux_edge.api.body import read_body
from flux_edge.api.docs import FUNCTION_RESPONSE, OPTIONAL_SECURITY
from flux_edge.api.invoke import call_input, function_response, raw_sub_path
from flux_edge.api.relay import SUPABASE_PREFIX, RelayErrorBody, relay_error
from flux_edge.api.schemas import error_spec
from flux_edge.api.state import services_of
from flux_edge.runtime import RuntimeUnavailableError
from flux_edge.service.auth import AuthenticationError, Principal
from flux_edge.service.errors import NotFoundError

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
SUPABASE_HANDLER = "invoke_supabase"
# The route's paths as a pattern over the (normalised) ASGI path, for api/any_method.py; a path
# without a name ("/functions/v1/", "/functions/v1//x") is left to Litestar, which answers 404.
SUPABASE_PATTERN = re.compile(rf"^{SUPABASE_PREFIX}/(?P<name>[^/]+)(?:/.*)?$")


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
    name=SUPABASE_HANDLER,
    tags=["invocation"],
    summary="Invoke a function (Supabase-compatible)",
    status_code=200,
    response_description=FUNCTION_RESPONSE,
    security=OPTIONAL_SECURITY,
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
async def invoke_supabase(request: Request[Any, Any, Any], name: str) -> ASGIResponse:
    """Run the function `name` on the request, with Supabase's gateway semantics."""
    return await respond_supabase(request, name)


async def respond_supabase(request: Request[Any, Any, Any], name: str) -> ASGIResponse:
    """`invoke_supabase`, as api/any_method.py serves it (before Litestar's routing)."""
    answer = await _answer(request, name)
    if isinstance(answer, Response):  # the gateway's own answers
        return answer.to_asgi_response(app=None, request=request)
    return answer


async def _answer(request: Request[Any, Any, Any], name: str) -> Response[Any] | ASGIResponse:
    invocations = services_of(request).invocations
    preflight = request.method == HttpMethod.OPTIONS
    principal: Principal | None = None
    if not preflight and await invocations.requires_credential(name):
        required = await _required_principal(request, name)
        if isinstance(required, Response):
            return required
        principal = required
    try:
        body = await read_body(request)
    except RequestEntityTooLarge:
        limit = services_of(request).settings.max_body_bytes
        return relay_error(
            413,
            "REQUEST_TOO_LARGE",
            "Request Entity Too Large",
            f"The request body is larger than {limit} bytes (FLUX_EDGE_MAX_BODY_BYTES).",
            function=name,
        )
    # Components before the sub-path: "", "functions", "v1", name.
    call = call_input(request, body, name, raw_sub_path(request, 4))
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
    note_access(
        request.scope,
        function=name,
        execution_id=execution_id,
        caller=principal.kind if principal is not None else "anonymous",
    )
    return function_response(request, result, execution_id)
