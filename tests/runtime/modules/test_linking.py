"""Multi-file functions: ES module semantics across the uploaded files, in one script."""

from __future__ import annotations

import pytest

from flux_edge.runtime import Runtime
from flux_edge.runtime.types import CodeError
from tests.runtime.modules.conftest import Run, link_files

CORS = """export const corsHeaders: Record<string, string> = {
  "access-control-allow-origin": "*",
};
"""


async def test_a_function_imports_a_shared_file_from_a_sibling_folder(run: Run) -> None:
    files = {
        "hello/index.ts": (
            'import { corsHeaders } from "../_shared/cors.ts";\n'
            "export default (req: Request): Response =>\n"
            "  Response.json({ headers: corsHeaders });\n"
        ),
        "_shared/cors.ts": CORS,
    }
    body = await run(files, "hello/index.ts")
    assert body == {"headers": {"access-control-allow-origin": "*"}}


async def test_json_modules_are_imported_with_the_type_attribute(run: Run) -> None:
    files = {
        "index.ts": (
            'import config from "./config.json" with { type: "json" };\n'
            "export default () => Response.json(config);\n"
        ),
        "config.json": '{"plans": ["free", "pro"], "limit": 3}',
    }
    assert await run(files) == {"plans": ["free", "pro"], "limit": 3}


async def test_re_exports_and_export_star_reach_the_importer(run: Run) -> None:
    files = {
        "index.ts": (
            'import { add, times, version, helpers } from "./lib/index.ts";\n'
            'import * as all from "./lib/index.ts";\n'
            "export default () => Response.json({\n"
            "  sum: add(2, 3), product: times(2, 3), version,\n"
            "  nested: helpers.add(1, 1), keys: Object.keys(all).sort(),\n"
            "});\n"
        ),
        "lib/index.ts": (
            'export * from "./math.ts";\n'
            'export { default as version } from "./version.ts";\n'
            'export * as helpers from "./math.ts";\n'
        ),
        "lib/math.ts": (
            "export function add(a: number, b: number): number { return a + b; }\n"
            "export const times = (a: number, b: number): number => a * b;\n"
            "export default 'not re-exported by export *';\n"
        ),
        "lib/version.ts": 'export default "1.2.3";\n',
    }
    assert await run(files) == {
        "sum": 5,
        "product": 6,
        "version": "1.2.3",
        "nested": 2,
        "keys": ["add", "helpers", "times", "version"],
    }


async def test_a_cycle_sees_hoisted_functions_and_live_bindings(run: Run) -> None:
    files = {
        "index.ts": (
            'import { isEven, evenCalls } from "./even.ts";\n'
            'import { seenAtLoad } from "./odd.ts";\n'
            "export default () => Response.json({\n"
            "  ten: isEven(10), seven: isEven(7), calls: evenCalls, seenAtLoad,\n"
            "});\n"
        ),
        "even.ts": (
            'import { isOdd } from "./odd.ts";\n'
            "export let evenCalls = 0;\n"
            "export function isEven(n: number): boolean {\n"
            "  evenCalls++;\n"
            "  return n === 0 ? true : isOdd(n - 1);\n"
            "}\n"
        ),
        "odd.ts": (
            'import { isEven } from "./even.ts";\n'
            "export function isOdd(n: number): boolean {\n"
            "  return n === 0 ? false : isEven(n - 1);\n"
            "}\n"
            "// even.ts has not run yet, but its function declarations are hoisted\n"
            "export const seenAtLoad = typeof isEven;\n"
        ),
    }
    body = await run(files)
    assert body == {"ten": True, "seven": False, "calls": 10, "seenAtLoad": "function"}


async def test_a_binding_read_before_its_module_ran_is_in_its_temporal_dead_zone(
    runtime: Runtime,
) -> None:
    files = {
        "index.ts": 'import { early } from "./a.ts";\nexport default () => Response.json(early);\n',
        "a.ts": 'import { late } from "./b.ts";\nexport const early = 1;\nexport const also = late;\n',
        "b.ts": 'import { early } from "./a.ts";\nexport const late = early;\n',
    }
    # The read happens in a.ts's export getter (its first line), as b.ts's stack frame shows.
    with pytest.raises(CodeError, match="Cannot access 'early' before initialization") as caught:
        await runtime.check(link_files(files))
    assert caught.value.file == "a.ts"


