"""Errors point at the user's own line and column after the linker rewrote the module: a
reference to an import becomes a longer namespace read, and each module's prologue shares its
first line, yet stack traces and load errors report columns as they are in the file."""

from __future__ import annotations

import re

import pytest

from flux_edge.runtime import Runtime
from flux_edge.runtime.types import CodeError
from tests.runtime.modules.conftest import Run, link_files

SHARED = {
    "lib.ts": (
        "export const settings: any = { region: 'eu' };\n"
        "export let count = 0;\n"
        "export function bump() { count++; }\n"
    ),
}


def _column(line: str, marker: str) -> int:
    """The 1-based UTF-16 column of `marker` in `line` (what V8 counts)."""
    prefix = line[: line.index(marker)]
    return len(prefix.encode("utf-16-le")) // 2 + 1


def _frame(stack: str, url: str) -> tuple[int, int]:
    found = re.search(rf"{re.escape(url)}:(\d+):(\d+)", stack)
    assert found is not None, stack
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize(
    "line",
    [
        # several imported bindings, one aliased, before the failing read
        "bump(); const r = settings.region + cfg.region + String(count); settings.missing.deep;",
        # a shorthand property and a dynamic import() (both rewritten longer)
        "const o = { settings, count }; void import('./lib.ts'); o.settings.missing.deep;",
        # characters outside ASCII and the BMP before it: V8 counts UTF-16 units
        "const s = 'é😀' + settings.region + count; settings.missing.deep;",
    ],
)
async def test_a_thrown_error_reports_the_column_in_the_file(run: Run, line: str) -> None:
    files = SHARED | {
        "index.ts": (
            'import { settings, count, bump, settings as cfg } from "./lib.ts";\n'
            "export default () => {\n"
            f"  {line}\n"
            "};\n"
        ),
    }
    result = await run(files, raw=True)
    assert result.status_code == 500
    expected = _column("  " + line, "deep")
    assert _frame(result.error_stack or "", "file:///index.ts") == (3, expected)


async def test_an_error_on_a_modules_first_line_ignores_the_prologue(run: Run) -> None:
    files = SHARED | {
        "index.ts": ('import { fail } from "./fail.ts";\nexport default () => fail();\n'),
        "fail.ts": "export const fail = () => { throw new Error('first line'); };\n",
    }
    result = await run(files, raw=True)
    stack = result.error_stack or ""
    line = "export const fail = () => { throw new Error('first line'); };"
    assert _frame(stack, "file:///fail.ts") == (1, _column(line, "new Error"))
    assert _frame(stack, "file:///index.ts") == (2, _column("export default () => fail();", "fail"))


async def test_a_commonjs_modules_first_line_ignores_the_wrapper(run: Run) -> None:
    files = {
        "index.ts": 'import lib from "./lib.cjs";\nexport default () => lib.go();\n',
        "lib.cjs": "exports.go = () => { throw new TypeError('cjs'); };\n",
    }
    result = await run(files, raw=True)
    line = "exports.go = () => { throw new TypeError('cjs'); };"
    assert _frame(result.error_stack or "", "file:///lib.cjs") == (1, _column(line, "new Type"))


async def test_an_error_while_loading_reports_the_column_in_the_file(runtime: Runtime) -> None:
    line = "settings.loaded = true; bump(); settings.table.read();"
    files = SHARED | {
        "index.ts": 'import "./boot.ts";\nexport default () => 1;\n',
        "boot.ts": f'import {{ settings, bump }} from "./lib.ts";\n\n{line}\n',
    }
    with pytest.raises(CodeError) as caught:
        await runtime.check(link_files(files))
    error = caught.value
    assert (error.file, error.line, error.column) == ("boot.ts", 3, _column(line, "read"))


async def test_a_functions_own_prepare_stack_trace_still_wins(run: Run) -> None:
    files = SHARED | {
        "index.ts": (
            'import { settings } from "./lib.ts";\n'
            "export default () => {\n"
            "  Error.prepareStackTrace = (error, sites) => sites.map((s) => s.getLineNumber());\n"
            "  const lines = new Error(settings.region).stack;\n"
            "  return Response.json(lines);\n"
            "};\n"
        ),
    }
    lines = await run(files)
    assert lines[0] == 4


async def test_a_reference_on_a_modules_first_line_is_located(runtime: Runtime) -> None:
    first = 'import { settings } from "./lib.ts"; const v = settings.region; settings.missing.deep;'
    files = SHARED | {
        "index.ts": 'import "./boot.ts";\nexport default () => 1;\n',
        "boot.ts": first,
    }
    with pytest.raises(CodeError) as caught:
        await runtime.check(link_files(files))
    error = caught.value
    assert (error.file, error.line, error.column) == ("boot.ts", 1, _column(first, "deep"))


async def test_columns_hold_with_crlf_line_ends(run: Run) -> None:
    line = "export default () => { settings.region; settings.missing.deep; };"
    files = SHARED | {"index.ts": f'import {{ settings }} from "./lib.ts";\r\n\r\n{line}\r\n'}
    result = await run(files, raw=True)
    assert _frame(result.error_stack or "", "file:///index.ts") == (3, _column(line, "deep"))
