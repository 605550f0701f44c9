"""The server's record of a call sent to an isolate host, and how calls end when a host goes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

from flux_edge.runtime.answers import deliver_final
from flux_edge.runtime.results import (
    error_result,
    interrupted_result,
    memory_result,
)
from flux_edge.runtime.results import timeout_result as _timeout_result
from flux_edge.runtime.types import FunctionSpec, InvokeRequest, InvokeResult, OnComplete

# V8 ends its process on these when an allocation passes the heap limit ("Fatal JavaScript out of
# memory") or on another fatal error.
_V8_FATAL_SIGNALS = {signal.SIGTRAP, signal.SIGABRT, signal.SIGILL, signal.SIGSEGV}

Failure = Callable[["PendingCall"], InvokeResult]
# Runs again, on another host, a call whose host died before taking it: (spec, request,
# on_complete, the future its caller awaits).
Retry = Callable[[FunctionSpec, InvokeRequest, OnComplete | None, "asyncio.Future[Any]"], None]


class PendingCall:
    """A call or check sent to a host and not answered yet (its end, for one that answered)."""

    __slots__ = (
        "completed",
        "future",
        "may_retry",
        "on_complete",
        "request",
        "response",
        "spec",
        "started",
    )

    def __init__(
        self,
        spec: FunctionSpec,
        request: InvokeRequest,
        on_complete: OnComplete | None = None,
        *,
        may_retry: bool = False,
    ) -> None:
        self.spec = spec
        self.request = request
        self.on_complete = on_complete
        self.may_retry = may_retry
        self.started = time.monotonic()
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # A call that answered and works on (waitUntil): its response, and when it ends.
        self.response: InvokeResult | None = None
        self.completed: asyncio.Future[None] | None = None

    def complete(self, result: InvokeResult) -> None:
        """The call has ended with `result` (merged into its response if it answered earlier)."""
        deliver_final(
            result,
            response=self.response,
            on_complete=self.on_complete,
            future=self.future,
            completed=self.completed,
        )


def crashed_failure(returncode: int | None) -> Failure:
    if returncode is not None and returncode < 0 and -returncode in _V8_FATAL_SIGNALS:
        how = f"V8 ended it with {signal.Signals(-returncode).name}"
        message = (
            f"the function's isolate host stopped ({how}): V8 ends its process when one "
            "allocation passes its heap limit, so the function most likely exceeded "
            "memory_limit_mb"
        )
        return lambda p: error_result(p.spec, p.request, p.started, "", message, limit="memory")
    message = f"the function's isolate host stopped unexpectedly (exit status {returncode})"
    return lambda p: error_result(p.spec, p.request, p.started, "", message)


def timed_out_or_interrupted(p: PendingCall) -> InvokeResult:
    if time.monotonic() - p.started >= p.spec.timeout_seconds:
        return _timeout_result(p.spec, p.request, p.started, "")
    return interrupted_result(p.spec, p.request, p.started, "")


def over_memory(p: PendingCall) -> InvokeResult:
    return memory_result(p.spec, p.request, p.started, "")
