"""What turns user files into one script: TypeScript erasure, module syntax and source positions.

`compile_source` turns one deployed source into the runtime's compiled script form; see
docs/code-forms.md.
"""

from flux_edge.runtime.codeforms.script import compile_source
from flux_edge.runtime.types import CodeError

__all__ = ["CodeError", "compile_source"]
