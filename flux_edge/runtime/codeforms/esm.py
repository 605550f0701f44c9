"""One ES module (JavaScript or TypeScript) to a module factory for the linker's registry.

The factory is a generator function whose first line carries the linking prologue: it defines the
module's exports as getters on its namespace (live bindings, and function declarations are hoisted
by the time the prologue runs), then `yield`s. The linker instantiates every module (runs it to that
`yield`) before evaluating any, which is what makes cycles behave as in ES. Lines stay where they
were; where a rewrite makes a line longer (a reference to an import becomes a namespace read), the
module's column map says by how much, and stack traces are corrected with it (loader.js).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from tree_sitter import Node

from flux_edge.runtime.codeforms.edits import Edit, Growth, apply, column_map
from flux_edge.runtime.codeforms.module_syntax import (
    DEFAULT_BINDING,
    declared_names,
    leading_declaration,
    only_types,
    specifier_name,
    type_only_names,
)
from flux_edge.runtime.codeforms.syntax import (
    TYPESCRIPT,
    captures,
    error_at,
    first_syntax_error,
    jsx_error,
    parse,
    query,
)
from flux_edge.runtime.codeforms.typescript import TYPES_QUERY, erase, is_type_only, type_edits

ESM_QUERY: Final = """
(program (import_statement) @import)
(import_alias) @import_alias
(program (export_statement) @export)
(call_expression function: (import) @dynamic_import)
(meta_property) @import_meta
(await_expression) @await
(for_in_statement "await") @await
(hash_bang_line) @hashbang
"""

_IDENTIFIER: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_FUNCTIONS: Final = frozenset(
    {
        "function_declaration",
        "function_expression",
        "generator_function_declaration",
        "generator_function",
        "arrow_function",
        "method_definition",
        "class_static_block",
    }
)
_SCOPES: Final = frozenset({*_FUNCTIONS, "statement_block", "for_statement", "for_in_statement"})
_PARAMETER_PARENTS: Final = frozenset(
    {"required_parameter", "optional_parameter", "formal_parameters", "rest_pattern"}
)
_PATTERNS: Final = frozenset(
    {"object_pattern", "array_pattern", "pair_pattern", "assignment_pattern", "rest_pattern"}
)

# A single specifier -> the position of the dependency in the module's list.
Resolve = Callable[[str, int], int]


@dataclass
class EsmModule:
    """A compiled ES module: factory source, dependency specifiers, star re-exports, whether it
    awaits at top level, and the specifiers of its dynamic imports (literal ones only)."""

    factory: str
    imports: list[tuple[str, int]] = field(default_factory=list)  # (specifier, byte offset)
    stars: list[int] = field(default_factory=list)  # positions in `imports`
    dynamic: list[tuple[str, int]] = field(default_factory=list)
    is_async: bool = False
    # line -> [generated column, growth, ...]: see edits.column_map
    columns: dict[int, list[int]] = field(default_factory=dict)


class _Module:
    """Collects a module's edits, getters and dependencies while its syntax is walked."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.edits: list[Edit] = []
        self.getters: list[tuple[str, str]] = []  # (export name, JS expression)
        self.bindings: dict[str, str] = {}  # imported local name -> expression replacing it
        self.namespaces: list[tuple[str, int]] = []  # `import * as x`: (x, dependency position)
        self.imports: list[tuple[str, int]] = []
        self.stars: list[int] = []

    def dependency(self, statement: Node) -> int:
        source = statement.child_by_field_name("source")
        specifier = specifier_name(source, self.data)
        for position, (known, _) in enumerate(self.imports):
            if known == specifier:
                return position
        self.imports.append((specifier, source.start_byte if source is not None else 0))
        return len(self.imports) - 1


