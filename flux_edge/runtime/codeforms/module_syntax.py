"""Module syntax to the script form: exports become `__flux_exports` properties; no imports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from tree_sitter import Node

from flux_edge.runtime.codeforms.edits import Edit
from flux_edge.runtime.codeforms.syntax import text
from flux_edge.runtime.codeforms.typescript import erase, is_type_only, reject

MODULES_QUERY: Final = """
(import_statement) @import
(import_alias) @import_alias
(program (export_statement) @export)
(call_expression function: (import)) @dynamic_import
(meta_property "import") @import_meta
(await_expression) @await
(for_in_statement "await") @await
"""

# `export default <expression>` becomes `let __flux_d=<expression>`, written over the 14 columns of
# `export default` so the expression keeps its column; the tail then copies it to __flux_exports.
DEFAULT_BINDING: Final = "__flux_d"
_DEFAULT_PREFIX: Final = f"let {DEFAULT_BINDING}="
_IDENTIFIER: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_FUNCTIONS: Final = frozenset(
    {
        "function_declaration",
        "function_expression",
        "generator_function_declaration",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)
_DECLARATION_TYPES: Final = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "enum_declaration",
    }
)
_NO_IMPORTS: Final = (
    "imports are not supported yet: bundle the function's dependencies into one file"
)


@dataclass
class ModuleForm:
    """The edits for a source's module syntax and the exported (name, local binding) pairs."""

    edits: list[Edit] = field(default_factory=list)
    exports: list[tuple[str, str]] = field(default_factory=list)

    def tail(self) -> str:
        """The assignments appended after the last line of code (empty without exports)."""
        if not self.exports:
            return ""
        return ";" + " ".join(
            f"__flux_exports{_property(name)} = {local};" for name, local in self.exports
        )


def module_form(root: Node, found: dict[str, list[Node]], source: bytes) -> ModuleForm:
    """How to express the module syntax of `root` (MODULES_QUERY's captures) in a classic script."""
    form = ModuleForm()
    for node in found.get("import", []):
        form.edits.append(_import(node, source))
    for node in found.get("import_alias", []):
        form.edits.append(reject(node, "`import x = ...` is not supported"))
    for node in found.get("dynamic_import", []):
        form.edits.append(reject(node, _NO_IMPORTS + " (dynamic import())"))
    for node in found.get("import_meta", []):
        form.edits.append(reject(node, "import.meta is not supported (functions run as scripts)"))
    for node in found.get("await", []):
        if _at_top_level(node):
            form.edits.append(
                reject(node, "top-level await is not supported: await inside the handler instead")
            )
    exports = found.get("export", [])
    if exports:
        type_names = type_only_names(root, source)
        for node in sorted(exports, key=lambda n: n.start_byte):
            _export(node, form, type_names, source)
    return form


def _import(node: Node, source: bytes) -> Edit:
    specifier = specifier_name(node.child_by_field_name("source"), source)
    if any(c.type == "type" for c in node.children) or re.search(r"\.d\.[mc]?ts\Z", specifier):
        return erase(node, statement=True)
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if any(c.type == "import_require_clause" for c in node.named_children):
        return reject(node, "`import x = require(...)` is not supported")
    if clause is not None and only_types(clause):
        return erase(node, statement=True)
    return reject(node, _NO_IMPORTS)


def only_types(clause: Node) -> bool:
    """`import { type A, type B } from ...`: every binding is a type, so nothing is imported."""
    if [c.type for c in clause.named_children] != ["named_imports"]:
        return False
    specifiers = [
        c for c in clause.named_children[0].named_children if c.type == "import_specifier"
    ]
    return bool(specifiers) and all(any(t.type == "type" for t in s.children) for s in specifiers)