async def test_import_meta_names_the_module_and_whether_it_is_the_entry(run: Run) -> None:
    files = {
        "fn/index.ts": (
            'import { where } from "./lib/where.ts";\n'
            "export default () => Response.json({\n"
            "  url: import.meta.url, main: import.meta.main, lib: where,\n"
            "  resolved: import.meta.resolve('./lib/where.ts'),\n"
            "});\n"
        ),
        "fn/lib/where.ts": "export const where = [import.meta.url, import.meta.main];\n",
    }
    assert await run(files, "fn/index.ts") == {
        "url": "file:///fn/index.ts",
        "main": True,
        "lib": ["file:///fn/lib/where.ts", False],
        "resolved": "file:///fn/lib/where.ts",
    }


async def test_top_level_await_and_dynamic_import_of_own_modules(run: Run) -> None:
    files = {
        "index.ts": (
            'const { greeting } = await import("./greeting.ts");\n'
            "const ready: string = await Promise.resolve('ready');\n"
            "export default async () => {\n"
            '  const later = await import("./later.ts");\n'
            "  return Response.json({ greeting, ready, later: later.default });\n"
            "};\n"
        ),
        "greeting.ts": "export const greeting = 'hello';\n",
        "later.ts": "export default 42;\n",
    }
    assert await run(files) == {"greeting": "hello", "ready": "ready", "later": 42}


async def test_typescript_is_erased_in_every_module(run: Run) -> None:
    files = {
        "index.ts": (
            'import type { Shape } from "./shapes.ts";\n'
            'import { area, Kind } from "./shapes.ts";\n'
            "const square: Shape = { kind: Kind.Square, size: 3 };\n"
            "export default (): Response => Response.json({ area: area(square), kind: Kind[0] });\n"
        ),
        "shapes.ts": (
            "export enum Kind { Square, Circle }\n"
            "export interface Shape { kind: Kind; size: number }\n"
            "export function area(shape: Shape): number {\n"
            "  return shape.kind === Kind.Square ? shape.size ** 2 : Math.PI * shape.size ** 2;\n"
            "}\n"
        ),
    }
    assert await run(files) == {"area": 9, "kind": "Square"}


async def test_a_local_declaration_shadows_an_imported_name(run: Run) -> None:
    files = {
        "index.ts": (
            'import { value } from "./value.ts";\n'
            "function inner(value: number) { return value * 2; }\n"
            "const obj = { value };\n"
            "export default () => {\n"
            "  const out = [inner(5), obj.value];\n"
            "  { const value = 'shadowed'; out.push(value); }\n"
            "  for (const value of [7]) out.push(value);\n"
            "  return Response.json([...out, value]);\n"
            "};\n"
        ),
        "value.ts": "export const value = 1;\n",
    }
    assert await run(files) == [10, 1, "shadowed", 7, 1]


async def test_a_thrown_error_names_the_file_and_line_in_its_stack(run: Run) -> None:
    files = {
        "index.ts": 'import { fail } from "./lib/fail.ts";\nexport default () => fail();\n',
        "lib/fail.ts": "export function fail(): never {\n  throw new Error('kaput');\n}\n",
    }
    result = await run(files, raw=True)
    assert result.status_code == 500
    assert "file:///lib/fail.ts:2:9" in (result.error_stack or "")


