"""`/api/v1/functions/:name/invoke[/<sub-path>]`: the HTTP face of the invocation service (the hot path).

Every method token reaches the function (OPTIONS and HEAD included, and tokens Litestar does not
route, such as PROPFIND); flux_edge/front.py serves these paths before Litestar, and
api/function_routes.py documents them in the OpenAPI schema.
"""

from __future__ import annotations

import re

from flux_edge.api.access_log import note_access
from flux_edge.api.answers import JsonAnswer, error_answer
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

# The paths as a pattern over the (normalised) ASGI path.
INVOKE_PATTERN = re.compile(r"^/api/v1/functions/(?P<name>[^/]+)/invoke(?:/.*)?$")
# Path components before the sub-path: "", "api", "v1", "functions", name, "invoke".
_INVOKE_SEGMENTS = 6


async def answer_invoke(
    services: Services, scope: Scope, receive: Receive, name: str
) -> FunctionResponse | StreamedResponse | JsonAnswer:
    """Run the function `name` on the request and answer with what it returned, or the error.

    A refused credential (401), an unknown function (404) or a refused body (400, 413) is raised
    to the caller, whose exception handling answers it (api/answers.py `exception_answer`)."""
    header = authorization_header(scope)
    # No coroutine to say that no header is no caller (`authenticate(None)` is None).
    principal = None if header is None else await services.authenticator.authenticate(header)
    body = await read_body(scope["headers"], receive, services.settings.max_body_bytes)
    call = call_input(scope, body, name, raw_sub_path(scope, _INVOKE_SEGMENTS))
    try:
        result, execution_id = await services.invocations.invoke(name, call, principal)
    except RuntimeUnavailableError as exc:
        return error_answer(
            503,
            "Service unavailable",
            str(exc),
            {"retry-after": str(exc.retry_after)},
            function=name,
        )
    note_access(
        scope,
        function=name,
        execution_id=execution_id,
        caller=principal.kind if principal is not None else "anonymous",
    )
    return function_response(scope["method"], result, execution_id)
