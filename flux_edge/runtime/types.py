"""What the runtime takes and gives back. No web framework and no database here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

import msgspec

from flux_edge.runtime.streaming import ResponseStream

LimitHit = Literal["timeout", "memory"]
Outcome = Literal["success", "error", "timeout"]


class Permissions(msgspec.Struct, frozen=True, kw_only=True):
    """The capability flags of a function (Deno-style permissions)."""

    allow_net: bool = True
    allow_env: bool = True
    allow_read: bool = False
    allow_write: bool = False


class FunctionSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the runtime needs to run one version of a function.

    `compiled` is JavaScript already in the runtime's script form (see `flux_edge.runtime.codeforms`).
    Isolates are keyed by (function_id, version): a new version never shares an isolate with an old one.
    """

    function_id: str
    name: str
    version: int
    compiled: str
    timeout_seconds: float = 30.0
    memory_limit_mb: int = 128
    permissions: Permissions = Permissions()
    env: dict[str, str] = {}
    files_dir: str | None = None


Headers = list[tuple[str, str]]


class InvokeRequest(msgspec.Struct, kw_only=True):
    """One call: the HTTP request as received, plus what the runtime adds (`execution_id`, ...).

    `headers` are (lower-case name, value) pairs in the order received; `body` is the raw bytes.
    The reference's bare `handler(req)` sees `url`, headers combined into an object and the body
    as a string (runtime/wire.py); every module and serve form sees a web `Request` for `function_url`
    (Supabase's `http://host/<name>/<sub-path>?query`; `url` when empty) and `remote_addr`.
    """

    method: str
    url: str
    headers: Headers
    body: bytes
    execution_id: str
    # The query string as sent, without its "?" (the reference form's `params` come from it,
    # parsed in the runtime: runtime/wire.py).
    query: str = ""
    user_id: str | None = None
    trigger_type: str = "http"
    # A Response with a ReadableStream body is sent as it is produced (InvokeResult.stream); off,
    # the stream is read to its end and the result holds the whole body.
    stream_response: bool = False
    function_url: str = ""
    remote_addr: tuple[str, int] | None = None


class InvokeResult(msgspec.Struct, kw_only=True):
    """What one call produced: the HTTP response to send and what to record.

    `outcome` is the execution status; `limit` names the limit that fired, if any. For errors,
    `error_message` is "<Type>: <message>" and `error_stack` the JavaScript stack (user line numbers).
    """

    outcome: Outcome
    status_code: int
    headers: Headers
    body: bytes
    logs: str
    duration_ms: float
    error_message: str | None = None
    error_stack: str | None = None
    limit: LimitHit | None = None
    # What the call cost its isolate (flux_edge/runtime/usage.py): JavaScript CPU time in ms and
    # the used V8 heap after it in bytes; None where not measured.
    cpu_time_ms: float | None = None
    heap_used_bytes: int | None = None
    # A streamed response (see InvokeRequest.stream_response): `body` is empty and the chunks come
    # from this iterator; its `outcome()` is the final result, for the execution record.
    stream: ResponseStream | None = None

    def header(self, name: str) -> str | None:
        """The first value of the (lower-case) header `name`, or None."""
        return next((value for key, value in self.headers if key == name), None)


class CodeError(Exception):
    """Function code that cannot be deployed: a syntax error, no handler, an unsupported construct."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        file: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.file = file  # the module's path, for multi-file functions


class RuntimeUnavailableError(Exception):
    """The pool cannot take the call now (saturated or shutting down): HTTP 503 with Retry-After."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Gets the complete result of a call once it has ended (see Runtime.invoke).
OnComplete = Callable[[InvokeResult], None]


class PoolCounts(Protocol):
    """What the metrics read from a runtime."""

    @property
    def isolate_count(self) -> int:
        """Live isolates."""
        ...

    @property
    def queue_depth(self) -> int:
        """Calls waiting."""
        ...


class FunctionRunner(Protocol):
    """The runtime seam the service layer uses: in-process `Runtime` or `HostedRuntime`."""

    @property
    def pool(self) -> PoolCounts:
        """Counts for the metrics."""
        ...

    async def start(self) -> None:
        """Get ready to take calls."""
        ...

    async def invoke(
        self, spec: FunctionSpec, request: InvokeRequest, on_complete: OnComplete | None = None
    ) -> InvokeResult:
        """Run one call; return its response; `on_complete` gets what to record (Runtime.invoke)."""
        ...

    async def check(self, compiled: str, spec: FunctionSpec | None = None) -> None:
        """Load code and find its handler (raises CodeError)."""
        ...

    async def prewarm(self, spec: FunctionSpec) -> None:
        """Keep a warm isolate for `spec`'s version."""
        ...

    def retire(self, function_id: str) -> None:
        """Stop running a function."""
        ...

    def runs(self, function_id: str) -> bool:
        """Whether some isolate (or its host) is kept for the function."""
        ...

    async def close(self, grace: float = 5.0) -> None:
        """Let calls finish for up to `grace` seconds, then stop."""
        ...
