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
from typing import TYPE_CHECKING, Protocol

import msgspec
from msgspec import UNSET, UnsetType

from flux_edge.runtime.codeforms.build import needs_linking
from flux_edge.runtime.types import CodeError
from flux_edge.service.errors import ConflictError, InvalidInputError, NotFoundError
from flux_edge.store import base
from flux_edge.store.base import FunctionRecord, FunctionVersionRecord, SourceSet, Store
from flux_edge.store.clock import utc_now

if TYPE_CHECKING:
    from flux_edge.runtime.codeforms.linker import LinkedFunction

MAX_CODE_BYTES = 5 * 1024 * 1024
# Multi-file functions (docs/modules.md): the uploaded files together stay under the code limit.
MAX_FILES = 1000
MAX_FILE_PATH = 255
DEFAULT_ENTRYPOINTS = ("index.ts", "index.js", "main.ts", "main.js", "index.mjs", "mod.ts")
# Names whose /api/v1/functions/<name> path belongs to another endpoint.
RESERVED_NAMES = frozenset({"stream"})
_UPDATE_ATTEMPTS = 10
# The API's cap on a function's variables (api/schemas.py `Env`), also after a partial change.
MAX_ENV_VARIABLES = 100


class CodeChecker(Protocol):
    """Loads compiled code into a scratch isolate to prove it runs and defines a handler."""

    async def check(self, compiled: str, record: FunctionRecord | None = None) -> None:
        """Raise CodeError when the code cannot be deployed; with `record`, the loaded code may
        stay warm for that function version."""
        ...


Compiler = Callable[[str], str]
# Files and entrypoint -> the linked script (run in a worker thread: it may fetch packages).
Linker = Callable[[dict[str, str], str], "LinkedFunction"]


class FunctionChanges(msgspec.Struct, kw_only=True):
    """The settable fields of a function; UNSET means "as it is" (or the default on create)."""

    description: str | UnsetType | None = UNSET
    code: str | UnsetType = UNSET
    files: dict[str, str] | UnsetType = UNSET
    entrypoint: str | UnsetType = UNSET
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


def _name_taken(name: str) -> ConflictError:
    return ConflictError(
        "Function already exists",
        f"A function named {name!r} exists; update it with PUT /api/v1/functions/{name}.",
    )


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(
        "Function not found", f"No function named {name!r}. List them with GET /api/v1/functions."
    )


