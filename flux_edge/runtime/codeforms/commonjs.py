"""One CommonJS file (an npm package's) to a module factory, with the `require` calls it makes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from tree_sitter import Node

from flux_edge.runtime.codeforms.module_syntax import specifier_name
from flux_edge.runtime.codeforms.syntax import TYPESCRIPT, captures, first_syntax_error, parse

_REQUIRES: Final = """
(call_expression
  function: (identifier) @function
  arguments: (arguments . (string) @specifier .)
  (#eq? @function "require"))
"""
# Node's wrapper, plus `global` (Node's name for globalThis, which older packages use) and the
# global `Buffer` Node gives every module (node:buffer's, when the file mentions it).
PROLOGUE: Final = "(function(exports,require,module,__filename,__dirname,global,Buffer){"
_CONDITIONAL: Final = frozenset(
    {
        "function_declaration",
        "function_expression",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
        "try_statement",
        "if_statement",
        "ternary_expression",
        "binary_expression",
    }
)


@dataclass
class CommonJsModule:
    """A compiled CommonJS file: its factory and the literal `require` specifiers, each with its
    byte offset and whether the file requires it unconditionally (at top level, outside `try`)."""

    factory: str
    requires: list[tuple[str, int, bool]] = field(default_factory=list)
    uses_buffer: bool = False


def compile_commonjs(source: str) -> CommonJsModule:
    """Wrap a CommonJS file as Node does (raises CodeError when it does not parse)."""
    data = source.encode("utf-8", errors="surrogatepass")
    tree = parse(data)
    if tree.root_node.has_error:
        raise first_syntax_error(data, tree)
    requires: list[tuple[str, int, bool]] = []
    seen: set[str] = set()
    for node in captures(TYPESCRIPT, _REQUIRES, tree.root_node).get("specifier", []):
        name = specifier_name(node, data)
        if name not in seen:
            seen.add(name)
            requires.append((name, node.start_byte, not _conditional(node)))
    body = source
    if body.startswith("#!"):
        end = body.find("\n")
        body = (
            " " * (end if end >= 0 else len(body)) + body[max(end, len(body)) if end < 0 else end :]
        )
    uses_buffer = re.search(r"\bBuffer\b", source) is not None
    return CommonJsModule(
        factory=PROLOGUE + body + "\n})", requires=requires, uses_buffer=uses_buffer
    )


def _conditional(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _CONDITIONAL:
            return True
        parent = parent.parent
    return False
