"""A server's parts, started and stopped with it: the store, the runtime and the services that
handlers share, the rate limiter, the cron scheduler and the retention pruner.

Without Litestar: flux_edge/front.py starts these before the HTTP API (Litestar) is imported, and
hands the same state to it once it is built.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from flux_edge import __version__
from flux_edge.api.state import RATE_LIMITER_KEY, SERVICES_KEY, Services
from flux_edge.collector import freeze_start_heap
from flux_edge.lean_imports import HTTPX_EXTRAS, import_without
from flux_edge.machine import memory_mb
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
from flux_edge.service.sibling_notices import SiblingNotices
from flux_edge.settings import Settings
from flux_edge.store.sqlite import SQLiteStore

log = structlog.get_logger("flux_edge.app")

SCHEDULER_KEY = "scheduler"
PRUNER_KEY = "pruner"
LINKER_KEY = "linker"


def import_deferred(freeze: bool) -> None:
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
        "uvicorn.protocols.websockets.auto",
    ):
        importlib.import_module(module)
    if freeze:
        freeze_start_heap()


def _compile_source(source: str) -> str:
    """codeforms.compile_source, imported on the first deploy rather than at server start."""
    from flux_edge.runtime.codeforms import compile_source

    return compile_source(source)


def _pool_limits(settings: Settings) -> PoolLimits:
    return PoolLimits(
        max_isolates=settings.max_isolates,
        max_memory_mb=settings.max_memory_mb or memory_mb(),
        spare_engines=settings.spare_engines,
        max_isolates_per_function=settings.max_isolates_per_function,
        max_concurrency_per_isolate=settings.max_concurrency_per_isolate,
        max_queue_per_function=settings.max_queue_per_function,
        isolate_max_calls=settings.isolate_max_calls,
        max_log_bytes=settings.max_log_bytes,
    )


def runtime_for(
    settings: Settings, host: CapabilityBridge, *, serving_worker: bool = False
) -> FunctionRunner:
    """The runtime a worker calls functions through (also `flux-edge bench --in-process`'s);
    `serving_worker`: this process is a `flux-edge serve` worker (runtime/cpus.py)."""
    if not settings.isolate_hosts:
        from flux_edge.runtime.runtime import Runtime  # in-process V8: loaded only when used

        return Runtime(_pool_limits(settings), host=host)
    hosts = HostLimits(
        max_hosts=settings.max_isolate_hosts,
        spare_hosts=settings.spare_isolate_hosts,
        pin_cpus=settings.pin_isolate_hosts,
        serving_worker=serving_worker,
        workers=settings.workers,
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


class ServerParts:
    """What `start` opens and `stop` closes, kept in `state` (the dict the HTTP API shares)."""

    def __init__(
        self, settings: Settings, state: dict[str, Any], *, serving_process: bool = False
    ) -> None:
        self.settings = settings
        self.state = state
        self._serving_process = serving_process  # a `flux-edge serve` worker (see FrontApp)
        self.host = CapabilityBridge.from_settings(settings)  # a bad NET_ALLOW fails here
        # `flux-edge serve` gives all its workers one directory to add their metrics up in; an
        # app made some other way (tests, embedding) gets a directory of its own, removed when it
        # stops.
        shared_dir = os.environ.get(METRICS_DIR_ENV)
        self._metrics_dir_is_ours = not shared_dir
        # Where several workers' live logs meet: that directory too (private to the user).
        self._peers_dir = Path(shared_dir) if shared_dir and settings.workers > 1 else None
        # The workers' notices of saved and deleted functions go through that directory too.
        self._notices: SiblingNotices | None = None
        self.metrics = InvocationMetrics(
            Path(shared_dir)
            if shared_dir
            else metrics_root(settings.data_dir) / f"app-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            shared=self._peers_dir is not None,  # only several workers read each other's files
        )

    async def start(self) -> None:
        """Open the store, start the runtime and the services, in the serving loop."""
        settings, state = self.settings, self.state
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
        state[RATE_LIMITER_KEY] = open_rate_limiter(settings)
        # mini-racer binds isolates to the loop that made them: create them in the serving loop.
        runtime = runtime_for(settings, self.host, serving_worker=self._serving_process)
        await runtime.start()
        self.metrics.open()
        self.metrics.watch_pool(
            lambda: runtime.pool.isolate_count, lambda: runtime.pool.queue_depth
        )
        live_logs = LiveLogHub(
            settings.live_log_buffer,
            mirror_console=settings.log_function_console,
            peers_dir=self._peers_dir,
        )
        await live_logs.bind()
        _end_streams_on_exit(live_logs)
        notices = None if self._peers_dir is None else SiblingNotices(self._peers_dir)
        invocations = InvocationService(
            store,
            runtime,
            functions_dir=settings.functions_dir,
            metrics=self.metrics,
            live_logs=live_logs,
            is_server_credential=authenticator.is_server_credential,
            notices=notices,
        )
        if notices is not None:
            notices.listen(invocations.follow)
            self._notices = notices
        linker = FunctionLinker(
            settings.package_cache_dir,
            registry=settings.npm_registry,
            import_hosts=settings.allowed_import_hosts,
            jsr_url=settings.jsr_url,
            ca_file=settings.ca_file,
        )
        state[LINKER_KEY] = linker
        state[SERVICES_KEY] = Services(
            settings=settings,
            store=store,
            authenticator=authenticator,
            functions=FunctionService(
                store,
                compile_source=_compile_source,
                checker=invocations,
                functions_dir=settings.functions_dir,
                retire=runtime.retire,
                on_saved=invocations.saved,
                on_deleted=invocations.deleted,
                link_files=linker,
            ),
            executions=ExecutionService(store),
            invocations=invocations,
            metrics=self.metrics,
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
        state[SCHEDULER_KEY] = scheduler
        pruner = RetentionPruner(store, settings.retention_days)
        pruner.start()
        state[PRUNER_KEY] = pruner
        log.info("started", data_dir=str(settings.data_dir), version=__version__)

    def open_metrics_files(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make the worker's metrics files off the event loop, once the server answers (the
        import of prometheus-client is not part of a start), read the Python's build they report,
        then have the loop write the values counted so far. A failure is logged; the loop's next
        write tries again."""
        from flux_edge.interpreter import running_interpreter

        try:
            self.metrics.open_files()
            running_interpreter()  # read here, not in a scrape on the loop (~40 ms, once)
        except Exception:
            log.exception("metrics_files_failed", directory=str(self.metrics.directory))
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(self.metrics.write)

    async def stop(self) -> None:
        """Stop what `start` started; the store last, so the last records are written."""
        state = self.state
        services: Services | None = state.get(SERVICES_KEY)
        if services is None:
            return
        scheduler: CronScheduler | None = state.get(SCHEDULER_KEY)
        if scheduler is not None:
            await scheduler.stop()
        pruner: RetentionPruner | None = state.get(PRUNER_KEY)
        if pruner is not None:
            await pruner.stop()
        services.live_logs.close()
        if self._notices is not None:
            self._notices.close()
        # Close the store last: it flushes the execution records the runtime's calls produced.
        await services.runtime.close()
        await self.host.aclose()
        await services.store.close()
        services.metrics.close()
        if self._metrics_dir_is_ours:
            shutil.rmtree(self.metrics.directory, ignore_errors=True)
        linker: FunctionLinker | None = state.get(LINKER_KEY)
        if linker is not None:
            await asyncio.to_thread(linker.close)  # its registry connections
        limiter: RateLimiter | None = state.get(RATE_LIMITER_KEY)
        if limiter is not None:
            limiter.close()
        log.info("stopped")
