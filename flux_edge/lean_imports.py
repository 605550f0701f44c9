"""Import a module with optional extras of its dependencies hidden, when nothing needs them.

structlog imports `rich` (installed with Litestar) for its console tracebacks, and httpx imports
`click`, `pygments` and `rich` for its command-line tool; flux-edge uses neither, and together
they cost ~0.1-0.2 s of CPU in every process that imports them (the server at start, each isolate
host on its first fetch). Both libraries treat the extra as absent when its import fails.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

HTTPX_EXTRAS = ("click", "pygments", "rich")
STRUCTLOG_EXTRAS = ("rich",)


def import_without(module: str, extras: tuple[str, ...]) -> ModuleType:
    """Import `module` with `extras` hidden, unless the process already has them (or `module`)."""
    if module in sys.modules:
        return sys.modules[module]
    hidden = [name for name in extras if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" raises ImportError
    try:
        return importlib.import_module(module)
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