def compile_module(source: str) -> EsmModule:
    """Compile one ES module's source to its factory (raises CodeError with line and column)."""
    try:
        data = source.encode("utf-8")
    except UnicodeEncodeError as exc:
        prefix = source[: exc.start].encode("utf-8", errors="surrogatepass")
        raise error_at(prefix, len(prefix), "the source contains an unpaired surrogate") from None
    tree = parse(data)
    root = tree.root_node
    if root.has_error:
        raise jsx_error(data) or first_syntax_error(data, tree)
    found = captures(TYPESCRIPT, TYPES_QUERY + ESM_QUERY, root)
    module = _Module(data)
    module.edits.extend(type_edits(found, data))
    for node in found.get("hashbang", []):
        module.edits.append(Edit(node.start_byte, node.end_byte))
    for node in found.get("import_alias", []):
        module.edits.append(
            Edit(node.start_byte, node.end_byte, reject="`import x = ...` is not supported")
        )
    for node in sorted(found.get("import", []), key=lambda n: n.start_byte):
        _import(node, module)
    exports = found.get("export", [])
    if exports:
        types = type_only_names(root, data)
        for node in sorted(exports, key=lambda n: n.start_byte):
            _export(node, module, types)
    dynamic: list[tuple[str, int]] = []
    for node in found.get("dynamic_import", []):
        module.edits.append(
            Edit(node.start_byte, node.end_byte, ((node.start_byte, "__flux_import"),))
        )
        call = node.parent
        arguments = call.child_by_field_name("arguments") if call is not None else None
        first = arguments.named_children[0] if arguments and arguments.named_children else None
        if first is not None and first.type == "string":
            dynamic.append((specifier_name(first, data), first.start_byte))
    for node in found.get("import_meta", []):
        if data[node.start_byte : node.end_byte] == b"import.meta":
            module.edits.append(
                Edit(node.start_byte, node.end_byte, ((node.start_byte, "__flux_meta"),))
            )
    is_async = any(_at_top_level(node) for node in found.get("await", []))
    if module.bindings:
        module.edits.extend(_reference_edits(root, module))
    growths: list[Growth] = []
    body = apply(data, module.edits, growths=growths)
    prologue = _prologue(module, is_async)
    return EsmModule(
        factory=prologue + body + "\n})",
        imports=module.imports,
        stars=module.stars,
        dynamic=dynamic,
        is_async=is_async,
        columns=column_map(data, growths, first_line=len(prologue)),
    )


def _prologue(module: _Module, is_async: bool) -> str:
    getters = ",".join(
        f"{json.dumps(name)}:()=>{expression}" for name, expression in module.getters
    )
    namespaces = "".join(
        f"const {local}=__flux_i[{position}];" for local, position in module.namespaces
    )
    kind = "async function*" if is_async else "function*"
    return (
        f'({kind}(__flux_e,__flux_i,__flux_meta,__flux_import){{"use strict";'
        f"__flux_e({{{getters}}});{namespaces}yield;"
    )


def _import(node: Node, module: _Module) -> None:
    data = module.data
    specifier = specifier_name(node.child_by_field_name("source"), data)
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if any(c.type == "import_require_clause" for c in node.named_children):
        module.edits.append(
            Edit(
                node.start_byte, node.end_byte, reject="`import x = require(...)` is not supported"
            )
        )
        return
    if (
        any(c.type == "type" for c in node.children)
        or specifier.endswith((".d.ts", ".d.mts", ".d.cts"))
        or (clause is not None and only_types(clause))
    ):
        module.edits.append(erase(node, statement=True))
        return
    position = module.dependency(node)
    module.edits.append(erase(node, statement=True))
    if clause is None:
        return  # `import "./x"`: evaluated for its effects
    namespace = f"__flux_i[{position}]"
    for child in clause.named_children:
        if child.type == "identifier":
            module.bindings[_text(data, child)] = namespace + ".default"
        elif child.type == "namespace_import":
            local_node = next(c for c in child.named_children if c.type == "identifier")
            module.namespaces.append((_text(data, local_node), position))
        elif child.type == "named_imports":
            for spec in child.named_children:
                if spec.type != "import_specifier" or any(t.type == "type" for t in spec.children):
                    continue
                name = specifier_name(spec.child_by_field_name("name"), data)
                alias = spec.child_by_field_name("alias")
                local = _text(data, alias) if alias is not None else name
                module.bindings[local] = namespace + _member(name)


def _export(node: Node, module: _Module, types: set[str]) -> None:
    data = module.data
    keyword = node.children[0]
    declaration = node.child_by_field_name("declaration")
    value = node.child_by_field_name("value")
    kinds = {c.type for c in node.children}
    if is_type_only(node):
        module.edits.append(erase(node, statement=True))
    elif "from" in kinds or node.child_by_field_name("source") is not None:
        position = module.dependency(node)
        module.edits.append(erase(node, statement=True))
        namespace = f"__flux_i[{position}]"
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        star_as = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if star_as is not None:
            name = specifier_name(star_as.named_children[0], data)
            module.getters.append((name, namespace))
        elif clause is None:
            module.stars.append(position)
        else:
            for spec in clause.named_children:
                if spec.type != "export_specifier" or any(c.type == "type" for c in spec.children):
                    continue
                name = specifier_name(spec.child_by_field_name("name"), data)
                alias = spec.child_by_field_name("alias")
                exported = specifier_name(alias, data) if alias is not None else name
                module.getters.append((exported, f"{namespace}[{json.dumps(name)}]"))
    elif "=" in kinds:
        module.edits.append(
            Edit(
                node.start_byte,
                node.end_byte,
                reject="`export =` is not supported: use `export default`",
            )
        )
    elif declaration is not None:
        module.edits.append(Edit(keyword.start_byte, declaration.start_byte))
        names = declared_names(declaration, data)
        if "default" in kinds:
            module.getters.extend(("default", name) for name in names[:1])
        else:
            module.getters.extend((name, name) for name in names)
    elif value is not None:
        prefix = f"let {DEFAULT_BINDING}="
        module.edits.append(
            Edit(keyword.start_byte, value.start_byte, ((keyword.start_byte, prefix),))
        )
        declared = leading_declaration(value)
        if declared is not None and (declared != value or ";" not in kinds):
            end = declared.end_byte
            module.edits.append(Edit(end, end, ((end, ";"),)))
        module.getters.append(("default", DEFAULT_BINDING))
    else:
        clause = next(c for c in node.named_children if c.type == "export_clause")
        module.edits.append(erase(node, statement=True))
        for spec in clause.named_children:
            if spec.type != "export_specifier" or any(c.type == "type" for c in spec.children):
                continue
            local = specifier_name(spec.child_by_field_name("name"), data)
            alias = spec.child_by_field_name("alias")
            exported = specifier_name(alias, data) if alias is not None else local
            if local in module.bindings:
                module.getters.append((exported, module.bindings[local]))
            elif local not in types:
                module.getters.append((exported, local))


