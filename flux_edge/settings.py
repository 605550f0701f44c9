"""Every setting, typed, read once from command-line flags and FLUX_EDGE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from flux_edge.machine import default_workers

ENV_PREFIX = "FLUX_EDGE_"

# Constraints checked when settings are read, so a bad value stops `serve` with one line before
# anything starts (a port of 70000 used to reach the socket layer and hang there).
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
AtLeastOne = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Server settings. Each field `x` is read from `FLUX_EDGE_X`; flags override the environment."""

    host: str = "127.0.0.1"
    port: Port = 8080
    data_dir: Path = Path("./flux-edge-data")
    # Default: one per two usable CPUs, at most one per GiB of memory (flux_edge/machine.py).
    workers: AtLeastOne = msgspec.field(default_factory=default_workers)
    admin_token: str | None = None
    jwt_secret: str | None = None
    rate_limits: bool = True
    # Rate limits as "COUNT/PERIOD" ("60/min", "5/10s", "1000/h"), per token or client IP.
    rate_limit_write: str = "60/min"  # create, update, delete, rollback
    rate_limit_list: str = "300/min"  # GET /api/v1/functions
    rate_limit_read: str = "300/min"  # GET one function, its versions
    rate_limit_invoke: str = "600/min"  # per caller and function, HTTP and WebSocket
    rate_limit_executions: str = "300/min"  # execution history
    ws_max_in_flight: AtLeastOne = (
        32  # invocations one WebSocket may have running before reads pause
    )
    # "json" (one JSON object a line) or "console" (readable, for development)
    # When set, GET /metrics asks for `Authorization: Bearer <this>` (the scraper's credential).
    metrics_token: str | None = None
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # Copy functions' console lines into the server log (logger flux_edge.function_console).
    log_function_console: bool = False
    # Live-log events (console lines and execution summaries) kept per function and worker.
    live_log_buffer: AtLeastOne = 1000
    max_body_bytes: AtLeastOne = 6 * 1024 * 1024
    # Runtime
    max_isolates: AtLeastOne = 256
    # Cap on the sum of memory_limit_mb over live isolates (0: the machine's memory, or its
    # container's limit), so every isolate may reach its limit at once without the process
    # running out of memory.
    max_memory_mb: NonNegative = 0
    spare_engines: NonNegative = 2
    max_isolates_per_function: AtLeastOne = 4
    max_concurrency_per_isolate: AtLeastOne = 64
    max_queue_per_function: NonNegative = 256
    isolate_max_calls: AtLeastOne = 100_000
    # Each function's isolates run in a supervised host process (docs/runtime.md): a crash, an
    # unstoppable builtin or memory past the function's limits ends that process, never the server.
    isolate_hosts: bool = True
    max_isolate_hosts: AtLeastOne = 64  # host processes at once; then the LRU idle one goes
    spare_isolate_hosts: NonNegative = 2  # hosts booted ahead for new functions
    # Each host's event loop and isolates on one CPU, the one with the fewest hosts; an isolate
    # running CPU-heavy JavaScript is let go to every CPU (docs/runtime.md, "CPU placement").
    pin_isolate_hosts: bool = True
    max_result_bytes: AtLeastOne = 64 * 1024
    max_log_bytes: AtLeastOne = 256 * 1024
    retention_days: AtLeastOne = 30
    # Capabilities
    net_allow: str = ""  # comma-separated CIDRs fetch may reach despite the private-address block
    max_subrequests: NonNegative = 50
    max_fetch_response_bytes: AtLeastOne = 10 * 1024 * 1024
    file_quota_bytes: NonNegative = 64 * 1024 * 1024
    # Modules (docs/modules.md): where deploys resolve npm packages, and the hosts whose URL
    # (https:// and jsr:) imports a deploy may fetch (comma-separated; empty: none).
    npm_registry: str = "https://registry.npmjs.org"
    import_hosts: str = ""
    # The JSR registry jsr: imports resolve against (its host must be in import_hosts).
    jsr_url: str = "https://jsr.io"
    # A PEM file of extra CA certificates deploy fetches trust (a private registry or mirror).
    ca_file: Path | None = None

    @property
    def database_path(self) -> Path:
        """The SQLite database file inside the data dir."""
        return self.data_dir / "flux-edge.db"

    @property
    def package_cache_dir(self) -> Path:
        """Where deploys keep npm packages (and their metadata) for later, offline deploys."""
        return self.data_dir / "packages"

    @property
    def allowed_import_hosts(self) -> frozenset[str]:
        """FLUX_EDGE_IMPORT_HOSTS as a set of host names."""
        return frozenset(h.strip().lower() for h in self.import_hosts.split(",") if h.strip())

    @property
    def functions_dir(self) -> Path:
        """Where each function's file jail lives (one directory per function id)."""
        return self.data_dir / "functions"


_FALSE = {"0", "false", "no", "off"}


def _parse(field_type: Any, raw: str) -> Any:
    if field_type is bool:
        return raw.strip().lower() not in _FALSE
    return raw


def load_settings(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Build Settings from the environment, then apply non-None `overrides` (from flags)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(Settings):
        raw = env.get(ENV_PREFIX + field.name.upper())
        if raw:  # an empty variable means "not set", as shells and unit files often leave them
            values[field.name] = _parse(field.type, raw)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    # convert() validates types and turns "8080" into 8080 for the environment's strings.
    return msgspec.convert(values, Settings, strict=False, dec_hook=_decode_path)


def _decode_path(type_: type, value: Any) -> Any:
    if type_ is Path and isinstance(value, str | Path):
        return Path(value)
    raise NotImplementedError(type_)
