"""Builds the Litestar app from Settings: routes, error handlers, logging, startup and shutdown."""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler

from flux_edge import __version__
from flux_edge.api.access_log import AccessLogMiddleware, access_writer
from flux_edge.api.any_method import AnyMethod, FunctionRoute
from flux_edge.api.console import console_asset, console_page
from flux_edge.api.docs import docs_assets, openapi_config
from flux_edge.api.errors import EXCEPTION_HANDLERS
from flux_edge.api.functions import FunctionController
from flux_edge.api.health import health
from flux_edge.api.invoke import (
    INVOKE_HANDLER,
    INVOKE_PATTERN,
    invoke_function,
    respond_to_any_method,
)
from flux_edge.api.live_logs import function_logs
from flux_edge.api.metrics import metrics
from flux_edge.api.rate_limit import RATE_LIMITER_KEY, RateLimitMiddleware
from flux_edge.api.state import SERVICES_KEY, Services
from flux_edge.api.stream import function_stream
from flux_edge.api.supabase import (
    SUPABASE_HANDLER,
    SUPABASE_METHODS,
    SUPABASE_PATTERN,
    invoke_supabase,
    respond_supabase,
)
from flux_edge.collector import freeze_start_heap, tune_for_serving
from flux_edge.http_cycle import ACCESS_LINES
from flux_edge.lean_imports import HTTPX_EXTRAS, import_without
from flux_edge.logging import configure_logging
from flux_edge.ratelimit import RateLimiter, open_rate_limiter
from flux_edge.runtime.capabilities import CapabilityBridge
from flux_edge.runtime.codeforms.build import FunctionLinker
from flux_edge.runtime.hosting import HostedRuntime, HostLimits
from flux_edge.runtime.limits import PoolLimits
from flux_edge.runtime.types import FunctionRunner
from flux_edge.scheduler import CronLedger, CronScheduler, worker_name
from flux_edge.service.auth import Authenticator
from flux_edge.service.executions import ExecutionService
from flux_edge.service.functions import FunctionService
from flux_edge.service.invocations import InvocationService
from flux_edge.service.live_logs import LiveLogHub
from flux_edge.service.metrics import METRICS_DIR_ENV, InvocationMetrics, metrics_root
from flux_edge.service.retention import RetentionPruner
from flux_edge.settings import Settings, load_settings, physical_memory_mb
from flux_edge.store.sqlite import SQLiteStore

log = structlog.get_logger("flux_edge.app")

SCHEDULER_KEY = "scheduler"
PRUNER_KEY = "pruner"
LINKER_KEY = "linker"


def _import_deferred(freeze: bool) -> None:
    """Imports what a server start skips (fetch, the compiler, JWTs) once the server is up, then
    (`freeze`: a serving process) keeps the start's heap out of later collections.

    In a thread, so /health answers first and the first fetch or deploy does not pay the imports
    on the event loop (where they would count against that call's time limit).
    """
    import_without("httpx", HTTPX_EXTRAS)
    for module in (
        "flux_edge.runtime.capabilities.net",
        "flux_edge.runtime.codeforms.script",
        "flux_edge.runtime.codeforms.linker",
        "flux_edge.runtime.codeforms.remote",
        "jwt",
        "croniter",
    ):
        importlib.import_module(module)
    if freeze:
        freeze_start_heap()


def _compile_source(source: str) -> str:
    """codeforms.compile_source, imported on the first deploy rather than at server start."""
    from flux_edge.runtime.codeforms import compile_source

    return compile_source(source)


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


def _pool_limits(settings: Settings) -> PoolLimits:
    return PoolLimits(
        max_isolates=settings.max_isolates,
        max_memory_mb=settings.max_memory_mb or physical_memory_mb(),
        spare_engines=settings.spare_engines,
        max_isolates_per_function=settings.max_isolates_per_function,
        max_concurrency_per_isolate=settings.max_concurrency_per_isolate,
        max_queue_per_function=settings.max_queue_per_function,
        isolate_max_calls=settings.isolate_max_calls,
        max_log_bytes=settings.max_log_bytes,
    )


def _runtime(settings: Settings, host: CapabilityBridge) -> FunctionRunner:
    if not settings.isolate_hosts:
        from flux_edge.runtime.runtime import Runtime  # in-process V8: loaded only when used

        return Runtime(_pool_limits(settings), host=host)
    hosts = HostLimits(
        max_hosts=settings.max_isolate_hosts,
        spare_hosts=settings.spare_isolate_hosts,
        pin_cpus=settings.pin_isolate_hosts,
        net_allow=settings.net_allow,
        max_subrequests=settings.max_subrequests,
        max_fetch_response_bytes=settings.max_fetch_response_bytes,
        file_quota_bytes=settings.file_quota_bytes,
    )
    return HostedRuntime(_pool_limits(settings), hosts)


def _end_streams_on_exit(live_logs: LiveLogHub) -> None:
    """On SIGTERM/SIGINT end the live-log streams, then do what the server (uvicorn) does: it
    waits for open responses before stopping, and a followed log never ends by itself."""
    if threading.current_thread() is not threading.main_thread():
        return  # an app served from another thread (tests, embedding) leaves signals alone
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handle(
            number: int, frame: FrameType | None, previous: Callable[..., Any] = previous
        ) -> None:
            live_logs.close()
            previous(number, frame)

        signal.signal(signum, handle)


