"""V8 isolates for flux-edge functions: `Runtime.invoke(spec, request) -> InvokeResult`.

The names load on first use: a server whose isolates run in host processes (the default) names the
types and errors, and never loads V8 or the prelude itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flux_edge.runtime.host_bridge import HostBridge, HostOpError
    from flux_edge.runtime.limits import PoolLimits
    from flux_edge.runtime.runtime import Runtime
    from flux_edge.runtime.types import (
        CodeError,
        FunctionSpec,
        InvokeRequest,
        InvokeResult,
        Permissions,
        RuntimeUnavailableError,
    )

# name -> the module that defines it
_EXPORTS = {
    "CodeError": "flux_edge.runtime.types",
    "FunctionSpec": "flux_edge.runtime.types",
    "HostBridge": "flux_edge.runtime.host_bridge",
    "HostOpError": "flux_edge.runtime.host_bridge",
    "InvokeRequest": "flux_edge.runtime.types",
    "InvokeResult": "flux_edge.runtime.types",
    "Permissions": "flux_edge.runtime.types",
    "PoolLimits": "flux_edge.runtime.limits",
    "Runtime": "flux_edge.runtime.runtime",
    "RuntimeUnavailableError": "flux_edge.runtime.types",
}

__all__ = [
    "CodeError",
    "FunctionSpec",
    "HostBridge",
    "HostOpError",
    "InvokeRequest",
    "InvokeResult",
    "Permissions",
    "PoolLimits",
    "Runtime",
    "RuntimeUnavailableError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flux_edge.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
