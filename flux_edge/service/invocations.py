"""Invoking a function: find it, check the caller, run it, record the execution.

This is the hot path. The function row is cached per worker and re-read only when the store says
something may have changed (`Store.change_counter`, which also sees other workers' commits), so a
warm call costs no database read; the execution record is queued for the batched writer, so it
costs no commit either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import structlog

from flux_edge.runtime import FunctionSpec, InvokeRequest, InvokeResult, Permissions
from flux_edge.runtime.types import FunctionRunner
from flux_edge.service.auth import AuthenticationError, Principal
from flux_edge.service.errors import NotFoundError
from flux_edge.service.ids import new_execution_id
from flux_edge.service.live_logs import LiveLogHub
from flux_edge.service.metrics import InvocationMetrics
from flux_edge.service.sibling_notices import FunctionNotice, SiblingNotices
from flux_edge.store.base import ExecutionRecord, FunctionRecord, Store, TriggerType
from flux_edge.store.clock import utc_now

log = structlog.get_logger("flux_edge.invocations")


@dataclass(frozen=True, slots=True)
class CallInput:
    """The HTTP-independent description of one call (see InvokeRequest for the fields)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    query: str = ""
    trigger_type: TriggerType = "http"
    # Send a Response with a stream body as it is produced (HTTP invocations); otherwise the
    # stream is read to its end first (cron, WebSocket messages).
    stream_response: bool = False
    function_url: str = ""
    remote_addr: tuple[str, int] | None = None


def recorded_result(result: InvokeResult) -> str | None:
    """What an execution record keeps of a response: text as text; a body that is not UTF-8
    described by its size and content type instead of stored as mojibake."""
    if result.outcome != "success":
        return None
    try:
        return result.body.decode("utf-8")
    except UnicodeDecodeError:
        content_type = result.header("content-type") or "no content type"
        return f"[binary body: {len(result.body)} bytes, {content_type}]"


def _needs_credential(cached: _Cached | None) -> bool:
    return cached is not None and cached.record.enabled and not cached.record.allow_unauthenticated


@dataclass(frozen=True, slots=True)
class _Cached:
    record: FunctionRecord
    spec: FunctionSpec


def spec_for(record: FunctionRecord, functions_dir: Path) -> FunctionSpec:
    """The runtime's view of a stored function version."""
    return FunctionSpec(
        function_id=record.id,
        name=record.name,
        version=record.version,
        compiled=record.compiled,
        timeout_seconds=float(record.timeout_seconds),
        memory_limit_mb=record.memory_limit_mb,
        permissions=Permissions(
            allow_net=record.allow_net,
            allow_env=record.allow_env,
            allow_read=record.allow_read,
            allow_write=record.allow_write,
        ),
        env=record.env,
        files_dir=str(functions_dir / record.id),
    )


# Tells whether an Authorization value is one of the server's own credentials (the admin token or
# an API token): `Authenticator.is_server_credential`.
CredentialCheck = Callable[[str], Awaitable[bool]]
# Where callers put credentials: `Authorization`, and Supabase clients' `apikey` (a bare key).
_CREDENTIAL_HEADERS = frozenset(("authorization", "apikey"))


