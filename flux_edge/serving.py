"""`flux-edge serve`: validate the settings, make sure the admin token exists, then run uvicorn.

Kept apart from the command-line parsing so that the start path (measured: exec to a healthy
`/health`) imports only what serving needs.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import apsw
import msgspec

from flux_edge.collector import resume
from flux_edge.logging import configure_logging
from flux_edge.service.metrics import METRICS_DIR_ENV, fresh_metrics_dir
from flux_edge.service.tokens import ensure_admin_token
from flux_edge.settings import ENV_PREFIX, Settings, load_settings
from flux_edge.store.sqlite import SQLiteStore

T = TypeVar("T")

# How long in-flight requests get to finish after SIGTERM/SIGINT before connections are closed.
GRACEFUL_SHUTDOWN_SECONDS = 30
# What each uvicorn worker imports and calls for its app.
APP_FACTORY = "flux_edge.app:app_from_environment"


def serve(overrides: dict[str, Any]) -> int:
    """Run the server with `overrides` (None means "from the environment"); the exit status."""
    try:
        settings = load_settings(overrides)
    except msgspec.ValidationError as exc:
        print(f"flux-edge: invalid setting: {exc}", file=sys.stderr)
        return 2
    # An empty FLUX_EDGE_ADMIN_TOKEN or JWT secret means "not set", never "the empty string".
    settings = msgspec.structs.replace(
        settings, admin_token=settings.admin_token or None, jwt_secret=settings.jwt_secret or None
    )
    configure_logging(settings.log_format, settings.log_level)
    # Checked before a first start generates the admin token, which is shown only once: a start
    # that cannot listen must not spend it.
    unusable = _unbindable(settings.host, settings.port)
    if unusable is not None:
        print(
            f"flux-edge: cannot listen on {settings.host}:{settings.port}: {unusable}",
            file=sys.stderr,
        )
        return 1
    # Done once here, before any worker starts, so workers never race to create the admin token.
    try:
        admin_token = run_with_store(
            settings, lambda store: ensure_admin_token(store, settings.admin_token)
        )
    except (OSError, apsw.Error) as exc:
        writable = os.access(settings.data_dir, os.W_OK) if settings.data_dir.exists() else True
        why = "is read-only or not writable by this user" if not writable else "cannot be used"
        print(f"flux-edge: the data directory {settings.data_dir} {why}: {exc}", file=sys.stderr)
        return 1
    if admin_token is not None:
        print(f"admin token: {admin_token}", file=sys.stderr, flush=True)
    elif settings.admin_token is None:
        print(
            "note: the admin token was generated on the first start and shown only then; if it is lost, "
            f"`flux-edge token create --admin --data-dir {settings.data_dir}` makes a new one",
            file=sys.stderr,
            flush=True,
        )
    _export(settings)
    os.environ[METRICS_DIR_ENV] = str(fresh_metrics_dir(settings.data_dir))

    if settings.workers == 1 and settings.isolate_hosts:
        # The isolate hosts' fork server boots on the other CPU while this process imports the
        # server; the runtime the app starts adopts it.
        from flux_edge.runtime.hosting.zygote import prestart

        prestart()

    import uvicorn  # only `serve` needs it; keeps `token` commands quick

    from flux_edge.http.listeners import SPREADS_CONNECTIONS, WorkerListeners
    from flux_edge.http.protocol import BoundedHttpToolsProtocol, websocket_protocol

    if settings.workers > 1:
        resume()  # this process only supervises the workers; each collects on its own
        _fork_workers()
        if settings.isolate_hosts:
            # One fork server for every worker, each registering with it (they inherit its
            # registrar). Started after this process's imports, not during them: on two cores
            # its own imports then held up the workers' (exec -> healthy, 7 alternating starts:
            # median 311 ms, against 237 ms started here).
            from flux_edge.runtime.hosting.zygote import start_shared

            start_shared()

    options: dict[str, Any] = {
        "http": BoundedHttpToolsProtocol,  # request head limits (see flux_edge/http/protocol.py)
        "ws": websocket_protocol,
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "lifespan": "on",
        "log_config": None,
        "access_log": False,  # flux_edge.api.access_log writes one structured line per request
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    if settings.workers > 1 and SPREADS_CONNECTIONS:
        # What uvicorn.run does for several workers, but each worker listens on its own socket.
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(APP_FACTORY, **options)
        Multiprocess(config, sockets=WorkerListeners(settings.host, settings.port)).run()
    else:
        uvicorn.run(APP_FACTORY, **options)
    return 0


def _fork_workers() -> None:
    """Have uvicorn fork its workers from this process instead of spawning fresh interpreters:
    the server's modules are imported once, here, and every worker starts with them (a spawned
    worker imports everything again; exec -> healthy with two workers, 5 alternating starts:
    median 249 ms forked, 443 ms spawned). Forking is safe here: this process runs no other
    thread and no event loop (the store was opened and closed in its own `asyncio.run`), and
    each worker starts its own loop and runtime after the fork."""
    import multiprocessing

    import uvicorn._subprocess

    import flux_edge.app  # noqa: F401  (what each worker's app factory imports)

    uvicorn._subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]


def _unbindable(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on now, or None if it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _export(settings: Settings) -> None:
    """Put every setting in the environment, where each worker process's app factory reads it."""
    for name, value in msgspec.structs.asdict(settings).items():
        if value is None:
            os.environ.pop(ENV_PREFIX + name.upper(), None)
        else:
            os.environ[ENV_PREFIX + name.upper()] = str(value)


def run_with_store(settings: Settings, job: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    """Run `job` on the store of `settings`, opened and closed around it."""

    async def run() -> T:
        store = await SQLiteStore.open(settings.database_path)
        try:
            return await job(store)
        finally:
            await store.close()

    return asyncio.run(run())
