"""The HTTP API as a Litestar app: the management routes, metrics, docs, the console, WebSocket
streams, and the function routes' documentation (flux_edge/front.py serves those calls itself)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler

from flux_edge.api.console import console_asset, console_page
from flux_edge.api.docs import docs_assets, openapi_config
from flux_edge.api.errors import EXCEPTION_HANDLERS
from flux_edge.api.function_routes import invoke_function, invoke_supabase
from flux_edge.api.functions import FunctionController
from flux_edge.api.health import health
from flux_edge.api.live_logs import function_logs
from flux_edge.api.metrics import metrics
from flux_edge.api.stream import function_stream
from flux_edge.settings import Settings


def _route_handlers() -> list[ControllerRouterHandler]:
    return [
        health,
        FunctionController,
        invoke_function,
        invoke_supabase,
        metrics,
        function_stream,
        docs_assets(),
        function_logs,
        console_page,
        console_asset,
    ]


def litestar_app(settings: Settings, state: dict[str, Any]) -> Litestar:
    """The Litestar app over `state`, the front's (the services are in it once started)."""
    return Litestar(
        route_handlers=_route_handlers(),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        state=State(state),
        logging_config=None,
    )
