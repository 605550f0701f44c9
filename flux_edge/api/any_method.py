"""The function routes' fast path, and any HTTP method token on a function's paths.

Litestar routes the methods of its `HttpMethod` enum (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS,
TRACE); HTTP allows any token (`PROPFIND`, `PURGE`, `REPORT`, ...), and a function is the one to
answer it. This pure ASGI layer, between the rate limiter and Litestar's router, serves the routes
that call functions (`/api/v1/functions/:name/invoke` for every method token, Supabase's
`/functions/v1/:name` for the methods Supabase serves) with the same code their Litestar routes
run, the route's handler in the scope (so its body-size limit applies) and Litestar's error
answers, without Litestar's routing, handler-signature and response layers, which cost about a
fifth of the server's time per call (docs/performance.md). Everything else, other methods on
those paths included, goes on to Litestar unchanged, so the management API keeps its 405s. The
Litestar routes stay registered, for the OpenAPI schema and for `url_for`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from flux_edge.api.errors import exception_response


@dataclass(frozen=True, slots=True)
class FunctionRoute:
    """A path pattern (named group `name`) and what answers it."""

    pattern: re.Pattern[str]
    handler_name: str  # the Litestar route handler of these paths (its limits apply here too)
    respond: Callable[[Request[Any, Any, Any], str], Awaitable[ASGIApp]]
    methods: frozenset[str] | None = None  # the methods served here; None: every method token


class AnyMethod:
    """Serves the function routes' methods before Litestar; passes everything else on."""

    def __init__(self, app: ASGIApp, litestar: Litestar, routes: Sequence[FunctionRoute]) -> None:
        self.app = app
        self._litestar = litestar
        self._routes = tuple(routes)
        self._handlers: dict[str, Any] = {}  # handler name -> route handler, looked up once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a function route's path and method; pass everything else on."""
        if scope["type"] == ScopeType.HTTP:
            for candidate in self._routes:
                if candidate.methods is not None and scope["method"] not in candidate.methods:
                    continue
                match = candidate.pattern.match(scope["path"])
                if match is not None:
                    await self._serve(candidate, match["name"], scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _handler(self, name: str) -> Any:
        handler = self._handlers.get(name)
        if handler is None:
            index = self._litestar.get_handler_index_by_name(name)
            if index is None:
                raise LookupError(f"no route handler named {name!r}")
            handler = self._handlers[name] = index["handler"]
        return handler

    async def _serve(
        self, route: FunctionRoute, name: str, scope: HTTPScope, receive: Receive, send: Send
    ) -> None:
        scope["route_handler"] = self._handler(route.handler_name)
        scope["path_params"] = {"name": name}
        request: Request[Any, Any, Any] = Request(scope, receive)
        try:
            response = await route.respond(request, name)
        except Exception as exc:  # what Litestar's exception handlers would have answered
            response = exception_response(request, exc)
        await response(scope, receive, send)
