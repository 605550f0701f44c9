"""tree-sitter plumbing for the code forms: cached grammars, parsing, positions, syntax errors."""

from __future__ import annotations

import threading
from typing import Final

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from flux_edge.runtime.types import CodeError

# Language objects are immutable and safe to share; a Parser is not, so each thread gets its own.
TYPESCRIPT: Final = Language(tree_sitter_typescript.language_typescript())
TSX: Final = Language(tree_sitter_typescript.language_tsx())
_local = threading.local()
_query_lock = threading.Lock()
_queries: dict[tuple[int, str], Query] = {}

# Above this size the parser reads the source in chunks through a Python callback: tree-sitter holds
# the GIL while parsing, and the callback gives other threads (the server's event loop) a turn.
_CHUNKED_ABOVE: Final = 256 * 1024
_CHUNK: Final = 64 * 1024

LINE_TERMINATORS: Final = ("\n", "\r", "\u2028", "\u2029")


def parse(source: bytes, language: Language = TYPESCRIPT) -> Tree:
    """Parse UTF-8 `source` with this thread's parser for `language`."""
    parsers: dict[int, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(id(language))
    if parser is None:
        parser = parsers[id(language)] = Parser(language)
    if len(source) <= _CHUNKED_ABOVE:
        return parser.parse(source)
    view = memoryview(source)

    def read(offset: int, _point: object) -> bytes:
        return bytes(view[offset : offset + _CHUNK])

    return parser.parse(read)


def query(language: Language, text: str) -> Query:
    """The compiled query for `text`, compiled once per process."""
    key = (id(language), text)
    with _query_lock:
        compiled = _queries.get(key)
        if compiled is None:
            compiled = _queries[key] = Query(language, text)
        return compiled


def text(source: bytes, node: Node | None) -> str:
    """The source text of `node` ("" for None).

    Sliced from our own bytes: `Node.text` re-reads through the parse callback, which is slow.
    """
    if node is None:
        return ""
    return source[node.start_byte : node.end_byte].decode("utf-8")


def captures(language: Language, text: str, node: Node) -> dict[str, list[Node]]:
    """Run a (cached) query over `node` and return its captures by name."""
    return QueryCursor(query(language, text)).captures(node)


def position(source: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a byte offset, as V8 counts them.

    Lines end at any ECMAScript line terminator; columns count UTF-16 code units.
    """
    prefix = source[:offset].decode("utf-8", errors="replace")
    line = 1 + sum(prefix.count(t) for t in LINE_TERMINATORS) - prefix.count("\r\n")
    line_start = 1 + max(prefix.rfind(t) for t in LINE_TERMINATORS)
    return line, utf16_len(prefix[line_start:]) + 1


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (what V8 counts)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def error_at(source: bytes, offset: int, message: str) -> CodeError:
    """A CodeError at the line and column of `offset` (the caller adds them to what it shows)."""
    line, column = position(source, offset)
    return CodeError(message, line, column)


def first_syntax_error(source: bytes, tree: Tree) -> CodeError:
    """Describe the first ERROR or MISSING node of a tree that has errors."""
    node = tree.root_node
    while True:
        bad = next((c for c in node.children if c.has_error or c.is_missing), None)
        if bad is None:
            break  # the error is `node` itself
        node = bad
        if node.is_missing or node.is_error:
            break
    if node.is_missing:
        return error_at(source, node.start_byte, f"syntax error: expected {node.type!r}")
    leaf = node
    while leaf.children:
        leaf = leaf.children[0]
    text = source[leaf.start_byte : leaf.end_byte].decode("utf-8", errors="replace")
    if not text:
        return error_at(source, leaf.start_byte, "syntax error: unexpected end of input")
    if len(text) > 20:
        text = text[:20] + "..."
    return error_at(source, leaf.start_byte, f"syntax error: unexpected token {text!r}")


_JSX_QUERY: Final = "[(jsx_element) (jsx_self_closing_element)] @jsx"


def jsx_error(source: bytes) -> CodeError | None:
    """If `source` (which failed to parse as TypeScript) parses as TSX with JSX in it, say so."""
    if b"<" not in source:
        return None
    tree = parse(source, TSX)
    if tree.root_node.has_error:
        return None
    found = captures(TSX, _JSX_QUERY, tree.root_node).get("jsx", [])
    if not found:
        return None
    first = min(found, key=lambda n: n.start_byte)
    return error_at(
        source,
        first.start_byte,
        "JSX is not supported: build it to JavaScript (e.g. React.createElement calls) first",
    )