def _at_top_level(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _FUNCTIONS:
            return False
        parent = parent.parent
    return True


def _export(node: Node, form: ModuleForm, type_names: set[str], source: bytes) -> None:
    keyword = node.children[0]
    declaration = node.child_by_field_name("declaration")
    value = node.child_by_field_name("value")
    is_default = any(c.type == "default" for c in node.children)
    kinds = {c.type for c in node.children}
    if is_type_only(node):
        form.edits.append(erase(node, statement=True))
    elif "from" in kinds:
        form.edits.append(reject(node, "`export ... from` is not supported yet (it is an import)"))
    elif "=" in kinds:
        form.edits.append(reject(node, "`export =` is not supported: use `export default`"))
    elif "as" in kinds or (declaration is not None and declaration.type == "import_alias"):
        form.edits.append(reject(node, "this form of export is not supported"))
    elif declaration is not None:
        form.edits.append(Edit(keyword.start_byte, declaration.start_byte))
        names = declared_names(declaration, source)
        if is_default:
            form.exports.extend(("default", name) for name in names[:1])
        else:
            form.exports.extend((name, name) for name in names)
    elif value is not None:
        pieces = ((keyword.start_byte, _DEFAULT_PREFIX),)
        form.edits.append(Edit(keyword.start_byte, value.start_byte, pieces))
        declared = leading_declaration(value)
        if declared is not None and (declared != value or ";" not in kinds):
            # `export default function () {}` is a declaration: the statement ends at its `}` even
            # if a `(` follows (tree-sitter reads on, as a call). As an expression it needs a `;`.
            end = declared.end_byte
            form.edits.append(Edit(end, end, ((end, ";"),)))
        form.exports.append(("default", DEFAULT_BINDING))
    else:
        clause = next(c for c in node.named_children if c.type == "export_clause")
        form.edits.append(erase(node, statement=True))
        for spec in clause.named_children:
            if spec.type != "export_specifier" or any(c.type == "type" for c in spec.children):
                continue
            local = specifier_name(spec.child_by_field_name("name"), source)
            alias = spec.child_by_field_name("alias")
            if local not in type_names:
                form.exports.append(
                    (specifier_name(alias, source) if alias is not None else local, local)
                )


def leading_declaration(value: Node) -> Node | None:
    """The function or class that `export default` starts with, if any."""
    node: Node | None = value
    while node is not None and node.start_byte == value.start_byte:
        if node.type in ("function_expression", "generator_function", "class"):
            return node
        node = node.named_children[0] if node.named_children else None
    return None


def declared_names(declaration: Node, source: bytes) -> list[str]:
    if declaration.type in _DECLARATION_TYPES:
        name = declaration.child_by_field_name("name")
        return [specifier_name(name, source)] if name is not None else []
    names: list[str] = []
    for declarator in declaration.named_children:
        if declarator.type == "variable_declarator":
            names.extend(_pattern_names(declarator.child_by_field_name("name"), source))
    return names


def _pattern_names(pattern: Node | None, source: bytes) -> Iterator[str]:
    """The bindings a destructuring pattern introduces (`{ a, b: [c], ...d }` -> a, c, d)."""
    if pattern is None:
        return
    if pattern.type in ("identifier", "shorthand_property_identifier_pattern"):
        yield specifier_name(pattern, source)
    elif pattern.type in ("pair_pattern",):
        yield from _pattern_names(pattern.child_by_field_name("value"), source)
    elif pattern.type in ("object_assignment_pattern", "assignment_pattern"):
        yield from _pattern_names(pattern.child_by_field_name("left"), source)
    else:  # object_pattern, array_pattern, rest_pattern
        for child in pattern.named_children:
            yield from _pattern_names(child, source)


def type_only_names(root: Node, source: bytes) -> set[str]:
    """Top-level names that are types only: `export { T }` of them must export nothing."""
    types: set[str] = set()
    values: set[str] = set()
    for statement in root.named_children:
        target = statement
        if statement.type == "export_statement":
            target = statement.child_by_field_name("declaration") or statement
        if target.type in ("interface_declaration", "type_alias_declaration"):
            types.add(specifier_name(target.child_by_field_name("name"), source))
        elif target.type == "import_statement":
            types.update(_type_import_names(target, source))
        elif target.type in _DECLARATION_TYPES or target.type.endswith("declaration"):
            values.update(declared_names(target, source))
    return types - values


def _type_import_names(statement: Node, source: bytes) -> Iterator[str]:
    whole = any(c.type == "type" for c in statement.children)
    for clause in statement.named_children:
        if clause.type != "import_clause":
            continue
        for child in clause.named_children:
            if child.type == "identifier" and whole:
                yield specifier_name(child, source)
            for spec in child.named_children if child.type == "named_imports" else ():
                if whole or any(c.type == "type" for c in spec.children):
                    alias = spec.child_by_field_name("alias")
                    yield specifier_name(
                        alias if alias is not None else spec.child_by_field_name("name"), source
                    )


def specifier_name(node: Node | None, source: bytes) -> str:
    name = text(source, node)
    return name[1:-1] if node is not None and node.type == "string" else name


def _property(name: str) -> str:
    return f".{name}" if _IDENTIFIER.match(name) else f"[{json.dumps(name, ensure_ascii=False)}]"