def check_cron(expression: str) -> None:
    """Accept only 5-field cron expressions (minute hour day month weekday, UTC)."""
    from croniter import croniter  # imported on first use: at import it forks `file` (platform)

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
        on_deleted: Callable[[FunctionRecord], None] | None = None,
        link_files: Linker | None = None,
    ) -> None:
        self._store = store
        self._link = link_files
        # Called with each newly saved version (e.g. to warm an isolate for its first call).
        self._on_saved = on_saved
        self._on_deleted = on_deleted
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
        if isinstance(changes.code, UnsetType) and isinstance(changes.files, UnsetType):
            raise InvalidInputError("Invalid request body", "Object missing required field `code`.")
        if name in RESERVED_NAMES:
            raise InvalidInputError(
                "Invalid name",
                f"{name!r} is reserved: /api/v1/functions/{name} is the WebSocket endpoint. "
                "Choose another name.",
            )
        _check_changes(changes)  # the cheap checks first; loading code into V8 is the costly one
        # A name already taken is refused before linking and loading the code: clients that
        # create-or-update (deploy, dev) send a create first, and that load took an isolate host
        # away from the update. The insert below still catches a create racing this one.
        if await self._store.get_function(name) is not None:
            raise _name_taken(name)
        now = utc_now()
        record = FunctionRecord(
            id=str(uuid.uuid4()),
            name=name,
            description=None,
            code="",
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
        deployed = await self._deploy_code(changes, record)
        assert deployed is not None  # code or files is set
        code, compiled, sources = deployed
        record = msgspec.structs.replace(record, code=code, compiled=compiled, sources=sources)
        try:
            await self._store.create_function(record)
        except base.NameConflictError as exc:
            if self._retire is not None:
                self._retire(record.id)
            raise _name_taken(name) from exc
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
        deployed = await self._deploy_code(changes)

        def change(current: FunctionRecord) -> FunctionRecord:
            if deployed is not None:
                code, compiled, sources = deployed
                current = msgspec.structs.replace(
                    current, code=code, compiled=compiled, sources=sources
                )
            return _apply(current, changes)

        return await self._save_new_version(name, change)

    async def change_env(
        self, name: str, set_values: dict[str, str], unset: list[str]
    ) -> FunctionRecord:
        """Set some variables and remove others, keeping the rest (a new version). Applied to the
        latest version inside the update lock, so concurrent changes never lose each other's."""
        both = sorted(set(set_values) & set(unset))
        if both:
            raise InvalidInputError(
                "Invalid env change", f"{', '.join(both)} cannot be both set and unset."
            )

        def change(current: FunctionRecord) -> FunctionRecord:
            env = {k: v for k, v in current.env.items() if k not in unset} | set_values
            if len(env) > MAX_ENV_VARIABLES:
                raise InvalidInputError(
                    "Too many variables",
                    f"A function may have at most {MAX_ENV_VARIABLES} variables; this change "
                    f"would leave {len(env)}.",
                )
            return msgspec.structs.replace(current, env=env)

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
            name,
            lambda r: msgspec.structs.replace(
                r, code=old.code, compiled=old.compiled, sources=old.sources
            ),
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
        if self._on_deleted is not None:
            self._on_deleted(deleted)
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

    async def _deploy_code(
        self, changes: FunctionChanges, record: FunctionRecord | None = None
    ) -> tuple[str, str, SourceSet | None] | None:
        """(code, compiled script, sources) for the code or files in `changes`; None if neither.

        Single `code` that uses imports (or other module features a script cannot have) is
        linked as a one-file function `index.ts`, so its packages are locked with the version.
        """
        if not isinstance(changes.files, UnsetType):
            if not isinstance(changes.code, UnsetType):
                raise InvalidInputError(
                    "Invalid request body", "Give either `code` or `files`, not both."
                )
            files = changes.files
            entrypoint = _entrypoint(files, changes.entrypoint)
            _check_files(files)
            compiled, packages = await self._link_and_check(files, entrypoint, record)
            return (
                files[entrypoint],
                compiled,
                SourceSet(entrypoint=entrypoint, files=files, packages=packages),
            )
        if not isinstance(changes.entrypoint, UnsetType):
            raise InvalidInputError("Invalid request body", "`entrypoint` needs `files`.")
        if isinstance(changes.code, UnsetType):
            return None
        code = changes.code
        if not code.strip():
            raise InvalidInputError("Invalid code", "`code` is empty; it must define a handler.")
        if len(code.encode("utf-8")) > MAX_CODE_BYTES:
            raise InvalidInputError("Invalid code", "`code` is larger than 5 MiB.")
        try:
            compiled = self._compile(code)
        except CodeError as exc:
            if self._link is None or not needs_linking(exc):
                raise _invalid_code(exc) from exc
            files = {"index.ts": code}
            compiled, packages = await self._link_and_check(files, "index.ts", record)
            return code, compiled, SourceSet(entrypoint="index.ts", files=files, packages=packages)
        await self._check(compiled, record)
        return code, compiled, None

    async def _link_and_check(
        self, files: dict[str, str], entrypoint: str, record: FunctionRecord | None
    ) -> tuple[str, dict[str, str]]:
        if self._link is None:
            raise InvalidInputError(
                "Invalid code", "Multi-file functions and imports are not available here."
            )
        try:
            linked = await asyncio.to_thread(self._link, files, entrypoint)
        except CodeError as exc:
            raise _invalid_code(exc) from exc
        await self._check(linked.script, record)
        return linked.script, linked.packages

    async def _check(self, compiled: str, record: FunctionRecord | None) -> None:
        if self._checker is None:
            return
        try:
            await self._checker.check(compiled, record)
        except CodeError as exc:
            raise _invalid_code(exc) from exc


def _invalid_code(exc: CodeError) -> InvalidInputError:
    where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
    if exc.file is not None:
        where = f" ({exc.file}" + (f", line {exc.line}" if exc.line is not None else "")
        where += (f", column {exc.column}" if exc.column is not None else "") + ")"
    return InvalidInputError(
        "Invalid code", f"{exc.message}{where}", line=exc.line, column=exc.column, file=exc.file
    )


def _entrypoint(files: dict[str, str], given: str | UnsetType) -> str:
    if not files:
        raise InvalidInputError("Invalid files", "`files` is empty; upload at least one module.")
    if not isinstance(given, UnsetType):
        if given not in files:
            raise InvalidInputError(
                "Invalid entrypoint", f"The entrypoint {given!r} is not among `files`."
            )
        return given
    if len(files) == 1:
        return next(iter(files))
    for name in DEFAULT_ENTRYPOINTS:
        if name in files:
            return name
    raise InvalidInputError(
        "Invalid entrypoint",
        "Name the module to run with `entrypoint` (no index.ts or index.js among `files`).",
    )


def _check_files(files: dict[str, str]) -> None:
    """The limits of a multi-file upload: count, total size, and clean relative paths."""
    if len(files) > MAX_FILES:
        raise InvalidInputError("Invalid files", f"More than {MAX_FILES} files.")
    total = 0
    for path, text in files.items():
        total += len(text.encode("utf-8", errors="surrogatepass"))
        if path.startswith(("https://", "http://")):
            continue  # a vendored URL import, imported by its URL
        parts = path.split("/")
        if (
            not path
            or len(path) > MAX_FILE_PATH
            or path.startswith("/")
            or "\\" in path
            or "\x00" in path
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise InvalidInputError(
                "Invalid files",
                f"{path!r} is not a relative path of at most {MAX_FILE_PATH} characters "
                "without '.', '..' or empty segments.",
            )
    if total > MAX_CODE_BYTES:
        raise InvalidInputError("Invalid files", "The files together are larger than 5 MiB.")


def _apply(record: FunctionRecord, changes: FunctionChanges) -> FunctionRecord:
    """`record` with every set field of `changes` (except code, handled by the caller) applied."""
    updates = {
        field: value
        for field in changes.__struct_fields__
        if field not in ("code", "files", "entrypoint")
        and (value := getattr(changes, field)) is not UNSET
    }
    return msgspec.structs.replace(record, **updates)


def _check_changes(changes: FunctionChanges) -> None:
    """The rules a type cannot express, other than the code itself."""
    if isinstance(changes.cron_schedule, str):
        check_cron(changes.cron_schedule)
