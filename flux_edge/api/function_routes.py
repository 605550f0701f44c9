"""The routes that call functions, as Litestar routes: what the OpenAPI schema documents of them.

flux_edge/front.py serves these paths before Litestar (api/invoke.py, api/supabase.py) for every
method these routes list, so a server never reaches the handlers here; they give the same answers,
for the Litestar API served without the front (tests/api/test_front.py).
"""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, route
from litestar.params import FromPath
from litestar.types import ASGIApp

from flux_edge.api.answers import SUPABASE_PREFIX
from flux_edge.api.docs import FUNCTION_RESPONSE, OPTIONAL_SECURITY
from flux_edge.api.invoke import answer_invoke
from flux_edge.api.schemas import ERROR_RESPONSES, error_spec
from flux_edge.api.state import services_of
from flux_edge.api.supabase import SUPABASE_METHODS, answer_supabase

INVOKE_PATH = "/api/v1/functions/{name:str}/invoke"


async def _answered(answer: Any, request: Request[Any, Any, Any], name: str) -> ASGIApp:
    """The front's answer to the request, as the ASGI app a Litestar handler may return (the
    front's scope and messages are plain ASGI: Litestar's TypedDicts at runtime)."""
    response: ASGIApp = await answer(services_of(request), request.scope, request.receive, name)
    return response


@route(
    [INVOKE_PATH, INVOKE_PATH + "/{path:path}"],
    http_method=list(HttpMethod),
    name="invoke_function",
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
async def invoke_function(request: Request[Any, Any, Any], name: FromPath[str]) -> ASGIApp:
    """Run the function `name` on the request (any method, any sub-path)."""
    return await _answered(answer_invoke, request, name)


@route(
    [f"{SUPABASE_PREFIX}/{{name:str}}", f"{SUPABASE_PREFIX}/{{name:str}}/{{rest:path}}"],
    http_method=[HttpMethod(method) for method in SUPABASE_METHODS],
    name="invoke_supabase",
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
async def invoke_supabase(request: Request[Any, Any, Any], name: FromPath[str]) -> ASGIApp:
    """Run the function `name` on the request, with Supabase's gateway semantics."""
    return await _answered(answer_supabase, request, name)
