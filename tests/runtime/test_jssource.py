"""The prelude is minified (runtime/jssource.py) without changing what any of its files means."""

from __future__ import annotations

from pathlib import Path

import pytest

from flux_edge.runtime.codeforms.syntax import parse
from flux_edge.runtime.jssource import js_source
from flux_edge.runtime.prelude import CAPABILITY_FILES, CORE_FILES, JS_DIR, prelude_source
from flux_edge.runtime.webapi import STREAM_FILES, WEB_FILES

PRELUDE_FILES = sorted(JS_DIR.glob("*.js")) + sorted((JS_DIR / "web").glob("*.js"))
# Literals are compared by their whole text: a minifier must leave them alone, the templates'
# substitutions included.
_ATOMS = {"string", "template_string", "regex"}


def syntax(source: str) -> list[object]:
    """The syntax tree in preorder, comments left out, tokens and literals with their text."""
    tree = parse(source.encode())
    assert not tree.root_node.has_error, "does not parse"
    shape: list[object] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            continue
        if node.child_count == 0 or node.type in _ATOMS:
            shape.append((node.type, node.text))
        else:
            shape.append(node.type)
            stack.extend(reversed(node.children))
    return shape


@pytest.mark.parametrize("path", PRELUDE_FILES, ids=lambda path: path.name)
def test_minifying_keeps_the_syntax_tree(path: Path) -> None:
    original = path.read_text(encoding="utf-8")
    minified = js_source(path)
    assert len(minified) < len(original)
    assert syntax(minified) == syntax(original)


def test_syntax_comparison_sees_a_lost_line_break() -> None:
    # Automatic semicolon insertion: a line break after `return` ends the statement, one
    # between `a` and `++` makes the increment apply to `b`.
    assert syntax("function f() { return\nvalue }") != syntax("function f() { return value }")
    assert syntax("a\n++b") != syntax("a++\nb")
    assert syntax("x = 1 // note\n+ 2") == syntax("x = 1\n+ 2")


def test_isolates_evaluate_the_minified_files() -> None:
    prelude = prelude_source()
    for name in ("primordials.js", "memory.js", *CORE_FILES, *CAPABILITY_FILES):
        assert js_source(JS_DIR / name) in prelude, name
    for name in WEB_FILES:
        if name != "streams_lazy.js":  # its sources go in as a JSON string (webapi.py)
            assert js_source(JS_DIR / "web" / name) in prelude, name
    assert "__FLUX_STREAM_SOURCES__" not in prelude
    for name in STREAM_FILES:
        assert js_source(JS_DIR / "web" / name)[:200] in prelude.replace('\\"', '"'), name
