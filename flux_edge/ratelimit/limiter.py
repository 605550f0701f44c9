"""The rate limiter the API uses: a policy (which limit applies) over a shared table (the state)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from flux_edge.ratelimit.gcra import Decision
from flux_edge.ratelimit.policy import LimitClass, RatePolicy, parse_limit
from flux_edge.ratelimit.table import DEFAULT_SLOTS, SharedTable
from flux_edge.settings import Settings

TABLE_FILE = "ratelimit.bin"


class RateLimiter:
    """Checks one request of a caller against its endpoint class's limit, shared across workers."""

    def __init__(self, policy: RatePolicy, table: SharedTable) -> None:
        self.policy = policy
        self._table = table

    @classmethod
    def open(
        cls,
        path: Path,
        policy: RatePolicy,
        *,
        slots: int = DEFAULT_SLOTS,
        clock: Callable[[], float] = time.time,
    ) -> RateLimiter:
        """Map the shared table at `path` (created if needed). The clock must be the same in
        every process, hence wall-clock time rather than a monotonic clock."""
        return cls(policy, SharedTable(path, slots=slots, clock=clock))

    def check(self, kind: LimitClass, caller: str, function: str | None = None) -> Decision:
        """Count one request; invoke limits are per caller and function, the others per caller."""
        key = f"{kind}\x00{caller}" if function is None else f"{kind}\x00{caller}\x00{function}"
        return self._table.check(key, self.policy.limit_for(kind))

    def close(self) -> None:
        """Release this process's mapping."""
        self._table.close()


def policy_from_settings(settings: Settings) -> RatePolicy:
    """The RatePolicy the FLUX_EDGE_RATE_LIMIT_* settings describe; raises ValueError."""
    return RatePolicy(
        write=parse_limit(settings.rate_limit_write),
        list=parse_limit(settings.rate_limit_list),
        read=parse_limit(settings.rate_limit_read),
        invoke=parse_limit(settings.rate_limit_invoke),
        executions=parse_limit(settings.rate_limit_executions),
    )


def open_rate_limiter(settings: Settings) -> RateLimiter | None:
    """The node's limiter from settings, or None when FLUX_EDGE_RATE_LIMITS=off."""
    if not settings.rate_limits:
        return None
    return RateLimiter.open(settings.data_dir / TABLE_FILE, policy_from_settings(settings))
