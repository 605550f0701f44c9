"""What compile_source refuses, and that it says where (1-based line, UTF-16 column)."""

from __future__ import annotations

import pytest

from flux_edge.runtime.codeforms import compile_source
from flux_edge.runtime.types import CodeError


def error_of(source: str) -> CodeError:
    with pytest.raises(CodeError) as caught:
        compile_source(source)
    return caught.value


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ('const a = 1;\n\nimport x from "./x";\n', 3, 1),
        ('import { a, type B } from "./a";\n', 1, 1),
        ('import * as ns from "./ns";\n', 1, 1),
        ('import "./side-effect";\n', 1, 1),
        ('import {} from "./empty";\n', 1, 1),
        ('async function handler() {\n  const m = await import("./m");\n}\n', 2, 19),
    ],
)
def test_imports_are_rejected_at_their_position(source: str, line: int, column: int) -> None:
    error = error_of(source)
    assert "imports are not supported yet" in error.message
    assert (error.line, error.column) == (line, column)


@pytest.mark.parametrize(
    ("source", "words", "line"),
    [
        ('export * from "./all";\n', "export ... from", 1),
        ('\nexport { a as b } from "./a";\n', "export ... from", 2),
        ('export * as ns from "./ns";\n', "export ... from", 1),
        ("const x = 1;\nexport = x;\n", "export =", 2),
        ('import fs = require("fs");\n', "require", 1),
        ("namespace N { export const x = 1; }\nimport A = N.x;\n", "namespaces", 1),
        ("function f() {\n  return import.meta.url;\n}\n", "import.meta", 2),
    ],
)
def test_other_module_forms_are_rejected_by_name(source: str, words: str, line: int) -> None:
    error = error_of(source)
    assert words in error.message
    assert error.line == line


def test_top_level_await_is_rejected() -> None:
    error = error_of("const a = 1;\nconst b = await fetch('x');\n")
    assert "top-level await" in error.message
    assert (error.line, error.column) == (2, 11)


def test_top_level_for_await_is_rejected() -> None:
    error = error_of("\n\nfor await (const x of xs) {}\n")
    assert "top-level await" in error.message
    assert error.line == 3


def test_await_inside_functions_is_accepted() -> None:
    source = "const f = async () => { await 1; };\nclass A { async m() { for await (const x of y) {} } }\n"
    assert compile_source(source) is source


def test_jsx_is_rejected_as_jsx() -> None:
    error = error_of("function handler() {\n  return <div className='x'>hi</div>;\n}\n")
    assert "JSX is not supported" in error.message
    assert (error.line, error.column) == (2, 10)


def test_decorators_are_rejected_with_their_line() -> None:
    error = error_of("function log(t: any) {}\n\n@log\nclass A {}\n")
    assert "decorators are not supported" in error.message
    assert error.line == 3


def test_namespaces_with_values_are_rejected() -> None:
    error = error_of("const a = 1;\nnamespace Util {\n  export const two = 2;\n}\n")
    assert "namespaces with values" in error.message
    assert error.line == 2


def test_enum_members_with_computed_values_are_rejected() -> None:
    error = error_of("enum Flags {\n  A = 1,\n  B = A << 1,\n}\n")
    assert "enum member" in error.message
    assert "B" in error.message
    assert error.line == 3


def test_syntax_errors_report_line_and_column() -> None:
    error = error_of("function handler() {\n  return 1 +;\n}\n")
    assert error.message.startswith("syntax error")
    assert error.line == 2
    assert error.column is not None


def test_a_missing_closing_parenthesis_is_a_syntax_error() -> None:
    error = error_of("const a = 1;\nconsole.log((a);\n")
    assert error.message.startswith("syntax error")
    assert error.line == 2


def test_syntax_error_columns_count_utf16_units() -> None:
    error = error_of('const s = "😀"; let = = 2;\n')
    assert error.line == 1
    assert error.column is not None
    assert error.column >= 17  # the emoji counts as two columns, as in V8


def test_an_unpaired_surrogate_is_rejected_with_its_position() -> None:
    error = error_of('const a = 1;\nconst s = "\ud800";\n')
    assert "unpaired surrogate" in error.message
    assert (error.line, error.column) == (2, 12)


def test_the_position_is_given_apart_from_the_message() -> None:
    error = error_of('\nimport x from "./x";\n')
    assert (error.line, error.column) == (2, 1)
    assert "line" not in error.message