class InvocationService:
    """Runs calls of stored functions on the runtime and records each one."""

    def __init__(
        self,
        store: Store,
        runtime: FunctionRunner,
        *,
        functions_dir: Path,
        metrics: InvocationMetrics | None = None,
        live_logs: LiveLogHub | None = None,
        is_server_credential: CredentialCheck | None = None,
        notices: SiblingNotices | None = None,
    ) -> None:
        self._store = store
        self._notices = notices
        self._is_server_credential = is_server_credential
        self._runtime = runtime
        self._functions_dir = functions_dir
        self._metrics = metrics
        self._live_logs = live_logs
        self._cache: dict[str, _Cached] = {}
        self._cache_counter = -1

    def _cached(self, name: str) -> _Cached | None:
        """The function and its runtime spec if cached and nothing has changed since."""
        counter = self._store.change_counter()
        if counter != self._cache_counter:
            self._cache.clear()
            self._cache_counter = counter
        return self._cache.get(name)

    async def find(self, name: str) -> _Cached | None:
        """The function and its runtime spec, from the cache while nothing has changed."""
        cached = self._cached(name)
        if cached is None:
            record = await self._store.get_function(name)
            if record is None:
                return None
            cached = _Cached(record, spec_for(record, self._functions_dir))
            self._cache[name] = cached
        return cached

    async def requires_credential(self, name: str) -> bool:
        """Whether calling `name` needs a credential (False for a missing function: invoking it
        then raises NotFoundError, which must not be hidden behind a 401)."""
        return _needs_credential(await self.find(name))

    def requires_credential_now(self, name: str) -> bool | None:
        """`requires_credential` from the cache, without a coroutine; None when `name` is not
        cached (then ask `requires_credential`)."""
        cached = self._cached(name)
        return None if cached is None else _needs_credential(cached)

    async def check(self, compiled: str, record: FunctionRecord | None = None) -> None:
        """Load code in a fresh isolate and find its handler (raises CodeError); for an enabled
        `record`, that isolate then serves the version's first calls."""
        spec = None
        if record is not None and record.enabled:
            spec = spec_for(msgspec.structs.replace(record, compiled=compiled), self._functions_dir)
        await self._runtime.check(compiled, spec)

    async def saved(self, record: FunctionRecord) -> None:
        """A version was saved through this worker: the sibling workers are told, and an isolate
        is warmed for it here."""
        if self._notices is not None:
            self._notices.announce(FunctionNotice(record.id, record.name))
        await self.prewarm(record)

    def deleted(self, record: FunctionRecord) -> None:
        """A function was deleted through this worker: its live-log buffer goes (a new function
        of that name starts a fresh log), and the sibling workers are told."""
        self._forget_logs(record.name)
        if self._notices is not None:
            self._notices.announce(FunctionNotice(record.id, record.name, deleted=True))

    def _forget_logs(self, name: str) -> None:
        if self._live_logs is not None:
            self._live_logs.forget(name)

    async def follow(self, notice: FunctionNotice) -> None:
        """A sibling worker saved or deleted a function (service/sibling_notices.py): a deleted
        one's isolates and live-log buffer go at once; a saved version is warmed where this worker
        runs the function already. A function new here is not connected to until its first call
        here (every worker would otherwise load every deploy, called through it or not), only
        what costs nothing: its row and metric keys."""
        if notice.deleted:
            self._runtime.retire(notice.function_id)
            self._forget_logs(notice.name)
            return
        cached = await self.find(notice.name)
        if cached is None or cached.record.id != notice.function_id:
            return
        if self._runtime.runs(notice.function_id):
            await self.prewarm(cached.record)
        elif cached.record.enabled and self._metrics is not None:
            self._metrics.prepare(notice.name)

    async def prewarm(self, record: FunctionRecord) -> None:
        """Warm an isolate for a newly saved version, so its first call does not load code; a
        disabled function gives its isolates back."""
        if record.enabled:
            if self._metrics is not None:  # after this turn: once the deploy has been answered
                asyncio.get_running_loop().call_soon(self._metrics.prepare, record.name)
            await self._runtime.prewarm(spec_for(record, self._functions_dir))
        else:
            self._runtime.retire(record.id)

    def invoke(
        self,
        name: str,
        call: CallInput,
        principal: Principal | None,
        *,
        credential_exempt: bool = False,
    ) -> Coroutine[Any, Any, tuple[InvokeResult, str]]:
        """Run one call (await it); returns the result and its execution id.

        Raises NotFoundError (missing or disabled), AuthenticationError (the function requires a
        credential and none was sent) and RuntimeUnavailableError (pool saturated or stopping).
        `credential_exempt` lets a call without credential reach a function that requires one
        (CORS preflights on the Supabase route: browsers never send credentials with them).

        A cached function's call is `run`'s coroutine itself, not one awaiting it: every layer
        of coroutines is paid on every call (docs/performance.md, the twenty-fourth pass).
        """
        cached = self._cached(name)
        if cached is None:
            return self._invoke_uncached(name, call, principal, credential_exempt)
        self._check_callable(cached, name, principal, credential_exempt)
        return self.run(cached.record, cached.spec, call, principal)

    async def _invoke_uncached(
        self, name: str, call: CallInput, principal: Principal | None, credential_exempt: bool
    ) -> tuple[InvokeResult, str]:
        cached = await self.find(name)
        self._check_callable(cached, name, principal, credential_exempt)
        assert cached is not None
        return await self.run(cached.record, cached.spec, call, principal)

    @staticmethod
    def _check_callable(
        cached: _Cached | None, name: str, principal: Principal | None, credential_exempt: bool
    ) -> None:
        if cached is None or not cached.record.enabled:
            raise NotFoundError(
                "Function not found",
                f"No enabled function named {name!r}. Create it, or enable it with "
                f'PUT /api/v1/functions/{name} {{"enabled": true}}.',
            )
        if principal is None and not cached.record.allow_unauthenticated and not credential_exempt:
            raise AuthenticationError(
                f"Function {name!r} requires a credential: send 'Authorization: Bearer <token>'."
            )

    async def _headers_for_function(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The call's headers without the server's own credentials: an admin or API token in
        `Authorization` authenticates the caller to flux-edge and is never handed to function
        code (a private function's author could otherwise take it). End-user JWTs stay, as on
        Supabase, where functions read the caller's JWT from `Authorization`."""
        if self._is_server_credential is None or _CREDENTIAL_HEADERS.isdisjoint(dict(headers)):
            return headers
        kept = []
        for name, value in headers:
            # Supabase clients send their key in `apikey` too, bare: a service key put there by
            # habit must be dropped just the same.
            as_authorization = f"Bearer {value}" if name == "apikey" else value
            if name in _CREDENTIAL_HEADERS and await self._is_server_credential(as_authorization):
                continue
            kept.append((name, value))
        return kept

    async def run(
        self,
        record: FunctionRecord,
        spec: FunctionSpec,
        call: CallInput,
        principal: Principal | None,
    ) -> tuple[InvokeResult, str]:
        """Run a call of a known function version and queue its execution record."""
        execution_id = new_execution_id()
        executed_at = utc_now()
        request = InvokeRequest(
            method=call.method,
            url=call.url,
            headers=await self._headers_for_function(call.headers),
            body=call.body,
            execution_id=execution_id,
            query=call.query,
            user_id=principal.id if principal is not None else None,
            trigger_type=call.trigger_type,
            stream_response=call.stream_response,
            function_url=call.function_url,
            remote_addr=call.remote_addr,
        )
        function_id, name = record.id, record.name
        metrics = self._metrics
        ended = False

        def end() -> None:
            nonlocal ended
            if not ended and metrics is not None:
                ended = True
                metrics.ended(name)

        def write_record(complete: InvokeResult) -> None:
            nonlocal ended
            if metrics is not None:  # counted out of flight in the same write
                metrics.observe(name, complete, ended=not ended)
            ended = True
            self._store.enqueue_execution(
                ExecutionRecord(
                    id=execution_id,
                    function_id=function_id,
                    function_version=spec.version,
                    trigger_type=call.trigger_type,
                    status=complete.outcome,
                    status_code=complete.status_code,
                    duration_ms=round(complete.duration_ms),
                    result=recorded_result(complete),
                    logs=complete.logs or None,
                    # The stack starts with the message and keeps the user's line numbers.
                    error_message=complete.error_stack or complete.error_message,
                    executed_at=executed_at,
                    completed_at=utc_now(),
                    cpu_time_ms=complete.cpu_time_ms,
                    heap_used_bytes=complete.heap_used_bytes,
                )
            )
            if self._live_logs is not None:
                self._live_logs.publish(name, execution_id, complete)
            if complete.outcome != "success":
                # The operator's log says which call failed and why; the record has the stack.
                log.warning(
                    "function_failed",
                    function=name,
                    execution_id=execution_id,
                    outcome=complete.outcome,
                    status=complete.status_code,
                    limit=complete.limit,
                    error=complete.error_message,
                )

        # The record is written when the call has ended, which for work passed to waitUntil is
        # after the response has gone.
        if metrics is not None:
            metrics.started(name)
        try:
            result = await self._runtime.invoke(spec, request, write_record)
        except BaseException:
            end()  # refused or cancelled before it ran: no record will come
            raise
        return result, execution_id
