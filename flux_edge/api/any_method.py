"""Any HTTP method token on a function's paths, not only the ones Litestar routes.

Litestar routes the methods of its `HttpMethod` enum (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS,
TRACE); HTTP allows any token (`PROPFIND`, `PURGE`, `REPORT`, ...), and a function is the one to
answer it. This pure ASGI layer, between the rate limiter and Litestar's router, sends a request
with another method on a function path to the same code the function's Litestar route runs, with
that route's handler in the scope (so its body-size limit applies). Everything else goes on to
Litestar unchanged, so the management API keeps its 405s.

A route marked `every_method` (the invoke route, the hot path) is served here for every method:
the same `respond` with the same handler in the scope and the same error answers, without
Litestar's routing, handler-signature and response layers, which cost about a fifth of the
server's time per call (docs/performance.md). Its Litestar route stays registered, for the OpenAPI
schema and for `url_for`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import HttpMethod, Litestar, Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from flux_edge.api.errors import exception_response

_ROUTED = frozenset(method.value for method in HttpMethod)


@dataclass(frozen=True, slots=True)
class FunctionRoute:
    """A path pattern (named group `name`) and what answers it for any method."""

    pattern: re.Pattern[str]
    handler_name: str  # the Litestar route handler serving the routed methods on these paths
    respond: Callable[[Request[Any, Any, Any], str], Awaitable[ASGIApp]]
    every_method: bool = False  # serve routed methods here too, not only the ones Litestar lacks


class AnyMethod:
    """Forwards method tokens Litestar does not route, on function paths, to the function."""

    def __init__(self, app: ASGIApp, litestar: Litestar, routes: Sequence[FunctionRoute]) -> None:
        self.app = app
        self._litestar = litestar
        self._routes = tuple(routes)
        self._handlers: dict[str, Any] = {}  # handler name -> route handler, looked up once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a function path (unrouted methods, or any method when the route says so);
        pass everything else on."""
        if scope["type"] == ScopeType.HTTP:
            unrouted = scope["method"] not in _ROUTED
            for candidate in self._routes:
                if not (unrouted or candidate.every_method):
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
