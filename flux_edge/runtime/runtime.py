"""The runtime's one seam: run a call of a function version, check code, retire functions."""

from __future__ import annotations

import asyncio
import contextlib

from flux_edge.runtime.isolate import HostBridge, Unresponsive
from flux_edge.runtime.limits import PoolLimits
from flux_edge.runtime.pool import IsolatePool
from flux_edge.runtime.types import (
    CodeError,
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    OnComplete,
    RuntimeUnavailableError,
)

# Deploy-time checks run top-level code under this bound even if the function allows longer calls.
CHECK_TIMEOUT_SECONDS = 10.0


class Runtime:
    """Pooled V8 isolates behind `invoke`; knows no web framework and no database.

    Create it (and call every method) inside the event loop that will serve the calls: mini-racer
    binds each isolate to the loop it was created in.
    """

    def __init__(
        self,
        limits: PoolLimits | None = None,
        host: HostBridge | None = None,
        on_unresponsive: Unresponsive | None = None,
    ) -> None:
        self.pool = IsolatePool(limits or PoolLimits(), host, on_unresponsive)

    async def start(self) -> None:
        """Initialise V8 (~45 MB, tens of ms, once) and boot the spare engines."""
        await self.pool.fill_spares()

    async def invoke(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None = None
    ) -> InvokeResult:
        """Run one call and return its response; raises RuntimeUnavailableError when the pool
        cannot take it.

        `on_complete(result)` is called once the call has entirely ended, with what to record: for
        a call whose work goes on after its response (`waitUntil`), later than `invoke` returns,
        with the logs and failures of that work; otherwise with the response, before it returns.
        """
        return await self.pool.invoke(spec, request, on_complete)

    def submit_now(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None = None
    ) -> asyncio.Future[InvokeResult] | None:
        """`invoke` without a task when a warm isolate can take the call at once (its future);
        None when the call has to wait for one, and then `invoke` is the way."""
        return self.pool.submit_now(spec, request, on_complete)

    async def check(self, compiled: str, spec: FunctionSpec | None = None) -> None:
        """Load code in a fresh isolate and find its handler; raise CodeError with line and column.

        With `spec`, the loaded isolate stays warm for that version, so the first call is fast.
        """
        target = spec or FunctionSpec(function_id="", name="check", version=0, compiled=compiled)
        isolate = self.pool.new_isolate(target)
        await isolate.start(
            await self.pool.take_engine(),
            load_seconds=min(target.timeout_seconds, CHECK_TIMEOUT_SECONDS),
        )
        if spec is None:
            isolate.close()
        else:
            await self.pool.prewarm(spec, isolate)

    async def prewarm(self, spec: FunctionSpec) -> None:
        """Make sure `spec`'s version has a warm isolate; a failure to load is left to the first
        call to report (deploys were checked already)."""
        with contextlib.suppress(CodeError, RuntimeUnavailableError):
            await self.pool.prewarm(spec)

    def retire(self, function_id: str) -> None:
        """Stop running a function (deleted, disabled or replaced): its isolates drain and close."""
        self.pool.retire(function_id)

    def runs(self, function_id: str) -> bool:
        """Whether the pool keeps isolates for the function."""
        return self.pool.runs(function_id)

    async def close(self, grace: float = 5.0) -> None:
        """Let calls in flight finish (up to `grace` seconds), then close every isolate."""
        await self.pool.close(grace)
