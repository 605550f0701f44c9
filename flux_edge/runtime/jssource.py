"""The prelude's JavaScript as isolates hold it: without comments and layout.

An isolate keeps the source text of every script it evaluated (V8 compiles functions lazily from
it, and `Function.prototype.toString` reads it), so each byte of the prelude costs each isolate a
byte of heap; a fifth of the files was comments and indentation. rjsmin keeps every token and every
line break that automatic semicolon insertion could need: tests/runtime/test_jssource.py checks that
each file parses to the same syntax tree after it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import rjsmin


@cache
def js_source(path: Path) -> str:
    """The file at `path`, minified (whitespace and comments only; names are kept)."""
    minified: str = rjsmin.jsmin(path.read_text(encoding="utf-8"))
    return minified
