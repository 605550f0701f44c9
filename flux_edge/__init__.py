"""flux-edge: a self-hosted edge-functions runtime on pooled in-process V8 isolates.

The public API for embedding (docs/embedding.md) is importable from here; the names load on first
use, so `import flux_edge` (and the `flux-edge` command) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flux_edge.lean_imports import STRUCTLOG_EXTRAS, import_without

__version__ = "0.1.0"


# Every flux-edge process (the command, the zygote, the hosts) imports this package first, so
# structlog is imported here without the `rich` it would load for tracebacks flux-edge does not
# render with it (~0.1 s of CPU at each start; see lean_imports.py and docs/decisions.md).
import_without("structlog", STRUCTLOG_EXTRAS)

if TYPE_CHECKING:
    from flux_edge.app import create_app
    from flux_edge.runtime import (
        CodeError,
        FunctionSpec,
        InvokeRequest,
        InvokeResult,
        Permissions,
        PoolLimits,
        Runtime,
        RuntimeUnavailableError,
    )
    from flux_edge.runtime.codeforms import compile_source
    from flux_edge.runtime.hosting.runtime import HostedRuntime, HostLimits
    from flux_edge.settings import Settings, load_settings

# name -> the module that defines it
_EXPORTS = {
    "CodeError": "flux_edge.runtime",
    "FunctionSpec": "flux_edge.runtime",
    "HostLimits": "flux_edge.runtime.hosting.runtime",
    "HostedRuntime": "flux_edge.runtime.hosting.runtime",
    "InvokeRequest": "flux_edge.runtime",
    "InvokeResult": "flux_edge.runtime",
    "Permissions": "flux_edge.runtime",
    "PoolLimits": "flux_edge.runtime",
    "Runtime": "flux_edge.runtime",
    "RuntimeUnavailableError": "flux_edge.runtime",
    "Settings": "flux_edge.settings",
    "compile_source": "flux_edge.runtime.codeforms",
    "create_app": "flux_edge.app",
    "load_settings": "flux_edge.settings",
}

__all__ = [
    "CodeError",
    "FunctionSpec",
    "HostLimits",
    "HostedRuntime",
    "InvokeRequest",
    "InvokeResult",
    "Permissions",
    "PoolLimits",
    "Runtime",
    "RuntimeUnavailableError",
    "Settings",
    "__version__",
    "compile_source",
    "create_app",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flux_edge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
