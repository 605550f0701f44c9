"""The flux-edge ASGI app from Settings: the front (flux_edge/front.py) and, behind it, the HTTP API
as a Litestar app (routes, error handlers, OpenAPI), built once the server is up."""

from __future__ import annotations

from typing import Any

from flux_edge.api.access_log import access_writer
from flux_edge.collector import tune_for_serving
from flux_edge.front import FrontApp
from flux_edge.http.cycle import ACCESS_LINES
from flux_edge.logging import configure_logging
from flux_edge.settings import Settings, load_settings


def create_app(settings: Settings, *, serving_process: bool = False) -> FrontApp:
    """The flux-edge ASGI app. The store and runtime are opened on startup, in the serving loop.

    `serving_process`: the app is the process's only job (a `flux-edge serve` worker), so it sets
    the garbage collector's policy (flux_edge/collector.py) and may give its threads a CPU of their
    own (runtime/cpus.py); an embedding process keeps its own policy and CPUs.
    """
    return FrontApp(settings, build_api, serving_process=serving_process)


def build_api(settings: Settings, state: dict[str, Any]) -> Any:
    """The HTTP API as a Litestar app, sharing the front's state (imported here: ~40 % of a
    start's imports, made after the server answers)."""
    from flux_edge.api.litestar_app import litestar_app

    return litestar_app(settings, state)


def app_from_environment() -> FrontApp:
    """Factory for uvicorn workers: settings come from the FLUX_EDGE_* variables the CLI set."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings, serving_process=True)
    # The protocol `flux-edge serve` runs writes the access lines (AccessLogMiddleware stands aside).
    ACCESS_LINES.write = access_writer(settings.log_format, settings.log_level)
    tune_for_serving()  # `flux-edge serve` held collections while the server started
    return app
