"""Deploying and managing functions: create, read, update, delete, versions and rollback.

Types and ranges are checked by the HTTP schemas; this module owns the rules that need more than a
type: code that compiles and defines a handler, cron expressions, and the version history.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import msgspec
from croniter import croniter
from msgspec import UNSET, UnsetType

from flux_edge.runtime.types import CodeError
from flux_edge.service.errors import ConflictError, InvalidInputError, NotFoundError
from flux_edge.store import base
from flux_edge.store.base import FunctionRecord, FunctionVersionRecord, Store
from flux_edge.store.clock import utc_now

MAX_CODE_BYTES = 5 * 1024 * 1024
# Names whose /api/v1/functions/<name> path belongs to another endpoint.
RESERVED_NAMES = frozenset({"stream"})
_UPDATE_ATTEMPTS = 10


class CodeChecker(Protocol):
    """Loads compiled code into a scratch isolate to prove it runs and defines a handler."""

    async def check(self, compiled: str, record: FunctionRecord | None = None) -> None:
        """Raise CodeError when the code cannot be deployed; with `record`, the loaded code may
        stay warm for that function version."""
        ...


Compiler = Callable[[str], str]


class FunctionChanges(msgspec.Struct, kw_only=True):
    """The settable fields of a function; UNSET means "as it is" (or the default on create)."""

    description: str | UnsetType | None = UNSET
    code: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    timeout_seconds: int | UnsetType = UNSET
    memory_limit_mb: int | UnsetType = UNSET
    allow_net: bool | UnsetType = UNSET
    allow_env: bool | UnsetType = UNSET
    allow_read: bool | UnsetType = UNSET
    allow_write: bool | UnsetType = UNSET
    allow_unauthenticated: bool | UnsetType = UNSET
    cron_schedule: str | UnsetType | None = UNSET
    env: dict[str, str] | UnsetType = UNSET


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(
        "Function not found", f"No function named {name!r}. List them with GET /api/v1/functions."
    )


def check_cron(expression: str) -> None:
    """Accept only 5-field cron expressions (minute hour day month weekday, UTC)."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidInputError(
            "Invalid cron_schedule",
            f"{expression!r} is not a 5-field cron expression (e.g. '*/5 * * * *'), or use null.",
        )


