"""The storage interface every backend implements, and the records it stores.

Handlers and services depend on `Store` only; `flux_edge.store.sqlite` is the apsw backend. A second
backend (PostgreSQL for multi-node deployments) implements the same Protocol.
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

ExecutionStatus = Literal["success", "error", "timeout"]
TriggerType = Literal["http", "cron", "trigger", "websocket"]
# What an API token may do: `manage` everything, or only `invoke` functions (private ones too).
TokenScope = Literal["manage", "invoke"]


class SourceSet(msgspec.Struct, kw_only=True):
    """A multi-file function as deployed: its files by path, the entrypoint among them, and the
    packages resolved for it ("name@version" -> integrity hash): the version's lockfile."""

    entrypoint: str
    files: dict[str, str]
    packages: dict[str, str] = {}


class FunctionRecord(msgspec.Struct, kw_only=True):
    """One deployed function at its current version.

    `code` is what the user submitted; `compiled` is the JavaScript the runtime loads (types
    stripped, module forms rewritten), computed once at deploy time.
    """

    id: str
    name: str
    description: str | None
    code: str
    compiled: str
    version: int
    enabled: bool
    timeout_seconds: int
    memory_limit_mb: int
    allow_net: bool
    allow_env: bool
    allow_read: bool
    allow_write: bool
    allow_unauthenticated: bool
    cron_schedule: str | None
    env: dict[str, str]
    created_at: str  # RFC 3339 UTC, e.g. 2024-10-26T10:00:00Z
    updated_at: str
    created_by: str | None
    sources: SourceSet | None = None  # set for multi-file functions; `code` is then the entrypoint


class FunctionVersionRecord(msgspec.Struct, kw_only=True):
    """The code of one version of a function, kept for history and rollback."""

    function_id: str
    version: int
    code: str
    compiled: str
    created_at: str
    created_by: str | None
    sources: SourceSet | None = None


class ExecutionRecord(msgspec.Struct, kw_only=True):
    """One invocation, as the executions endpoint returns it (plus `function_version`)."""

    id: str
    function_id: str
    function_version: int
    trigger_type: TriggerType
    status: ExecutionStatus
    status_code: int | None
    duration_ms: int | None
    result: str | None
    logs: str | None
    error_message: str | None
    executed_at: str
    completed_at: str | None
    # The call's JavaScript CPU time and its isolate's used V8 heap after it (docs/metrics.md).
    cpu_time_ms: float | None = None
    heap_used_bytes: int | None = None


class ExecutionQuery(msgspec.Struct, kw_only=True):
    """Filters and pagination for listing one function's executions, newest first."""

    function_id: str
    limit: int = 50
    offset: int = 0
    status: ExecutionStatus | None = None
    trigger_type: TriggerType | None = None


class TokenRecord(msgspec.Struct, kw_only=True):
    """An API token; only the SHA-256 hash of the secret is stored."""

    id: str
    name: str
    token_hash: str
    created_at: str
    revoked_at: str | None = None
    scope: TokenScope = "manage"


class NameConflictError(Exception):
    """A function (or an unrevoked API token) with this name already exists."""


class VersionConflictError(Exception):
    """Another update already stored this version of the function (two updates raced)."""


class NotFoundError(Exception):
    """The function (or version, or token) does not exist."""


class Store(Protocol):
    """Everything flux-edge persists. Every method is safe to call from the event loop.

    Reads are short indexed lookups; writes are transactions. `enqueue_execution` never waits for
    a commit: records are batched by a writer and durable within one second.
    """

    def change_counter(self) -> int:
        """A cheap, non-blocking number that moves whenever stored functions may have changed, in
        this process or another; callers cache function rows until it moves."""
        ...

    async def create_function(self, record: FunctionRecord) -> None:
        """Insert a function and its version-1 row. Raises NameConflictError."""
        ...

    async def get_function(self, name: str) -> FunctionRecord | None:
        """The function with its current code, or None."""
        ...

    async def list_functions(self) -> list[FunctionRecord]:
        """All functions ordered by name (callers drop `code` when listing)."""
        ...

    async def update_function(self, record: FunctionRecord, *, new_code: bool) -> None:
        """Replace the function row; when `new_code`, also insert a version row for record.version.

        Raises NotFoundError, NameConflictError (renamed onto a taken name), VersionConflictError.
        """
        ...

    async def delete_function(self, name: str) -> FunctionRecord:
        """Delete the function, its versions and executions; returns what was deleted."""
        ...

    async def list_versions(self, function_id: str) -> list[FunctionVersionRecord]:
        """Every stored version of a function, oldest first."""
        ...

    async def get_version(self, function_id: str, version: int) -> FunctionVersionRecord | None:
        """One stored version, or None."""
        ...

    def enqueue_execution(self, record: ExecutionRecord) -> None:
        """Hand a finished execution to the batched writer; never blocks on I/O."""
        ...

    async def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        """One function's executions, newest first, filtered and paginated."""
        ...

    async def flush_executions(self) -> None:
        """Write every queued execution record now (used on shutdown and by tests)."""
        ...

    async def prune_executions(self, older_than: str) -> int:
        """Delete executions executed before `older_than` (RFC 3339); returns how many."""
        ...

    async def create_token(self, record: TokenRecord) -> None:
        """Store a new API token (hash only). Raises NameConflictError for an unrevoked name."""
        ...

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        """The unrevoked token with this hash, or None."""
        ...

    async def list_tokens(self) -> list[TokenRecord]:
        """All tokens, revoked ones included, oldest first."""
        ...

    async def revoke_token(self, id_or_name: str) -> TokenRecord:
        """Mark a token revoked; raises NotFoundError."""
        ...

    async def get_meta(self, key: str) -> str | None:
        """A small server-level value (e.g. the admin token hash)."""
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Set a server-level value."""
        ...

    async def close(self) -> None:
        """Flush pending executions and close connections."""
        ...
