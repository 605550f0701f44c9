"""The module linker: a function's modules (its files, npm packages, built-ins) into one script.

Starting at the entrypoint, every static import, `require` and literal dynamic `import()` is
resolved at deploy time; each module is compiled to a factory (esm.py, commonjs.py) and the whole
graph is written as one call of loader.js's registry. Nothing is fetched when the script runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from flux_edge.runtime.codeforms.commonjs import PROLOGUE as COMMONJS_PROLOGUE
from flux_edge.runtime.codeforms.commonjs import compile_commonjs
from flux_edge.runtime.codeforms.esm import compile_module
from flux_edge.runtime.codeforms.resolver import (
    MAX_MODULES,
    NPM_PREFIX,
    Loaded,
    ModuleResolver,
    ResolveError,
)
from flux_edge.runtime.codeforms.syntax import error_at
from flux_edge.runtime.types import CodeError

_LOADER: Final = Path(__file__).parent / "loader.js"
# The stored script (the function's modules and packages) may not grow past this.
MAX_SCRIPT_BYTES: Final = 20 * 1024 * 1024
# The table entry loader.js reads to hand a CommonJS module Node's global `Buffer`.
GLOBAL_BUFFER: Final = "\u0000Buffer"


@dataclass
class LinkedFunction:
    """The linked script and what went into it."""

    script: str
    # "name@version" (npm), "jsr:@scope/name@version" (JSR) or the URL (URL imports) ->
    # integrity: the version's lockfile.
    packages: dict[str, str] = field(default_factory=dict)
    modules: int = 0


@cache
def _loader_source() -> str:
    return _LOADER.read_text(encoding="utf-8")


def display_name(url: str) -> str:
    """How errors name a module: its uploaded path, `npm:name@version/path`, or `node:name`."""
    if url.startswith(NPM_PREFIX):
        return "npm:" + url.removeprefix(NPM_PREFIX)
    return url.removeprefix("file:///")


def link(resolver: ModuleResolver, entrypoint: str) -> LinkedFunction:
    """Link the modules reachable from `entrypoint` (a path among the resolver's files).

    Raises CodeError (with `file`, `line` and `column` where the problem is in a file).
    """
    entry_url = "file:///" + entrypoint
    if entrypoint not in resolver.files:
        raise CodeError(f"the entrypoint {entrypoint!r} is not among the files")
    index: dict[str, int] = {entry_url: 0}
    records: list[list[Any] | None] = [None]
    pending = [entry_url]
    # Where each module was first imported: a module that cannot be loaded (a fetch that fails)
    # is reported at that import.
    origins: dict[str, tuple[str, bytes, int]] = {}

    def number(url: str, origin: tuple[str, bytes, int] | None = None) -> int:
        if url not in index:
            if len(index) >= MAX_MODULES:
                raise CodeError(f"the function imports more than {MAX_MODULES} modules")
            index[url] = len(records)
            records.append(None)
            pending.append(url)
            if origin is not None:
                origins[url] = origin
        return index[url]

    while pending:
        url = pending.pop()
        try:
            loaded = resolver.load(url)
        except ResolveError as exc:
            if url not in origins:
                raise
            file, data, offset = origins[url]
            raise _with_file(_located(exc, data, offset), file) from None
        records[index[url]] = _record(loaded, resolver, number)
    packages = {key: package.integrity for key, package in sorted(resolver.packages.items())}
    packages.update(sorted(resolver.urls.items()))
    packages.update(sorted((k, p.integrity) for k, p in resolver.jsr_packages.items()))
    payload = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
    script = f"{_loader_source()}({payload},0);\n"
    size = len(script.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SCRIPT_BYTES:
        raise CodeError(
            f"the linked function is {size / 2**20:.1f} MiB with its {len(records)} modules, over "
            f"the {MAX_SCRIPT_BYTES // 2**20} MiB limit"
        )
    return LinkedFunction(script=script, packages=packages, modules=len(records))


def _record(loaded: Loaded, resolver: ModuleResolver, number: Any) -> list[Any]:
    url, source = loaded.url, loaded.source
    data = source.encode("utf-8", errors="surrogatepass")
    in_package = url.startswith(NPM_PREFIX)
    try:
        if loaded.kind == "json":
            try:
                json.loads(source)
            except ValueError as exc:
                raise CodeError(f"invalid JSON: {exc.args[0]}") from None
            return [url, "json", source, [], {}, [], False, None]
        if loaded.kind == "cjs":
            cjs = compile_commonjs(source)
            table: dict[str, int] = {}
            for specifier, offset, unconditional in cjs.requires:
                try:
                    table[specifier] = number(
                        resolver.resolve(specifier, url, require=True),
                        (resolver.display(url), data, offset),
                    )
                except ResolveError as exc:
                    if unconditional:
                        raise _located(exc, data, offset) from None
            if cjs.uses_buffer:
                table[GLOBAL_BUFFER] = number(resolver.resolve("node:buffer", url))
            columns = {1: [1, len(COMMONJS_PROLOGUE)]}  # Node's wrapper, on line 1
            return [url, "cjs", cjs.factory, [], table, [], False, columns]
        esm = compile_module(source)
    except CodeError as exc:
        raise _with_file(exc, resolver.display(url)) from None
    deps: list[int] = []
    table = {}
    for specifier, offset in esm.imports:
        try:
            target = number(resolver.resolve(specifier, url), (resolver.display(url), data, offset))
        except ResolveError as exc:
            raise _with_file(_located(exc, data, offset), resolver.display(url)) from None
        deps.append(target)
        table[specifier] = target
    for specifier, offset in esm.dynamic:
        if specifier in table:
            continue
        try:
            table[specifier] = number(
                resolver.resolve(specifier, url), (resolver.display(url), data, offset)
            )
        except ResolveError as exc:
            if not in_package:  # a package may import optional things it never reaches here
                raise _with_file(_located(exc, data, offset), resolver.display(url)) from None
    return [url, "esm", esm.factory, deps, table, esm.stars, esm.is_async, esm.columns or None]


def _located(exc: CodeError, data: bytes, offset: int) -> CodeError:
    return error_at(data, offset, exc.message)


def _with_file(exc: CodeError, url: str) -> CodeError:
    if exc.file is None:
        exc.file = display_name(url)
    return exc
