"""Deleting execution records older than the retention period, in the background."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog

from flux_edge.store.base import Store
from flux_edge.store.clock import format_utc

log = structlog.get_logger("flux_edge.retention")

PRUNE_INTERVAL_SECONDS = 3600.0


class RetentionPruner:
    """Prunes executions older than `days` at start and then every hour, until stopped."""

    def __init__(self, store: Store, days: int, interval: float = PRUNE_INTERVAL_SECONDS) -> None:
        self._store = store
        self._days = days
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self) -> int:
        """Delete what is older than the retention period now; returns how many records."""
        cutoff = format_utc(datetime.now(UTC) - timedelta(days=self._days))
        removed = await self._store.prune_executions(cutoff)
        if removed:
            log.info("executions_pruned", removed=removed, older_than=cutoff)
        return removed

    def start(self) -> None:
        """Run in the background of the current event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the background task (a prune in progress is cancelled between batches)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:  # a full disk must not end pruning for good
                log.exception("execution_pruning_failed")
            await asyncio.sleep(self._interval)
