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
  `sb-error-code` header and `code` field (api/answers.py).

Module and serve forms see the URL `http://<host>/<name>/<rest>?<query>`, as on Supabase.
flux_edge/front.py serves these paths before Litestar; api/function_routes.py documents them.
"""

from __future__ import annotations

import re

from flux_edge.api.access_log import note_access
from flux_edge.api.answers import (
    SUPABASE_PREFIX,
    HttpError,
    JsonAnswer,
    http_error_message,
    relay_error,
)
from flux_edge.api.body import read_body
from flux_edge.api.calls import (
    FunctionResponse,
    StreamedResponse,
    call_input,
    function_response,
    raw_sub_path,
)
from flux_edge.api.state import Services
from flux_edge.asgi import Receive, Scope, authorization_header
from flux_edge.runtime import RuntimeUnavailableError
from flux_edge.service.auth import AuthenticationError, Principal
from flux_edge.service.errors import NotFoundError

# Supabase serves these methods; HEAD is answered like GET without the body.
SUPABASE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The route's paths as a pattern over the (normalised) ASGI path; a path without a name
# ("/functions/v1/", "/functions/v1//x") is left to Litestar, which answers 404.
SUPABASE_PATTERN = re.compile(rf"^{SUPABASE_PREFIX}/(?P<name>[^/]+)(?:/.*)?$")
# Path components before the sub-path: "", "functions", "v1", name.
_SUPABASE_SEGMENTS = 4


async def _required_principal(
    services: Services, scope: Scope, name: str
) -> Principal | JsonAnswer:
    try:
        principal = await services.authenticator.authenticate(authorization_header(scope))
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


async def answer_supabase(
    services: Services, scope: Scope, receive: Receive, name: str
) -> FunctionResponse | StreamedResponse | JsonAnswer:
    """Run the function `name` on the request, with Supabase's gateway semantics."""
    invocations = services.invocations
    preflight = scope["method"] == "OPTIONS"
    principal: Principal | None = None
    needs_credential = invocations.requires_credential_now(name)  # no coroutine when cached
    if needs_credential is None:
        needs_credential = await invocations.requires_credential(name)
    if not preflight and needs_credential:
        required = await _required_principal(services, scope, name)
        if isinstance(required, JsonAnswer):
            return required
        principal = required
    limit = services.settings.max_body_bytes
    try:
        body = await read_body(scope["headers"], receive, limit)
    except HttpError as exc:
        if exc.status != 413:
            raise
        message = http_error_message(
            413, exc.detail, scope["method"], scope["path"], services.settings
        )
        return relay_error(
            413, "REQUEST_TOO_LARGE", "Request Entity Too Large", message, function=name
        )
    call = call_input(scope, body, name, raw_sub_path(scope, _SUPABASE_SEGMENTS))
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
        scope,
        function=name,
        execution_id=execution_id,
        caller=principal.kind if principal is not None else "anonymous",
    )
    return function_response(scope["method"], result, execution_id)