_REFERENCES: Final = """
[(identifier) (shorthand_property_identifier) (shorthand_property_identifier_pattern)] @name
"""


def _reference_edits(root: Node, module: _Module) -> list[Edit]:
    """Replace each reference to an imported binding by its namespace property (live bindings),
    except where a nested declaration of the same name shadows it."""
    data = module.data
    names = module.bindings
    found = [
        node
        for node in captures(TYPESCRIPT, _REFERENCES, root).get("name", [])
        if _text(data, node) in names
    ]
    shadows: dict[str, list[tuple[int, int]]] = {}
    references: list[Node] = []
    for node in found:
        scope = _declaration_scope(node)
        if scope is None:
            references.append(node)
        elif scope.type != "program":
            shadows.setdefault(_text(data, node), []).append((scope.start_byte, scope.end_byte))
    edits: list[Edit] = []
    for node in references:
        name = _text(data, node)
        if any(start <= node.start_byte < end for start, end in shadows.get(name, ())):
            continue
        replacement = names[name]
        if node.type == "shorthand_property_identifier":
            replacement = f"{name}:{replacement}"
        edits.append(Edit(node.start_byte, node.end_byte, ((node.start_byte, replacement),)))
    return edits


def _declaration_scope(node: Node) -> Node | None:
    """The scope a binding occurrence declares its name in, or None for a reference."""
    parent = node.parent
    if parent is None:
        return None
    if node.type == "shorthand_property_identifier_pattern" or parent.type in _PATTERNS:
        while parent is not None and parent.type in _PATTERNS | {"object_pattern"}:
            parent = parent.parent
        if parent is None:
            return None
        node = parent  # the declarator or parameter holding the pattern
        parent = node.parent
        if parent is None:
            return None
    if parent.type == "variable_declarator" and parent.child_by_field_name("name") == node:
        declaration = parent.parent
        function_scoped = declaration is not None and declaration.type == "variable_declaration"
        return _enclosing(parent, _FUNCTIONS if function_scoped else _SCOPES)
    if parent.type in _PARAMETER_PARENTS or (
        parent.type == "arrow_function" and parent.child_by_field_name("parameter") == node
    ):
        return _enclosing(node, _FUNCTIONS)
    if parent.type == "variable_declarator" and node.type != "identifier":
        return _enclosing(parent, _SCOPES)
    if (
        parent.type in ("function_expression", "class")
        and parent.child_by_field_name("name") == node
    ):
        return parent
    if (
        parent.type
        in ("function_declaration", "generator_function_declaration", "class_declaration")
        and parent.child_by_field_name("name") == node
    ):
        return _enclosing(parent, _SCOPES)
    if parent.type == "for_in_statement" and parent.child_by_field_name("left") == node:
        declared = any(c.type in ("const", "let", "var") for c in parent.children)
        return parent if declared else None
    if parent.type == "catch_clause":
        return parent
    if parent.type in ("import_specifier", "namespace_import", "import_clause"):
        return parent  # the import statement itself: erased
    return None


def _enclosing(node: Node, kinds: frozenset[str]) -> Node:
    parent = node.parent
    while parent is not None and parent.type not in kinds:
        if parent.type == "program":
            return parent
        parent = parent.parent
    return parent if parent is not None else node


def _at_top_level(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _FUNCTIONS:
            return False
        parent = parent.parent
    return True


def _member(name: str) -> str:
    """`.name` where it is an identifier (shortest, so later columns shift least), else `["x"]`."""
    if _IDENTIFIER.match(name):
        return "." + name
    return f"[{json.dumps(name)}]"


def _text(data: bytes, node: Node) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8")


__all__ = ["ESM_QUERY", "EsmModule", "compile_module", "query"]
