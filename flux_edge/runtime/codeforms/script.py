"""What users deploy (JavaScript or TypeScript, script or module) to the runtime's script form.

`compile_source` runs once at deploy time. Its output is a classic script with every line and column
of the user's code where it was, so V8's stack traces and syntax errors point into the source as
written. See docs/code-forms.md for what is accepted and rejected, and why.
"""

from __future__ import annotations

from tree_sitter import Node

from flux_edge.runtime.codeforms.edits import apply
from flux_edge.runtime.codeforms.module_syntax import MODULES_QUERY, module_form
from flux_edge.runtime.codeforms.syntax import (
    TYPESCRIPT,
    captures,
    error_at,
    first_syntax_error,
    jsx_error,
    parse,
)
from flux_edge.runtime.codeforms.typescript import TYPES_QUERY, type_edits

__all__ = ["compile_source"]


def compile_source(source: str) -> str:
    """Turn deployed JavaScript/TypeScript into the compiled script form (raises `CodeError`).

    Plain JavaScript without module syntax comes back unchanged (the very same string).
    """
    try:
        data = source.encode("utf-8")
    except UnicodeEncodeError as exc:
        prefix = source[: exc.start].encode("utf-8", errors="surrogatepass")
        raise error_at(prefix, len(prefix), "the source contains an unpaired surrogate") from None
    tree = parse(data)
    root = tree.root_node
    if root.has_error:
        raise jsx_error(data) or first_syntax_error(data, tree)
    found = captures(TYPESCRIPT, TYPES_QUERY + MODULES_QUERY, root)
    edits = list(type_edits(found, data))
    form = module_form(root, found, data)
    edits.extend(form.edits)
    tail = form.tail()
    if not edits and not tail:
        return source
    if tail and _ends_in_line_comment(data, root):
        tail = "\n" + tail
    return apply(data, edits, tail)


def _ends_in_line_comment(data: bytes, root: Node) -> bool:
    """Whether text appended to the last line would land inside a `//` comment (or a hashbang)."""
    end = len(data.rstrip(b" \t"))
    if end == 0 or data[end - 1] in b"\r\n":
        return False
    node = root.descendant_for_byte_range(end - 1, end)
    return (
        node is not None
        and node.type in ("comment", "hash_bang_line")
        and (data[node.start_byte : node.start_byte + 2] in (b"//", b"#!"))
    )
