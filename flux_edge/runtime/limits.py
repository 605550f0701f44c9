"""PoolLimits: how many isolates and how much memory a runtime may hold (no V8 needed to name it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class PoolLimits:
    """How many isolates and how much memory the pool may hold, and how calls queue."""

    max_isolates: int = 256
    max_memory_mb: int = 8192
    max_isolates_per_function: int = 4
    max_concurrency_per_isolate: int = 64
    max_queue_per_function: int = 256
    isolate_max_calls: int = 100_000
    spare_engines: int = 2  # booted isolates kept ready for new function versions
    idle_seconds: float = 600.0  # an isolate unused this long is closed to give its memory back
    probe_interval: float = 0.5  # how often isolates used since the last look are checked
    compact_after_seconds: float = 30.0  # idle this long, an isolate gives its spare heap back
    max_log_bytes: int = 256 * 1024
    max_response_bytes: int = 10 * 1024 * 1024
