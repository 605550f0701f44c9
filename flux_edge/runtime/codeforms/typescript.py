"""Erasing TypeScript: the edits that turn TypeScript into JavaScript with the same layout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from tree_sitter import Node

from flux_edge.runtime.codeforms.edits import Edit
from flux_edge.runtime.codeforms.syntax import text

# Run by tree-sitter in C (a Python walk over every node of a large file is far slower), in one
# pass with MODULES_QUERY: each pass over a 5 MiB file's tree costs about a third of a second.
TYPES_QUERY: Final = """
[(type_annotation) (type_predicate_annotation) (asserts_annotation) (type_arguments)
 (type_parameters) (override_modifier) (implements_clause)] @erase
(accessibility_modifier) @access
(optional_parameter "?" @erase)
(public_field_definition ["?" "!" "readonly"] @erase)
(method_definition "?" @erase)
(variable_declarator "!" @erase)
(non_null_expression "!" @erase)
(abstract_class_declaration "abstract" @erase)
[(interface_declaration) (type_alias_declaration) (ambient_declaration) (function_signature)
 (abstract_method_signature) (method_signature) (index_signature)] @statement
(public_field_definition ["declare" "abstract"]) @statement
[(as_expression) (satisfies_expression)] @cast
(required_parameter pattern: (this)) @this_param
[(required_parameter "readonly") (optional_parameter "readonly")
 (required_parameter [(accessibility_modifier) (override_modifier)])
 (optional_parameter [(accessibility_modifier) (override_modifier)])] @param_property
(arrow_function return_type: (_)) @arrow
(enum_declaration) @enum
[(internal_module) (module)] @namespace
(decorator) @decorator
"""

_TYPE_ONLY_STATEMENTS: Final = frozenset(
    {"interface_declaration", "type_alias_declaration", "ambient_declaration", "function_signature"}
)
_ACCESS_KEYWORDS: Final = frozenset({"public", "private", "protected", "readonly", "override"})


def erase(node: Node, *, statement: bool = False) -> Edit:
    """Blank `node`; a statement also gets a `;` so the code before it still ends where it did."""
    pieces = ((node.start_byte, ";"),) if statement else ()
    return Edit(node.start_byte, node.end_byte, pieces)


def reject(node: Node, message: str) -> Edit:
    """An error at `node`, raised unless an enclosing edit erases `node`."""
    return Edit(node.start_byte, node.end_byte, reject=message)


def is_type_only(node: Node) -> bool:
    """Whether a statement declares types only (TypeScript emits nothing for it)."""
    if node.type in _TYPE_ONLY_STATEMENTS:
        return True
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    if node.type in ("internal_module", "module"):
        body = node.child_by_field_name("body")
        return body is None or all(is_type_only(s) for s in body.named_children)
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration")
        return any(c.type == "type" for c in node.children) or (
            declaration is not None and is_type_only(declaration)
        )
    return node.type == "comment" or node.type == "empty_statement"


def type_edits(found: dict[str, list[Node]], source: bytes) -> Iterator[Edit]:
    """Every edit that erases or rewrites TypeScript-only syntax, given TYPES_QUERY's captures."""
    for name, handler in _HANDLERS.items():
        nodes = found.get(name, [])
        if name == "param_property":  # `private readonly x` matches two patterns: rewrite it once
            nodes = list({node.start_byte: node for node in nodes}.values())
        for node in nodes:
            yield from handler(node, source)


def _erase(node: Node, source: bytes) -> Iterator[Edit]:
    yield erase(node)


def _statement(node: Node, source: bytes) -> Iterator[Edit]:
    yield erase(node, statement=True)


def _access(node: Node, source: bytes) -> Iterator[Edit]:
    # On a constructor parameter it makes a parameter property, handled there.
    if node.parent is not None and node.parent.type not in (
        "required_parameter",
        "optional_parameter",
    ):
        yield erase(node)


def _cast(node: Node, source: bytes) -> Iterator[Edit]:
    keyword = next(c for c in node.children if c.type in ("as", "satisfies"))
    yield Edit(keyword.start_byte, node.end_byte)


def _this_param(node: Node, source: bytes) -> Iterator[Edit]:
    comma = node.next_sibling
    end = comma.end_byte if comma is not None and comma.type == "," else node.end_byte
    yield Edit(node.start_byte, end)


def _arrow(node: Node, source: bytes) -> Iterator[Edit]:
    # `(a): T => a` with a line break inside the return type would leave `)` and `=>` on different
    # lines once erased, which is a syntax error: move the `)` to the line of `=>`.
    params = node.child_by_field_name("parameters")
    returns = node.child_by_field_name("return_type")
    if params is None or returns is None or params.end_point.row == returns.end_point.row:
        return
    close = params.children[-1]
    last_row_start = returns.end_byte - returns.end_point.column
    yield Edit(close.start_byte, returns.end_byte, ((max(last_row_start, close.end_byte), ")"),))


def _param_property(node: Node, source: bytes) -> Iterator[Edit]:
    for child in node.children:
        if child.type in _ACCESS_KEYWORDS or child.type in (
            "accessibility_modifier",
            "override_modifier",
        ):
            yield erase(child)
    pattern = node.child_by_field_name("pattern")
    method = node.parent.parent if node.parent is not None else None
    body = method.child_by_field_name("body") if method is not None else None
    method_name = method.child_by_field_name("name") if method is not None else None
    if (
        pattern is None
        or pattern.type != "identifier"
        or body is None
        or method_name is None
        or text(source, method_name) != "constructor"
    ):
        yield reject(node, "this parameter property is not supported; assign the field in the body")
        return
    name = text(source, pattern)
    # TypeScript assigns parameter properties right after `super(...)` (or first thing in the body).
    anchor = body.children[0]
    for statement in body.named_children:
        if _is_super_call(statement):
            anchor = statement
            break
    yield Edit(anchor.end_byte, anchor.end_byte, ((anchor.end_byte, f"this.{name}={name};"),))


def _is_super_call(statement: Node) -> bool:
    call = statement.named_children[0] if statement.type == "expression_statement" else None
    return (
        call is not None
        and call.type == "call_expression"
        and (fn := call.child_by_field_name("function")) is not None
        and fn.type == "super"
    )


def _namespace(node: Node, source: bytes) -> Iterator[Edit]:
    statement = node.parent if node.parent and node.parent.type == "expression_statement" else node
    if is_type_only(node):
        yield erase(statement, statement=True)
    else:
        yield reject(
            node, "namespaces with values are not supported: use a plain object or top-level code"
        )


def _decorator(node: Node, source: bytes) -> Iterator[Edit]:
    yield reject(node, "decorators are not supported")


def _enum(node: Node, source: bytes) -> Iterator[Edit]:
    from flux_edge.runtime.codeforms.enums import enum_edit

    yield enum_edit(node, source)


_HANDLERS: Final[dict[str, Callable[[Node, bytes], Iterator[Edit]]]] = {
    "erase": _erase,
    "statement": _statement,
    "access": _access,
    "cast": _cast,
    "this_param": _this_param,
    "param_property": _param_property,
    "arrow": _arrow,
    "enum": _enum,
    "namespace": _namespace,
    "decorator": _decorator,
}
