"""The HostBridge of flux-edge: every privileged operation JavaScript can ask for, in one place.

JavaScript checks the permission flags before it asks, for a quick and clear error; this module
checks them again, because nothing the isolate sends is trusted. Operations by kind:

    fetch, fetch.abort                        allow_net
    fs.readFile, fs.readTextFile, fs.readDir,
    fs.stat                                   allow_read
    fs.writeFile, fs.mkdir, fs.remove         allow_write

WebCrypto's `crypto.*` operations need no permission and do not come here: the isolate answers
them itself (flux_edge/runtime/webcrypto, docs/webcrypto.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib
import os
import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from flux_edge.lean_imports import HTTPX_EXTRAS, import_without
from flux_edge.runtime.capabilities.files import ERRNO_TYPES, FileJail
from flux_edge.runtime.capabilities.policy import OutboundPolicy
from flux_edge.runtime.host_bridge import HostOpError
from flux_edge.runtime.types import FunctionSpec, InvokeRequest

if TYPE_CHECKING:
    from flux_edge.runtime.capabilities.net import NetCapability
    from flux_edge.settings import Settings

_MIB = 1024 * 1024


class PathPayload(msgspec.Struct, frozen=True):
    """A file operation on one path."""

    path: str
    recursive: bool = False


class WritePayload(msgspec.Struct, frozen=True):
    """Deno.writeFile / writeTextFile: the bytes (base64; JavaScript encodes text) and options."""

    path: str
    base64: str
    append: bool = False
    create: bool = True
    createNew: bool = False


_FLAG_OF_KIND = {
    "fetch": "allow_net",
    "fetch.abort": "allow_net",
    "fs.readFile": "allow_read",
    "fs.readTextFile": "allow_read",
    "fs.readDir": "allow_read",
    "fs.stat": "allow_read",
    "fs.writeFile": "allow_write",
    "fs.mkdir": "allow_write",
    "fs.remove": "allow_write",
}
_ACCESS_OF_FLAG = {"allow_net": "net", "allow_read": "read", "allow_write": "write"}


_NET_MODULE = "flux_edge.runtime.capabilities.net"


def _import_net() -> None:
    """Import fetch's modules: httpx without the extras of its command-line tool (lean_imports)."""
    import_without("httpx", HTTPX_EXTRAS)
    importlib.import_module(_NET_MODULE)


