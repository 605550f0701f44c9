"""What turns user files into one script: TypeScript erasure, module syntax and source positions.

`compile_source` turns one deployed source into the runtime's compiled script form; see
docs/code-forms.md. It is imported on first use: a server start imports this package (for the
deploy-time linker's settings) but compiles nothing until the first deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flux_edge.runtime.types import CodeError

if TYPE_CHECKING:
    from flux_edge.runtime.codeforms.script import compile_source

__all__ = ["CodeError", "compile_source"]


def __getattr__(name: str) -> Any:
    if name == "compile_source":
        from flux_edge.runtime.codeforms.script import compile_source

        return compile_source
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
