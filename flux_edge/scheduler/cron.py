"""Cron: runs enabled functions on their `cron_schedule` (5 fields, UTC) with trigger_type `cron`.

Every worker process runs a CronScheduler in its serving loop. Each one follows the schedules in
the database (re-read whenever any worker commits, so edits apply within a tick) and, when a run
falls due, claims it in the ledger: only the worker that inserted the claim runs it, and a claim is
refused while the function's previous run is still going (no overlap; the skip is logged).

Due times are computed forward from when a schedule is first seen (at start, or when it changes),
so runs missed while the server was down, or during a stall, are not replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import structlog

from flux_edge.runtime import RuntimeUnavailableError
from flux_edge.scheduler.ledger import Claim, CronLedger, Schedule
from flux_edge.service.invocations import CallInput, InvocationService

T = TypeVar("T")

log = structlog.get_logger("flux_edge.scheduler")

Clock = Callable[[], datetime]
PRUNE_EVERY = timedelta(hours=1)
KEEP_CLAIMS = timedelta(days=1)


def utc_clock() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`moment` as the claim key, e.g. 2026-01-01T10:05:00Z (due times are whole minutes)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def worker_name() -> str:
    """This process, as claims record it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _next_due(expression: str, now: datetime) -> datetime:
    """The first time after `now` that `expression` matches."""
    # Imported on first use, not at server start: croniter runs `file` in a subprocess on import.
    from croniter import croniter

    next_time: datetime = croniter(expression, now).get_next(datetime)
    return next_time


@dataclass(slots=True)
class _Entry:
    schedule: Schedule
    next_due: datetime


class CronScheduler:
    """Fires due runs of scheduled functions through the invocation service.

    `tick(now)` does one pass and is what tests drive with chosen times; `start()` runs it in a
    loop about once a second until `stop()`.
    """

    def __init__(
        self,
        ledger: CronLedger,
        invocations: InvocationService,
        *,
        invoke_url: Callable[[str], str],
        clock: Clock = utc_clock,
        tick_seconds: float = 1.0,
    ) -> None:
        self._ledger = ledger
        self._invocations = invocations
        self._invoke_url = invoke_url
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._entries: dict[str, _Entry] = {}
        self._runs: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._last_prune: datetime | None = None
        # The ledger's one connection is used from one thread only, in order: a cancelled tick
        # cannot leave a query running while stop() closes the connection.
        self._ledger_thread = ThreadPoolExecutor(1, thread_name_prefix="flux-edge-cron")

    async def _ledger_call(self, method: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._ledger_thread, method, *args)

    @property
    def running(self) -> int:
        """Runs started by this worker that have not finished."""
        return len(self._runs)

    def next_due(self, function_id: str) -> datetime | None:
        """When this worker will next try to run the function (None: not scheduled)."""
        entry = self._entries.get(function_id)
        return entry.next_due if entry else None

    async def start(self) -> None:
        """Load the schedules and start the loop in the current (serving) event loop."""
        await self.refresh(self._clock())
        self._loop_task = asyncio.create_task(self._loop(), name="cron")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop firing; give runs in progress `grace` seconds, then leave them to the runtime."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._runs:
            await asyncio.wait(set(self._runs), timeout=grace)
        await self._ledger_call(self._ledger.close)  # after any query still on the thread
        self._ledger_thread.shutdown()

    async def refresh(self, now: datetime) -> None:
        """Re-read the schedules if anything was committed since the last look."""
        if not await self._ledger_call(self._ledger.changed):
            return
        schedules = await self._ledger_call(self._ledger.schedules)
        seen: dict[str, _Entry] = {}
        for schedule in schedules:
            entry = self._entries.get(schedule.function_id)
            if entry is not None and entry.schedule.expression == schedule.expression:
                entry.schedule = schedule  # a rename or new timeout keeps the due time
                seen[schedule.function_id] = entry
                continue
            try:
                next_due = _next_due(schedule.expression, now)
            except (ValueError, KeyError) as exc:  # validated on deploy; never stop the loop
                log.warning("cron_schedule_invalid", function=schedule.name, error=str(exc))
                continue
            seen[schedule.function_id] = _Entry(schedule, next_due)
        self._entries = seen

    async def tick(self, now: datetime | None = None) -> list[asyncio.Task[None]]:
        """Fire every run due at `now` (default: the clock); returns the runs this worker started."""
        now = now or self._clock()
        await self.refresh(now)
        started: list[asyncio.Task[None]] = []
        for entry in list(self._entries.values()):
            if entry.next_due > now:
                continue
            due = entry.next_due
            # Forward from now, not from `due`: a late tick fires once, it does not catch up.
            entry.next_due = _next_due(entry.schedule.expression, now)
            task = await self._fire(entry.schedule, due)
            if task is not None:
                started.append(task)
        await self._maybe_prune(now)
        return started

    async def _fire(self, schedule: Schedule, due: datetime) -> asyncio.Task[None] | None:
        due_at = rfc3339(due)
        try:
            claim = await self._ledger_call(self._ledger.claim, schedule, due_at)
        except Exception:
            log.exception("cron_claim_failed", function=schedule.name, due_at=due_at)
            return None
        if claim is Claim.SKIPPED:
            log.warning(
                "cron_run_skipped",
                function=schedule.name,
                due_at=due_at,
                reason="the previous run is still running",
            )
        if claim is not Claim.RUN:
            return None
        task = asyncio.create_task(self._run(schedule, due_at), name=f"cron:{schedule.name}")
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        return task

    async def _run(self, schedule: Schedule, due_at: str) -> None:
        log.info("cron_run_started", function=schedule.name, due_at=due_at)
        try:
            cached = await self._invocations.find(schedule.name)
            if (
                cached is None
                or not cached.record.enabled
                or cached.record.id != schedule.function_id
            ):
                log.info("cron_run_dropped", function=schedule.name, due_at=due_at, reason="gone")
                return
            call = CallInput(
                method="POST",
                url=self._invoke_url(schedule.name),
                headers=[("x-flux-trigger", "cron")],
                body=b"",
                trigger_type="cron",
            )
            result, execution_id = await self._invocations.run(
                cached.record, cached.spec, call, None
            )
            log.info(
                "cron_run_finished",
                function=schedule.name,
                due_at=due_at,
                status=result.outcome,
                status_code=result.status_code,
                execution_id=execution_id,
            )
        except RuntimeUnavailableError as exc:
            log.warning("cron_run_failed", function=schedule.name, due_at=due_at, error=str(exc))
        except Exception:
            log.exception("cron_run_failed", function=schedule.name, due_at=due_at)
        finally:
            try:
                await self._ledger_call(self._ledger.finish, schedule.function_id, due_at)
            except Exception:
                # The lease expires by itself; until then the function's next runs are skipped.
                log.exception("cron_finish_failed", function=schedule.name, due_at=due_at)

    async def _maybe_prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            await self._ledger_call(self._ledger.prune, rfc3339(now - KEEP_CLAIMS))
        except Exception:
            log.exception("cron_prune_failed")

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a bad pass must not end cron for the life of the process
                log.exception("cron_tick_failed")
            now = self._clock()
            wait = self._tick_seconds
            if self._entries:
                soonest = min(e.next_due for e in self._entries.values())
                wait = min(wait, max(0.0, (soonest - now).total_seconds()))
            await asyncio.sleep(wait + 0.001)
