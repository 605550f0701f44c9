"""The isolate's privileged side as the capabilities see it: the HostBridge protocol and its error.

Apart from isolate.py so that the capabilities (and a server whose isolates run in host
processes) can name them without loading V8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flux_edge.runtime.types import FunctionSpec, InvokeRequest


class HostBridge(Protocol):
    """The privileged side of the isolate: the one place JavaScript reaches Python (fetch, files).

    JavaScript asks with `__flux_host.hostCall(kind, payload)` (prelude code only); the answer must
    be JSON-able. `crypto.*` kinds never reach it: the isolate runs them (`_run_crypto_op`).
    Raising HostOpError rejects the JavaScript promise with that error class.
    """

    async def run(
        self,
        kind: str,
        payload: Any,
        request: InvokeRequest,
        spec: FunctionSpec,
        deadline: float,
    ) -> Any:
        """Do one operation for the call `request` of `spec`; `deadline` is time.monotonic()-based."""
        ...

    def call_finished(self, request: InvokeRequest) -> None:
        """Forget per-call state (subrequest counts, open handles) of a finished call."""
        ...


class HostOpError(Exception):
    """A host operation failed; `type` names the JavaScript error class the promise rejects with."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message
