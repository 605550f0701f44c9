"""The ASGI app a flux-edge server runs: `/health` and the function routes served at once, the
rest of the HTTP API (Litestar) built in the background.

A start used to import and build Litestar before its first answer (~40 % of exec to a healthy
`/health`, docs/performance.md). Now the lifespan starts the server's parts (flux_edge/boot.py), and
then this app answers `/health` and every call of a function (api/invoke.py, api/supabase.py)
without Litestar: no Litestar import, `Request` or app entry on the hot path. Meanwhile a thread
imports and builds the Litestar app for everything else (the management API, metrics, docs, the
console, WebSocket streams); a request for it that arrives first waits until it is built (a few
hundred ms after start). The rate limiter and the access lines apply to both.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from flux_edge.api.access_log import ACCESS_FIELDS_KEY, AccessLogMiddleware, access_writer
from flux_edge.api.answers import JsonAnswer, error_answer, exception_answer
from flux_edge.api.calls import FunctionResponse
from flux_edge.api.invoke import INVOKE_PATTERN, answer_invoke
from flux_edge.api.rate_limit import RateLimitMiddleware
from flux_edge.api.state import RATE_LIMITER_KEY, SERVICES_KEY, Services
from flux_edge.api.supabase import SUPABASE_METHODS, SUPABASE_PATTERN, answer_supabase
from flux_edge.asgi import ASGIApp, Receive, Scope, Send
from flux_edge.boot import ServerParts, import_deferred
from flux_edge.settings import Settings

log = structlog.get_logger("flux_edge.app")

HEALTHY = JsonAnswer(200, b'{"status":"ok"}')
API_UNAVAILABLE = error_answer(
    500,
    "Internal server error",
    "The server's HTTP API failed to start (see the log: api_build_failed); function calls are "
    "still served.",
)
_SUPABASE_METHODS = frozenset(SUPABASE_METHODS)

BuildApi = Callable[[Settings, dict[str, Any]], ASGIApp]


class FrontApp:
    """Serves `/health` and the function routes; hands everything else to the HTTP API."""

    def __init__(
        self, settings: Settings, build_api: BuildApi, *, serving_process: bool = False
    ) -> None:
        self.settings = settings
        # Shared with the HTTP API (its `app.state`) and read by the rate limiter and handlers.
        self.state: dict[str, Any] = {"settings": settings}
        self._parts = ServerParts(settings, self.state, serving_process=serving_process)
        self._build_api = build_api
        self._serving_process = serving_process
        self._api: asyncio.Future[ASGIApp] | None = None
        self._limited = RateLimitMiddleware(self._route)
        # Outermost, so requests that routing itself rejects (404, 405) are logged too.
        self._handle = AccessLogMiddleware(
            self._limited, access_writer(settings.log_format, settings.log_level)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry: the lifespan here, requests through the access log and rate limits."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        scope["app"] = self  # where the rate limiter finds its state (Litestar sets its own)
        if ACCESS_FIELDS_KEY in scope:
            # flux-edge's HTTP protocol writes this request's access line (flux_edge/http/cycle.py), so
            # the middleware would only pass it on; without rate limits, so would the limiter.
            # Each layer is a coroutine a request.
            limited = self.state.get(RATE_LIMITER_KEY) is not None
            await (self._limited if limited else self._route)(scope, receive, send)
            return
        await self._handle(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            method = scope["method"]
            if path == "/health" and method == "GET":
                await HEALTHY(scope, receive, send)
                return
            services: Services | None = self.state.get(SERVICES_KEY)
            if services is not None:
                match = INVOKE_PATTERN.match(path)
                answer = answer_invoke
                if match is None and method in _SUPABASE_METHODS:
                    match = SUPABASE_PATTERN.match(path)
                    answer = answer_supabase
                if match is not None:
                    try:
                        response = await answer(services, scope, receive, match["name"])
                    except Exception as exc:  # what Litestar's exception handlers would answer
                        response = exception_answer(exc, method, path, self.settings)
                    # A function's whole response goes without a coroutine when it can.
                    if type(response) is not FunctionResponse or not response.sent_whole(send):
                        await response(scope, receive, send)
                    return
        try:
            api = await self._api_app()
        except Exception:  # the build failed (logged): calls are still served
            if scope["type"] == "http":
                await API_UNAVAILABLE(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1011})
            return
        await api(scope, receive, send)

    async def _api_app(self) -> ASGIApp:
        if self._api is None:  # served without a lifespan: build it now
            self._start_building()
        assert self._api is not None
        return await asyncio.shield(self._api)

    def _start_building(self) -> None:
        """Build the HTTP API in a thread, then do the imports the server's start skipped."""
        loop = asyncio.get_running_loop()
        built: asyncio.Future[ASGIApp] = loop.create_future()
        self._api = built

        def build() -> None:
            self._parts.open_metrics_files(loop)
            try:
                api = self._build_api(self.settings, self.state)
            except Exception as exc:  # handed to the requests that wait for the API
                log.exception("api_build_failed")
                _settle(loop, built, exc)
                return
            _settle(loop, built, api)
            import_deferred(self._serving_process)

        threading.Thread(target=build, name="flux-edge-api", daemon=True).start()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Start the server's parts, answer, build the HTTP API; stop the parts at shutdown."""
        await receive()  # lifespan.startup
        await _lifespan_phase("startup", self._start, send)
        await receive()  # lifespan.shutdown
        await _lifespan_phase("shutdown", self._parts.stop, send)

    async def _start(self) -> None:
        await self._parts.start()
        self._start_building()


async def _lifespan_phase(phase: str, run: Callable[[], Awaitable[None]], send: Send) -> None:
    """Run a lifespan phase and tell the server how it went (a failure is raised on too)."""
    try:
        await run()
    except BaseException:
        await send({"type": f"lifespan.{phase}.failed", "message": traceback.format_exc()})
        raise
    await send({"type": f"lifespan.{phase}.complete"})


def _settle(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[ASGIApp], outcome: ASGIApp | Exception
) -> None:
    """Give `future` its outcome from another thread (nothing, once its loop has closed)."""

    def settle() -> None:
        if future.done():
            return
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        loop.call_soon_threadsafe(settle)
