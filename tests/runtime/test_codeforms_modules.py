"""Module syntax in the script form: exports land on `__flux_exports`, lines stay put."""

from __future__ import annotations

import json
from typing import Any

import pytest
from py_mini_racer import JSEvalException, JSPromise, MiniRacer

from flux_edge.runtime.codeforms import compile_source


async def exports_of(source: str, expression: str = "__flux_exports") -> Any:
    """Evaluate the compiled `source` in V8; return `expression` through JSON (functions named)."""
    compiled = compile_source(source)
    assert len(compiled.splitlines()) <= len(source.splitlines()) + 1
    mr = MiniRacer()
    try:
        await mr.eval_cancelable("var __flux_exports = {};")
        await mr.eval_cancelable(compiled)
        replacer = "(k, v) => typeof v === 'function' ? 'function ' + v.name : v"
        result = await mr.eval_cancelable(
            f"(async () => JSON.stringify(await ({expression}), {replacer}))()"
        )
        if isinstance(result, JSPromise):
            result = await result
        return json.loads(result)
    finally:
        mr.close()


async def test_export_default_named_function_is_the_default_export() -> None:
    source = "const early = handler.name;\nexport default function handler() { return 1; }\n"
    assert await exports_of(source) == {"default": "function handler"}
    assert await exports_of(source, "early") == "handler"  # still a hoisted declaration


async def test_export_default_anonymous_function_does_not_swallow_the_next_line() -> None:
    source = (
        "export default async function (req) { return req; }\n(() => { globalThis.ran = 1; })()\n"
    )
    assert await exports_of(source, "[typeof __flux_exports.default, globalThis.ran]") == [
        "function",
        1,
    ]


async def test_export_default_object_with_fetch_is_the_default_export() -> None:
    source = "export default {\n  async fetch(request) { return 'ok'; },\n};\n"
    assert await exports_of(source, "__flux_exports.default.fetch()") == "ok"


async def test_export_default_expression_keeps_its_column() -> None:
    source = "export default (n: number) => { throw new Error('x'); };\n"
    compiled = compile_source(source)
    assert compiled.index("(n") == source.index("(n")
    assert compiled.index("throw") == source.index("throw")


async def test_export_async_function_handler_is_the_handler_export() -> None:
    source = "export async function handler(req: { url: string }) {\n  return req.url;\n}\n"
    assert await exports_of(source, "__flux_exports.handler({url: 'u'})") == "u"


async def test_exported_variables_and_destructured_names_are_exported() -> None:
    source = (
        "const o = { b: 2, c: [3], d: 4, e: 5 };\n"
        "export const handler = () => 'h', a = 1;\n"
        "export let { b, c: [c1], ...rest } = o;\n"
    )
    assert await exports_of(source) == {
        "handler": "function handler",
        "a": 1,
        "b": 2,
        "c1": 3,
        "rest": {"d": 4, "e": 5},
    }


async def test_export_clause_exports_values_with_their_aliases() -> None:
    source = (
        "function handler() { return 1; }\nconst x = 2;\ninterface Shape { a: number }\n"
        'export { handler as default, x, x as "odd name", Shape, type Shape as S2 };\n'
    )
    assert await exports_of(source) == {"default": "function handler", "x": 2, "odd name": 2}


async def test_exported_classes_and_enums_are_exported() -> None:
    source = "export class Store { get() { return 1; } }\nexport enum Kind { A, B }\n"
    assert await exports_of(
        source, "[new __flux_exports.Store().get(), __flux_exports.Kind.B]"
    ) == [
        1,
        1,
    ]


async def test_type_exports_are_dropped() -> None:
    source = (
        "export interface Req { url: string }\nexport type Id = string;\n"
        "export type { Req as R };\nexport declare const injected: number;\n"
        "export default interface Ignored {}\nexport function handler() {}\n"
    )
    assert await exports_of(source) == {"handler": "function handler"}


def test_export_assignments_go_on_the_last_line() -> None:
    source = "export function handler() {\n  return 1;\n}"
    compiled = compile_source(source)
    assert compiled.splitlines()[:2] == ["       function handler() {", "  return 1;"]
    assert compiled.splitlines()[2] == "};__flux_exports.handler = handler;"


def test_export_assignments_after_a_trailing_line_comment_start_a_new_line() -> None:
    source = "export function handler() {}\n// the end"
    compiled = compile_source(source)
    assert compiled.endswith("// the end\n;__flux_exports.handler = handler;")


async def test_export_lines_report_their_own_line_numbers() -> None:
    source = "export const a = 1;\nexport function handler(): void {\n  throw new Error('x');\n}\n"
    mr = MiniRacer()
    try:
        await mr.eval_cancelable("var __flux_exports = {};")
        await mr.eval_cancelable(compile_source(source))
        with pytest.raises(JSEvalException) as caught:
            await mr.eval_cancelable("__flux_exports.handler()")
        assert "<anonymous>:3:9" in str(caught.value)
    finally:
        mr.close()


async def test_a_default_export_checked_with_satisfies_is_the_object() -> None:
    source = (
        "interface Env { KEY: string }\n"
        "export default {\n  fetch(req: Request, env: Env) { return 'ok'; },\n"
        "} satisfies ExportedHandler<Env>;\n"
    )
    assert await exports_of(source, "__flux_exports.default.fetch()") == "ok"


def test_export_default_followed_by_a_line_break_stays_valid() -> None:
    compiled = compile_source("export default\n  { a: 1 };\n")
    assert compiled.startswith("let __flux_d=")
    assert compiled.splitlines()[1] == "  { a: 1 };"