@pytest.mark.parametrize(
    ("files", "file", "line", "column", "message"),
    [
        (
            {"index.ts": 'export default 1;\n\nimport x from "./missing.ts";\n'},
            "index.ts", 3, 15, "module not found: './missing.ts'",
        ),
        (
            {"index.ts": 'import "./bad.ts";\n', "bad.ts": "const a = 1;\nlet b = (;\n"},
            "bad.ts", 2, 7, "syntax error",
        ),
        (
            {"index.ts": 'import "./bad.json" with { type: "json" };\n', "bad.json": "{nope"},
            "bad.json", None, None, "invalid JSON",
        ),
        (
            {"index.ts": 'import x from "../outside.ts";\n'},
            "index.ts", 1, 15, "points outside the uploaded files",
        ),
    ],
)  # fmt: skip
def test_link_errors_name_the_file_line_and_column(
    files: dict[str, str], file: str, line: int | None, column: int | None, message: str
) -> None:
    with pytest.raises(CodeError) as caught:
        link_files(files)
    assert caught.value.file == file
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message in caught.value.message


async def test_an_error_thrown_while_a_module_loads_names_the_module(runtime: Runtime) -> None:
    files = {
        "index.ts": 'import "./boot.ts";\nexport default () => 1;\n',
        "boot.ts": "const settings = null as any;\n\nsettings.read();\n",
    }
    with pytest.raises(CodeError) as caught:
        await runtime.check(link_files(files))
    assert (caught.value.file, caught.value.line, caught.value.column) == ("boot.ts", 3, 10)


async def test_top_level_await_on_host_work_delays_calls_until_it_settles(run: Run) -> None:
    files = {
        "index.ts": (
            "const key = await crypto.subtle.generateKey(\n"
            "  { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);\n"
            "export default async () => {\n"
            "  const data = new TextEncoder().encode('signed');\n"
            "  const algorithm = { name: 'ECDSA', hash: 'SHA-256' };\n"
            "  const signature = await crypto.subtle.sign(algorithm, key.privateKey, data);\n"
            "  const valid = await crypto.subtle.verify(algorithm, key.publicKey, signature, data);\n"
            "  return Response.json({ valid });\n"
            "};\n"
        ),
    }
    assert await run(files) == {"valid": True}


async def test_a_graph_with_top_level_await_and_no_handler_is_refused(runtime: Runtime) -> None:
    files = {"index.ts": "await Promise.resolve();\nexport const notAHandler = 1;\n"}
    with pytest.raises(CodeError, match="no handler found"):
        await runtime.check(link_files(files))


async def test_commonjs_modules_require_json_each_other_and_see_global(run: Run) -> None:
    files = {
        "index.ts": (
            'import counter, { label } from "./counter.cjs";\n'
            "export default () => Response.json({ count: counter.next(), label,"
            " sameGlobal: counter.sameGlobal, hex: counter.hex });\n"
        ),
        "counter.cjs": (
            "const config = require('./config.json');\n"
            "const { start } = require('./start.cjs');\n"
            "let n = start;\n"
            "exports.next = () => ++n;\n"
            "exports.label = config.label;\n"
            "exports.sameGlobal = global === globalThis && this === module.exports;\n"
            "exports.hex = Buffer.from('ok').toString('hex');\n"
        ),
        "start.cjs": "module.exports = { start: 40 };\n",
        "config.json": '{"label": "from json"}',
    }
    assert await run(files) == {
        "count": 41,
        "label": "from json",
        "sameGlobal": True,
        "hex": "6f6b",
    }


async def test_an_error_in_a_commonjs_module_names_the_file_and_line(runtime: Runtime) -> None:
    files = {
        "index.ts": 'import "./broken.cjs";\nexport default () => 1;\n',
        "broken.cjs": "'use strict';\nconst x = undefined;\nmodule.exports = x.y;\n",
    }
    with pytest.raises(CodeError) as caught:
        await runtime.check(link_files(files))
    assert (caught.value.file, caught.value.line, caught.value.column) == ("broken.cjs", 3, 20)


def test_a_linked_function_over_twenty_mib_is_refused() -> None:
    chunk = "export const s = '" + "x" * (3 * 1024 * 1024) + "';\n"
    files = {f"m{n}.ts": chunk for n in range(7)}
    files["index.ts"] = "".join(f'import "./m{n}.ts";\n' for n in range(7)) + "export default 1;\n"
    with pytest.raises(CodeError, match="over the 20 MiB limit"):
        link_files(files)