class CapabilityBridge:
    """Runs fetch and file operations for isolates, checking each against the function's flags."""

    def __init__(
        self,
        *,
        net_allow: str = "",
        max_subrequests: int = 50,
        max_fetch_response_bytes: int = 10 * _MIB,
        file_quota_bytes: int = 64 * _MIB,
    ) -> None:
        self._policy = OutboundPolicy.from_text(net_allow)  # checked at start, used on fetch
        self._max_subrequests = max_subrequests
        self._max_fetch_response_bytes = max_fetch_response_bytes
        self._net: NetCapability | None = None
        self.file_quota_bytes = file_quota_bytes
        # One writer at a time per function keeps the quota check and the write together.
        self._write_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def net(self) -> NetCapability:
        """fetch's side, made on the first fetch: httpx is imported then, not at server start."""
        if self._net is None:
            _import_net()
            from flux_edge.runtime.capabilities.net import NetCapability

            self._net = NetCapability(
                self._policy,
                max_subrequests=self._max_subrequests,
                max_response_bytes=self._max_fetch_response_bytes,
            )
        return self._net

    @classmethod
    def from_settings(cls, settings: Settings) -> CapabilityBridge:
        """The bridge configured by FLUX_EDGE_NET_ALLOW and the capability limits."""
        return cls(
            net_allow=settings.net_allow,
            max_subrequests=settings.max_subrequests,
            max_fetch_response_bytes=settings.max_fetch_response_bytes,
            file_quota_bytes=settings.file_quota_bytes,
        )

    async def run(
        self,
        kind: str,
        payload: Any,
        request: InvokeRequest,
        spec: FunctionSpec,
        deadline: float,
    ) -> Any:
        """Check the permission for `kind`, then do it."""
        flag = _FLAG_OF_KIND.get(kind)
        if flag is None:
            raise HostOpError("TypeError", f"unknown host operation {kind!r}")
        if not getattr(spec.permissions, flag):
            raise HostOpError("PermissionDenied", _denied_message(kind, flag, payload))
        if kind == "fetch":
            if self._net is None and _NET_MODULE not in sys.modules:
                # The first fetch imports httpx (~0.1 s, more on a busy machine): in a thread, so
                # this loop keeps running other calls' steps and answering the server's pings.
                await asyncio.to_thread(_import_net)
            return await self.net.fetch(payload, request, deadline)
        if kind == "fetch.abort":
            self.net.abort(payload, request)
            return None
        return await self._file_op(kind, payload, spec)

    def call_finished(self, request: InvokeRequest) -> None:
        """Forget the call's subrequest count and cancel its fetches still running."""
        if self._net is not None:
            self._net.call_finished(request)

    async def aclose(self) -> None:
        """Close pooled connections (at shutdown, after the runtime has closed)."""
        if self._net is not None:
            await self._net.aclose()

    # ---- files -------------------------------------------------------------------------------
    async def _file_op(self, kind: str, payload: Any, spec: FunctionSpec) -> Any:
        if spec.files_dir is None:
            raise HostOpError("NotSupported", "this runtime gives the function no file directory")
        jail = FileJail(
            spec.files_dir,
            quota_bytes=self.file_quota_bytes,
            max_read_bytes=spec.memory_limit_mb * _MIB,
        )
        if kind == "fs.writeFile":
            write = _convert(payload, WritePayload)
            data = _write_bytes(write)
            job: Callable[[], Any] = lambda: jail.write(  # noqa: E731
                write.path, data, append=write.append, create=write.create,
                create_new=write.createNew,
            )  # fmt: skip
        else:
            op = _convert(payload, PathPayload)
            operations: dict[str, Callable[[], Any]] = {
                "fs.readFile": lambda: {"base64": base64.b64encode(jail.read(op.path)).decode()},
                "fs.readTextFile": lambda: jail.read(op.path).decode("utf-8", "replace"),
                "fs.readDir": lambda: jail.read_dir(op.path),
                "fs.stat": lambda: jail.stat(op.path),
                "fs.mkdir": lambda: jail.mkdir(op.path, recursive=op.recursive),
                "fs.remove": lambda: jail.remove(op.path, recursive=op.recursive),
            }
            job = operations[kind]
        if kind not in _MUTATING:
            return await asyncio.to_thread(_host_errors, job, kind)
        # One change at a time per function: the jail's ledger is locked for the change anyway,
        # and queueing here keeps waiting changes off the worker threads other functions need.
        lock = self._write_locks.get(spec.function_id)
        if lock is None:
            lock = self._write_locks[spec.function_id] = asyncio.Lock()
        async with lock:
            return await asyncio.to_thread(_host_errors, job, kind)


_MUTATING = frozenset({"fs.writeFile", "fs.mkdir", "fs.remove"})


def _host_errors(job: Callable[[], Any], kind: str) -> Any:
    """Runs a file operation; an OS error the jail did not map becomes a clean JavaScript error
    (its errno's class and text), never Python's own message with descriptor numbers."""
    try:
        return job()
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else "the operation failed"
        raise HostOpError(ERRNO_TYPES.get(error.errno or 0, "Error"), f"{reason}: {kind}") from None


def _convert(raw: Any, type_: type[Any]) -> Any:
    try:
        return msgspec.convert(raw, type_)
    except msgspec.ValidationError as error:
        raise HostOpError("TypeError", f"invalid arguments: {error}") from None


def _write_bytes(payload: WritePayload) -> bytes:
    try:
        return base64.b64decode(payload.base64, validate=True)
    except binascii.Error as error:
        raise HostOpError("TypeError", f"writeFile: bad data encoding: {error}") from None


def _denied_message(kind: str, flag: str, payload: Any) -> str:
    target = ""
    if isinstance(payload, dict):
        value = payload.get("url") if kind.startswith("fetch") else payload.get("path")
        if isinstance(value, str):
            target = f' to "{value[:200]}"'
    return (
        f"Requires {_ACCESS_OF_FLAG[flag]} access{target}: "
        f"{flag} is false for this function (set it with the management API)"
    )
