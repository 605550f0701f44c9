"""Every setting, typed, read once from command-line flags and FLUX_EDGE_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

ENV_PREFIX = "FLUX_EDGE_"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Server settings. Each field `x` is read from `FLUX_EDGE_X`; flags override the environment."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./flux-edge-data")
    workers: int = 1
    admin_token: str | None = None
    jwt_secret: str | None = None
    rate_limits: bool = True
    # Rate limits as "COUNT/PERIOD" ("60/min", "5/10s", "1000/h"), per token or client IP.
    rate_limit_write: str = "60/min"  # create, update, delete, rollback
    rate_limit_list: str = "300/min"  # GET /api/v1/functions
    rate_limit_read: str = "300/min"  # GET one function, its versions
    rate_limit_invoke: str = "600/min"  # per caller and function, HTTP and WebSocket
    rate_limit_executions: str = "300/min"  # execution history
    ws_max_in_flight: int = 32  # invocations one WebSocket may have running before reads pause
    log_format: str = (
        "json"  # "json" (one JSON object a line) or "console" (readable, for development)
    )
    log_level: str = "info"
    max_body_bytes: int = 6 * 1024 * 1024
    # Runtime
    max_isolates: int = 256
    # Cap on the sum of memory_limit_mb over live isolates (0: the machine's physical memory), so
    # every isolate may reach its limit at once without the process running out of memory.
    max_memory_mb: int = 0
    spare_engines: int = 2
    max_isolates_per_function: int = 4
    max_concurrency_per_isolate: int = 64
    max_queue_per_function: int = 256
    isolate_max_calls: int = 100_000
    # Each function's isolates run in a supervised host process (docs/runtime.md): a crash, an
    # unstoppable builtin or memory past the function's limits ends that process, never the server.
    isolate_hosts: bool = True
    max_isolate_hosts: int = 64  # host processes at once; past it the least recently used idle goes
    spare_isolate_hosts: int = 1  # hosts booted ahead for new functions
    max_result_bytes: int = 64 * 1024
    max_log_bytes: int = 256 * 1024
    retention_days: int = 30
    # Capabilities
    net_allow: str = ""  # comma-separated CIDRs fetch may reach despite the private-address block
    max_subrequests: int = 50
    max_fetch_response_bytes: int = 10 * 1024 * 1024
    file_quota_bytes: int = 64 * 1024 * 1024

    @property
    def database_path(self) -> Path:
        """The SQLite database file inside the data dir."""
        return self.data_dir / "flux-edge.db"

    @property
    def functions_dir(self) -> Path:
        """Where each function's file jail lives (one directory per function id)."""
        return self.data_dir / "functions"


_FALSE = {"0", "false", "no", "off"}


def _parse(field_type: Any, raw: str) -> Any:
    if field_type is bool or field_type == "bool":
        return raw.strip().lower() not in _FALSE
    return raw


def physical_memory_mb() -> int:
    """The machine's physical memory in MiB (a conservative 4096 where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return 4096


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
