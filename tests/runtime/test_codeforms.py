"""TypeScript erasure: compiled output runs in real V8 and keeps every line and column in place."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from py_mini_racer import JSEvalException, JSPromise, MiniRacer

from flux_edge.runtime.codeforms import compile_source


async def run(source: str, expression: str, *, same_widths: bool = True) -> Any:
    """Compile and evaluate `source` as the runtime would; return `expression` through JSON."""
    compiled = compile_source(source)
    assert_same_layout(source, compiled, same_widths=same_widths)
    mr = MiniRacer()
    try:
        await mr.eval_cancelable("var __flux_exports = {};")
        await mr.eval_cancelable(compiled)
        result = await mr.eval_cancelable(f"(async () => JSON.stringify(await ({expression})))()")
        if isinstance(result, JSPromise):
            result = await result
        return json.loads(result)
    finally:
        mr.close()


async def thrown_at(source: str, expression: str) -> str:
    """Compile and evaluate `source`, run `expression` (which must throw), return V8's report."""
    mr = MiniRacer()
    try:
        await mr.eval_cancelable("var __flux_exports = {};")
        await mr.eval_cancelable(compile_source(source))
        with pytest.raises(JSEvalException) as caught:
            await mr.eval_cancelable(expression)
        return str(caught.value)
    finally:
        mr.close()


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_same_layout(source: str, compiled: str, *, same_widths: bool = True) -> None:
    """Same number of lines and, except the last (which may carry the exports), same widths.

    Enums and parameter properties generate code, which may widen the lines it is written on.
    """
    src_lines = re.split(r"\r\n|[\n\r\u2028\u2029]", source)
    out_lines = re.split(r"\r\n|[\n\r\u2028\u2029]", compiled)
    assert len(out_lines) in (len(src_lines), len(src_lines) + 1)
    for number, (before, after) in enumerate(zip(src_lines[:-1], out_lines, strict=False), 1):
        if same_widths:
            assert utf16(before) == utf16(after), f"line {number}: {before!r} -> {after!r}"


def position_of(source: str, needle: str) -> tuple[int, int]:
    """1-based line and UTF-16 column of the first `needle` in `source`."""
    before = source[: source.index(needle)]
    line_start = before.rfind("\n") + 1
    return before.count("\n") + 1, utf16(before[line_start:]) + 1


async def test_interfaces_and_type_aliases_are_erased() -> None:
    source = """
interface Req { url: string; params?: Record<string, string> }
type Res = { status: number; body: string };
function handler(req: Req): Res {
  return { status: 200, body: req.url };
}
"""
    assert await run(source, "handler({url: '/a'})") == {"status": 200, "body": "/a"}


async def test_generics_on_functions_calls_classes_and_arrows_are_erased() -> None:
    source = """
class Box<T extends object = {}> {
  constructor(value: T) { this.value = value; }
  map<U>(f: (t: T) => U): Box<U> { return new Box<U>(f(this.value)); }
}
const id = <T,>(x: T): T => x;
function first<A, B>(pair: [A, B]): A { return pair[0]; }
function handler() {
  const box = new Box<{n: number}>({n: 2});
  return box.map<number>((b) => id<number>(b.n) * first<number, string>([3, "x"])).value;
}
"""
    assert await run(source, "handler()") == 6


async def test_as_satisfies_non_null_and_angle_assertions_are_erased() -> None:
    source = """
type Cfg = { name?: string };
function handler(input: unknown) {
  const cfg = input as Cfg satisfies Cfg;
  const name = cfg.name!.toUpperCase();
  const len = (<string>name).length;
  return `${name}:${len}:${(cfg as any)!.name as const}`;
}
"""
    assert await run(source, "handler({name: 'ab'})") == "AB:2:ab"


async def test_optional_parameters_this_parameters_and_predicates_are_erased() -> None:
    source = """
function isString(x: unknown): x is string { return typeof x === "string"; }
function check(value: unknown): asserts value is number { if (typeof value !== "number") throw 0; }
function greet(this: { greeting: string }, who?: string, times: number = 1): string {
  return (this.greeting + " " + (who ?? "nobody")).repeat(times);
}
function handler(a?: number) {
  check(1);
  const hi = greet.call({ greeting: "hi" });
  return [isString("s"), hi, greet.call({ greeting: "yo" }, "me", 2), a];
}
"""
    assert await run(source, "handler()") == [True, "hi nobody", "yo meyo me", None]


async def test_class_only_syntax_is_erased() -> None:
    source = """
interface Named { name(): string }
abstract class Base implements Named {
  [key: string]: unknown;
  private readonly secret!: number;
  declare tag: string;
  protected static count?: number;
  public abstract name(): string;
  abstract kind: string;
  describe(): string;
  describe(prefix?: string): string { return (prefix ?? "") + this.name(); }
}
class Impl extends Base {
  override name(): string { return "impl"; }
  get hasTag(): boolean { return "tag" in this; }
}
function handler() { const i = new Impl(); return [i.describe(">"), i.hasTag, "kind" in i]; }
"""
    assert await run(source, "handler()") == [">impl", False, False]


