"""Plain JavaScript: accepted as written, and returned as the very same string when nothing changes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from flux_edge.runtime.codeforms import compile_source

MODERN_JAVASCRIPT = {
    "class fields and private members": """
class Counter {
  #count = 0;
  static instances = 0;
  static #secret = 1;
  get value() { return this.#count; }
  inc() { this.#count++; return #count in this; }
  static { Counter.instances = 0; }
}
""",
    "optional chaining and logical assignment": """
const cfg = {};
cfg.a ??= cfg?.b?.[0]?.(1) ?? 2;
cfg.b ||= 3; cfg.c &&= 4;
""",
    "regular expressions with slashes inside classes": """
const re = /[/\\]]+\\/(?<name>[a-z]+)/giu;
const half = 10 / 2 / 5;
const other = /=/.test("a=b") ? /a/ : /b/;
""",
    "nested template literals": """
const inner = (x) => `<${x}>`;
const s = `a ${`b ${inner(`c ${1 + 1}`)}`} d ${"}"}`;
""",
    "async functions, generators and iteration": """
async function* gen() { yield* [1, 2]; }
async function handler(req) {
  for await (const x of gen()) { console.log(x); }
  label: for (const [k, v] of Object.entries(req.params ?? {})) { if (!v) continue label; }
  return { status: 200, body: JSON.stringify([...new Set([1, 1n > 0n])]) };
}
""",
    "a hashbang and unicode": "#!/usr/bin/env node\nconst café = 'naïve 😀';\nvar ü\u2028= 1;\n",
    "a handler named like the reference": "function handler(req) {\n  return req.body;\n}\n",
    "a type-looking comparison in plain code": "const lt = 1 < 2, gt = 3 > 2, q = lt ? gt : !gt;\n",
}


@pytest.mark.parametrize("source", MODERN_JAVASCRIPT.values(), ids=MODERN_JAVASCRIPT.keys())
def test_plain_javascript_comes_back_as_the_same_string(source: str) -> None:
    assert compile_source(source) is source


def test_deno_serve_registrations_are_left_alone() -> None:
    source = "Deno.serve(async (req) => new Response('hi'));\n"
    assert compile_source(source) is source


def test_a_large_bundle_compiles_unchanged() -> None:
    chunk = "function f{n}(a) {{ return a?.b ?? `x${{a}}`; }}\n"
    source = "".join(chunk.format(n=n) for n in range(20_000))  # ~1 MiB: read in chunks
    assert compile_source(source) is source


def test_compiling_from_many_threads_at_once_gives_the_same_results() -> None:
    sources = [
        f"export const n{i}: number = {i};\ninterface I{i} {{ x: string }}\n" for i in range(40)
    ]
    expected = [compile_source(s) for s in sources]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(compile_source, sources * 3)) == expected * 3
