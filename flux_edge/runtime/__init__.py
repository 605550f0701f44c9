"""V8 isolates for flux-edge functions: `Runtime.invoke(spec, request) -> InvokeResult`."""

from flux_edge.runtime.isolate import HostBridge, HostOpError
from flux_edge.runtime.pool import PoolLimits
from flux_edge.runtime.runtime import Runtime
from flux_edge.runtime.types import (
    CodeError,
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    Permissions,
    RuntimeUnavailableError,
)

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