async def test_function_overloads_are_erased() -> None:
    source = """
function pad(x: number): string;
function pad(x: string): string;
function pad(x: number | string): string { return String(x).padStart(3, "0"); }
function handler() { return pad(7); }
"""
    assert await run(source, "handler()") == "007"


async def test_parameter_properties_become_assignments() -> None:
    source = """
class Point {
  constructor(public x: number, private readonly y: number = 2) {}
  sum() { return this.x + this.y; }
}
class Point3 extends Point {
  constructor(x: number, protected z?: number) {
    super(x);
  }
  all() { return [this.x, this.sum(), this.z]; }
}
function handler() { return new Point3(1, 5).all(); }
"""
    assert await run(source, "handler()", same_widths=False) == [1, 3, 5]


async def test_parameter_properties_survive_an_erased_statement_right_after_the_brace() -> None:
    source = (
        "class P { constructor(private a: number) {type T = number; } get() { return this.a; } }\n"
    )
    assert await run(source, "new P(4).get()", same_widths=False) == 4


async def test_enums_compile_like_tsc() -> None:
    source = """
enum Color { Red, Green = 5, Blue }
const enum Dir {
  Up = "UP",
  Down = "DOWN",
}
enum Signed { Neg = -2, Next, Hex = 0x10, After }
function handler() {
  return [Color.Blue, Color[5], Dir.Down, Signed.Next, Signed.After, Signed[-2]];
}
"""
    assert await run(source, "handler()", same_widths=False) == [6, "Green", "DOWN", -1, 17, "Neg"]


async def test_type_only_imports_and_declarations_are_dropped() -> None:
    source = """
import type { Req } from "./types";
import { type A, type B as C } from "./more";
import type Default from "./default";
import "./globals.d.ts";
import { Thing } from "./thing.d.ts";
declare const injected: number;
declare function helper(): void;
declare module "virtual" { import x from "y"; export const z: number; }
declare global { interface Window { extra: string } }
namespace Types { export type Id = string; export interface Row { id: Id } }
function handler(req: Req) { return typeof injected; }
"""
    assert await run(source, "handler({})") == "undefined"


async def test_arrow_return_type_spanning_lines_keeps_the_arrow_valid() -> None:
    source = """
const handler = (n: number): {
  doubled: number;
} => ({ doubled: n * 2 });
"""
    assert await run(source, "handler(4)") == {"doubled": 8}


async def test_erased_statement_keeps_the_previous_statement_terminated() -> None:
    source = """
let value = 1
interface Marker {}
(function () { value = 2; })()
class K { a = 1
  declare b: string
  ['c'] = 3 }
function handler() { return [value, new K().c]; }
"""
    assert await run(source, "handler()") == [2, 3]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "interface A {\n  x: number;\n}\nfunction handler(a: A): never {\n"
            "  throw new Error('x');\n}\n",
            id="after-an-interface",
        ),
        pytest.param(
            "class C<T> {\n  private readonly v: T;\n  constructor(public w: T) { this.v = w; }\n"
            "  go<U>(u?: U): void { const z = u as unknown as string; throw new Error('x'); }\n}\n"
            "function handler() { new C<number>(1).go<string>(); }\n",
            id="in-a-method-with-modifiers",
        ),
        pytest.param(
            "enum E {\n  A,\n  B = 3,\n}\nconst handler = (x?: number): void => {"
            " const y: E = E.B; throw new Error('x'); };\n",
            id="after-an-enum",
        ),
        pytest.param(
            "type T = string;\nexport default function (): T {\n  const x = 1 satisfies number; "
            "throw new Error('x');\n}\nfunction handler() { __flux_exports.default(); }\n",
            id="in-a-default-export",
        ),
    ],
)
async def test_thrown_errors_report_the_typescript_line_and_column(source: str) -> None:
    line, column = position_of(source, "new Error")
    report = await thrown_at(source, "handler()")
    assert f"<anonymous>:{line}:{column}" in report


async def test_non_ascii_text_before_a_stripped_type_keeps_columns() -> None:
    source = (
        'const é: string = "日本語"; const ü = (n: number): number => { throw new Error("x"); };\n'
        "function handler() { ü(1); }\n"
    )
    compiled = compile_source(source)
    assert compiled.splitlines()[0].index("throw") == source.splitlines()[0].index("throw")
    line, column = position_of(source, "new Error")
    assert f"<anonymous>:{line}:{column}" in await thrown_at(source, "handler()")


async def test_astral_characters_inside_a_stripped_type_keep_v8_columns() -> None:
    source = 'let s: "😀" | "🎉" = "😀"; function handler(): void { throw new Error(s); }\n'
    line, column = position_of(source, "new Error")
    assert column == source.index("new Error") + 1 + 3  # three astral characters before it
    assert f"<anonymous>:{line}:{column}" in await thrown_at(source, "handler()")


def test_windows_line_endings_survive_erasure() -> None:
    source = "interface A {\r\n  x: number\r\n}\r\nconst a: A = { x: 1 };\r\n"
    compiled = compile_source(source)
    assert compiled.count("\r\n") == source.count("\r\n")
    assert_same_layout(source, compiled)
