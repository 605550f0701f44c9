"""TypeScript enums to JavaScript, the way `tsc` emits them, keeping each member on its line."""

from __future__ import annotations

import json

from tree_sitter import Node

from flux_edge.runtime.codeforms.edits import Edit
from flux_edge.runtime.codeforms.syntax import text

_UNSUPPORTED = (
    "enum member {name} has a computed value: only number and string literals are supported"
)


def enum_edit(node: Node, source: bytes) -> Edit:
    """Rewrite `[const] enum E { A, B = 2, C = "c" }` as tsc does (const enums are kept as objects).

    `var E;(function (E) {` goes where the enum starts, each member's assignment where the member
    is, and `})(E || (E = {}));` where the `}` is: a member that throws still reports its line.
    Members whose value needs evaluation (`B = A * 2`) are rejected rather than half-translated.
    """
    name_node = node.child_by_field_name("name")
    body = node.child_by_field_name("body")
    if name_node is None or body is None:
        return Edit(node.start_byte, node.end_byte, reject="malformed enum declaration")
    name = text(source, name_node)
    pieces: list[tuple[int, str]] = [(node.start_byte, f"var {name};(function ({name}) {{")]
    next_value: int | float | None = 0
    for member in body.named_children:
        if member.type == "comment":
            continue
        key_node = (
            member.child_by_field_name("name") if member.type == "enum_assignment" else member
        )
        value_node = (
            member.child_by_field_name("value") if member.type == "enum_assignment" else None
        )
        if key_node is None:
            return Edit(member.start_byte, member.end_byte, reject="malformed enum member")
        key = _key(key_node, source)
        if value_node is None:
            if next_value is None:
                return _reject(member, key, "needs a value (it follows a string member)")
            value = _number(next_value)
        elif value_node.type == "string":
            pieces.append((member.start_byte, f"{name}[{key}] = {text(source, value_node)};"))
            next_value = None
            continue
        else:
            number = _numeric_literal(value_node, source)
            if number is None:
                return _reject(member, key, "")
            next_value, value = number, text(source, value_node)
        pieces.append((member.start_byte, f"{name}[{name}[{key}] = {value}] = {key};"))
        if next_value is not None:
            next_value += 1
    close = body.children[-1]
    pieces.append((close.start_byte, f"}})({name} || ({name} = {{}}));"))
    return Edit(node.start_byte, node.end_byte, tuple(pieces))


def _reject(member: Node, key: str, why: str) -> Edit:
    message = f"enum member {key} {why}" if why else _UNSUPPORTED.format(name=key)
    return Edit(member.start_byte, member.end_byte, reject=message)


def _key(node: Node, source: bytes) -> str:
    if node.type == "string":
        return text(source, node)
    return json.dumps(text(source, node), ensure_ascii=False)


def _numeric_literal(node: Node, source: bytes) -> int | float | None:
    """The value of a number literal, optionally negated; None for anything else."""
    sign = 1
    if node.type == "unary_expression" and node.children[0].type in ("-", "+"):
        sign = -1 if node.children[0].type == "-" else 1
        node = node.children[1]
    if node.type != "number":
        return None
    digits = text(source, node).replace("_", "").lower()
    try:
        if digits.startswith(("0x", "0o", "0b")):
            return sign * int(digits, 0)
        value = float(digits)
    except ValueError:  # a BigInt or something else V8 would reject anyway
        return None
    return sign * (int(value) if value.is_integer() and "e" not in digits else value)


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)