def create_app(settings: Settings, *, serving_process: bool = False) -> Litestar:
    """The flux-edge ASGI app. The store and runtime are opened on startup, in the serving loop.

    `serving_process`: the app is the process's only job (a `flux-edge serve` worker), so it sets
    the garbage collector's policy (flux_edge/collector.py); an embedding process keeps its own.
    """
    host = CapabilityBridge.from_settings(settings)  # fetch and files; a bad NET_ALLOW fails here
    # `flux-edge serve` gives all its workers one directory to add their metrics up in; an app
    # made some other way (tests, embedding) gets a directory of its own, removed when it stops.
    shared_dir = os.environ.get(METRICS_DIR_ENV)
    metrics_dir_is_ours = not shared_dir
    invocation_metrics = InvocationMetrics(
        Path(shared_dir)
        if shared_dir
        else metrics_root(settings.data_dir) / f"app-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    )

    async def start(app: Litestar) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.functions_dir.mkdir(parents=True, exist_ok=True)
        store = await SQLiteStore.open(
            settings.database_path,
            max_result_bytes=settings.max_result_bytes,
            max_log_bytes=settings.max_log_bytes,
        )
        authenticator = Authenticator(
            store, admin_token=settings.admin_token, jwt_secret=settings.jwt_secret
        )
        await authenticator.load()
        app.state[RATE_LIMITER_KEY] = open_rate_limiter(settings)
        # mini-racer binds isolates to the loop that made them: create them in the serving loop.
        runtime = _runtime(settings, host)
        await runtime.start()
        invocation_metrics.open()
        invocation_metrics.watch_pool(
            lambda: runtime.pool.isolate_count, lambda: runtime.pool.queue_depth
        )
        live_logs = LiveLogHub(
            settings.live_log_buffer, mirror_console=settings.log_function_console
        )
        live_logs.bind()
        _end_streams_on_exit(live_logs)
        invocations = InvocationService(
            store,
            runtime,
            functions_dir=settings.functions_dir,
            metrics=invocation_metrics,
            live_logs=live_logs,
            is_server_credential=authenticator.is_server_credential,
        )
        linker = FunctionLinker(
            settings.package_cache_dir,
            registry=settings.npm_registry,
            import_hosts=settings.allowed_import_hosts,
            jsr_url=settings.jsr_url,
            ca_file=settings.ca_file,
        )
        app.state[LINKER_KEY] = linker
        app.state[SERVICES_KEY] = Services(
            settings=settings,
            store=store,
            authenticator=authenticator,
            functions=FunctionService(
                store,
                compile_source=_compile_source,
                checker=invocations,
                functions_dir=settings.functions_dir,
                retire=runtime.retire,
                on_saved=invocations.prewarm,
                link_files=linker,
            ),
            executions=ExecutionService(store),
            invocations=invocations,
            metrics=invocation_metrics,
            runtime=runtime,
            live_logs=live_logs,
        )
        base_url = f"http://{settings.host}:{settings.port}/api/v1/functions"
        scheduler = CronScheduler(
            CronLedger(settings.database_path, worker=worker_name()),
            invocations,
            invoke_url=lambda name: f"{base_url}/{name}/invoke",
        )
        await scheduler.start()
        app.state[SCHEDULER_KEY] = scheduler
        pruner = RetentionPruner(store, settings.retention_days)
        pruner.start()
        app.state[PRUNER_KEY] = pruner
        threading.Thread(
            target=_import_deferred,
            args=(serving_process,),
            name="flux-edge-imports",
            daemon=True,
        ).start()
        log.info("started", data_dir=str(settings.data_dir), version=__version__)

    async def stop(app: Litestar) -> None:
        services: Services | None = app.state.get(SERVICES_KEY)
        if services is None:
            return
        scheduler: CronScheduler | None = app.state.get(SCHEDULER_KEY)
        if scheduler is not None:
            await scheduler.stop()
        pruner: RetentionPruner | None = app.state.get(PRUNER_KEY)
        if pruner is not None:
            await pruner.stop()
        # Close the store last: it flushes the execution records the runtime's calls produced.
        await services.runtime.close()
        await host.aclose()
        await services.store.close()
        services.metrics.close()
        if metrics_dir_is_ours:
            shutil.rmtree(invocation_metrics.directory, ignore_errors=True)
        linker: FunctionLinker | None = app.state.get(LINKER_KEY)
        if linker is not None:
            await asyncio.to_thread(linker.close)  # its registry connections
        limiter: RateLimiter | None = app.state.get(RATE_LIMITER_KEY)
        if limiter is not None:
            limiter.close()
        log.info("stopped")

    app = Litestar(
        route_handlers=_route_handlers(),
        on_startup=[start],
        on_shutdown=[stop],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        state=State({"settings": settings}),
        logging_config=None,
    )
    # Outermost, so requests that routing itself rejects (404, 405) are logged too.
    function_routes = [
        FunctionRoute(INVOKE_PATTERN, INVOKE_HANDLER, respond_to_any_method),
        FunctionRoute(
            SUPABASE_PATTERN,
            SUPABASE_HANDLER,
            respond_supabase,
            frozenset(method.value for method in SUPABASE_METHODS),
        ),
    ]
    app.asgi_handler = AccessLogMiddleware(
        RateLimitMiddleware(AnyMethod(app.asgi_handler, app, function_routes)),
        access_writer(settings.log_format, settings.log_level),
    )
    return app


def app_from_environment() -> Litestar:
    """Factory for uvicorn workers: settings come from the FLUX_EDGE_* variables the CLI set."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings, serving_process=True)
    # The protocol `flux-edge serve` runs writes the access lines (AccessLogMiddleware stands aside).
    ACCESS_LINES.write = access_writer(settings.log_format, settings.log_level)
    tune_for_serving()  # `flux-edge serve` held collections while the server started
    return app