class FunctionService:
    """The management use cases over a Store, checking code with a compiler and a CodeChecker."""

    def __init__(
        self,
        store: Store,
        *,
        compile_source: Compiler,
        checker: CodeChecker | None,
        functions_dir: Path,
        retire: Callable[[str], None] | None = None,
        on_saved: Callable[[FunctionRecord], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        # Called with each newly saved version (e.g. to warm an isolate for its first call).
        self._on_saved = on_saved
        self._compile = compile_source
        self._checker = checker
        self._functions_dir = functions_dir
        self._retire = retire
        # Updates of one function queue up in this process instead of racing for the next
        # version number; across worker processes the store's VersionConflictError decides.
        self._update_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def create(
        self, name: str, changes: FunctionChanges, created_by: str | None
    ) -> FunctionRecord:
        """Deploy a new function at version 1. Raises InvalidInputError or ConflictError."""
        if isinstance(changes.code, UnsetType):
            raise InvalidInputError("Invalid request body", "Object missing required field `code`.")
        if name in RESERVED_NAMES:
            raise InvalidInputError(
                "Invalid name",
                f"{name!r} is reserved: /api/v1/functions/{name} is the WebSocket endpoint. "
                "Choose another name.",
            )
        _check_changes(changes)  # the cheap checks first; loading code into V8 is the costly one
        now = utc_now()
        record = FunctionRecord(
            id=str(uuid.uuid4()),
            name=name,
            description=None,
            code=changes.code,
            compiled="",
            version=1,
            enabled=False,
            timeout_seconds=30,
            memory_limit_mb=128,
            allow_net=True,
            allow_env=True,
            allow_read=False,
            allow_write=False,
            allow_unauthenticated=True,
            cron_schedule=None,
            env={},
            created_at=now,
            updated_at=now,
            created_by=created_by,
        )
        record = _apply(record, changes)
        # Checked with the record, the runtime keeps the isolate that loaded the code warm for
        # version 1, so the first call finds it ready.
        compiled = await self._compile_and_check(changes.code, record)
        record = msgspec.structs.replace(record, compiled=compiled)
        try:
            await self._store.create_function(record)
        except base.NameConflictError as exc:
            if self._retire is not None:
                self._retire(record.id)
            raise ConflictError(
                "Function already exists",
                f"A function named {name!r} exists; update it with PUT /api/v1/functions/{name}.",
            ) from exc
        await self._saved(record)
        return record

    async def get(self, name: str) -> FunctionRecord:
        """The function with its code. Raises NotFoundError."""
        record = await self._store.get_function(name)
        if record is None:
            raise _not_found(name)
        return record

    async def list_functions(self) -> list[FunctionRecord]:
        """Every function, ordered by name."""
        return await self._store.list_functions()

    async def update(self, name: str, changes: FunctionChanges) -> FunctionRecord:
        """Apply a partial update; every successful update is a new version."""
        _check_changes(changes)
        code: tuple[str, str] | None = None
        if not isinstance(changes.code, UnsetType):
            code = (changes.code, await self._compile_and_check(changes.code))

        def change(current: FunctionRecord) -> FunctionRecord:
            if code is not None:
                current = msgspec.structs.replace(current, code=code[0], compiled=code[1])
            return _apply(current, changes)

        return await self._save_new_version(name, change)

    async def rollback(self, name: str, version: int) -> FunctionRecord:
        """Make a new version that holds version `version`'s code."""
        current = await self.get(name)
        old = await self._store.get_version(current.id, version)
        if old is None:
            raise NotFoundError(
                "Version not found",
                f"{name!r} has no version {version}; see GET /api/v1/functions/{name}/versions.",
            )
        return await self._save_new_version(
            name, lambda r: msgspec.structs.replace(r, code=old.code, compiled=old.compiled)
        )

    async def list_versions(self, name: str) -> list[FunctionVersionRecord]:
        """Every version of a function, oldest first."""
        current = await self.get(name)
        return await self._store.list_versions(current.id)

    async def get_version(self, name: str, version: int) -> FunctionVersionRecord:
        """One version with its code. Raises NotFoundError."""
        current = await self.get(name)
        found = await self._store.get_version(current.id, version)
        if found is None:
            raise NotFoundError("Version not found", f"{name!r} has no version {version}.")
        return found

    async def delete(self, name: str) -> None:
        """Remove the function, its versions, executions and files."""
        try:
            deleted = await self._store.delete_function(name)
        except base.NotFoundError as exc:
            raise _not_found(name) from exc
        if self._retire is not None:
            self._retire(deleted.id)
        jail = self._functions_dir / deleted.id
        await asyncio.to_thread(shutil.rmtree, jail, True)
        # The jail's usage ledger (see runtime/capabilities/files.py) goes with it.
        (self._functions_dir / f"{deleted.id}.usage").unlink(missing_ok=True)

    async def _save_new_version(
        self, name: str, change: Callable[[FunctionRecord], FunctionRecord]
    ) -> FunctionRecord:
        # Every version gets a row, even a settings-only change, so each version number in the
        # history names the exact code it ran and can be rolled back to.
        lock = self._update_locks.setdefault(name, asyncio.Lock())
        async with lock:
            record = await self._save_with_retries(name, change)
        await self._saved(record)
        return record

    async def _saved(self, record: FunctionRecord) -> None:
        if self._on_saved is not None:
            await self._on_saved(record)

    async def _save_with_retries(
        self, name: str, change: Callable[[FunctionRecord], FunctionRecord]
    ) -> FunctionRecord:
        for _ in range(_UPDATE_ATTEMPTS):
            current = await self.get(name)
            record = msgspec.structs.replace(
                change(current), version=current.version + 1, updated_at=utc_now()
            )
            try:
                await self._store.update_function(record, new_code=True)
            except base.VersionConflictError:
                continue  # a concurrent update took this version number: apply ours on top of it
            except base.NotFoundError as exc:  # deleted between our read and our write
                raise _not_found(name) from exc
            return record
        raise ConflictError(
            "Concurrent updates", f"{name!r} is being updated by others; retry the request."
        )

    async def _compile_and_check(self, code: str, record: FunctionRecord | None = None) -> str:
        if not code.strip():
            raise InvalidInputError("Invalid code", "`code` is empty; it must define a handler.")
        if len(code.encode("utf-8")) > MAX_CODE_BYTES:
            raise InvalidInputError("Invalid code", "`code` is larger than 5 MiB.")
        try:
            compiled = self._compile(code)
            if self._checker is not None:
                await self._checker.check(compiled, record)
        except CodeError as exc:
            where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
            raise InvalidInputError(
                "Invalid code", f"{exc.message}{where}", line=exc.line, column=exc.column
            ) from exc
        return compiled


def _apply(record: FunctionRecord, changes: FunctionChanges) -> FunctionRecord:
    """`record` with every set field of `changes` (except code, handled by the caller) applied."""
    updates = {
        field: value
        for field in changes.__struct_fields__
        if field != "code" and (value := getattr(changes, field)) is not UNSET
    }
    return msgspec.structs.replace(record, **updates)


def _check_changes(changes: FunctionChanges) -> None:
    """The rules a type cannot express, other than the code itself."""
    if isinstance(changes.cron_schedule, str):
        check_cron(changes.cron_schedule)
