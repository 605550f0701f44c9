"""Which file of an unpacked npm package a specifier means: `exports` conditions, `module`/`main`,
and Node's file and directory probing."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any, Final

# The conditions we match in `exports`, for import and for require. Which one wins is decided by
# the order of the package's own keys, as in Node.
IMPORT_CONDITIONS: Final = frozenset({"deno", "worker", "browser", "import", "module", "default"})
REQUIRE_CONDITIONS: Final = frozenset({"deno", "worker", "browser", "require", "default"})
_PROBE_SUFFIXES: Final = ("", ".js", ".mjs", ".cjs", ".json", ".ts", ".mts")
_INDEXES: Final = ("index.js", "index.mjs", "index.cjs", "index.json", "index.ts")
_ESM_SYNTAX: Final = re.compile(
    r"^[ \t]*(?:export[ \t]*(?:\{|\*|default\b|const\b|let\b|var\b|function\b|class\b|async\b)"
    r"|import[ \t]*(?:[\w$]+[ \t]*(?:,|from\b)|\{|\*|['\"]))",
    re.MULTILINE,
)


class PackageResolutionError(Exception):
    """The package has no file for the subpath (with the reason)."""


def read_manifest(root: Path) -> dict[str, Any]:
    """The package's package.json ({} when missing or broken)."""
    try:
        value = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def package_entry(root: Path, subpath: str, *, require: bool) -> str:
    """The path (relative to `root`) of the file `subpath` ("" for the package itself) means."""
    manifest = read_manifest(root)
    conditions = REQUIRE_CONDITIONS if require else IMPORT_CONDITIONS
    exports = manifest.get("exports")
    key = "./" + subpath if subpath else "."
    if exports is not None:
        if isinstance(exports, (str, list)) or (
            isinstance(exports, dict) and not any(k.startswith(".") for k in exports)
        ):
            exports = {".": exports}
        target = _match_exports(exports, key, conditions)
        if target is None:
            raise PackageResolutionError(
                f"package {manifest.get('name', root.name)!r} does not export {key!r}"
            )
        found = probe(root, target.removeprefix("./"))
        if found is None:
            raise PackageResolutionError(f"{target!r} is exported but missing from the package")
        return found
    if subpath:
        found = probe(root, subpath)
    else:
        main = manifest.get("module") if not require else None
        browser = manifest.get("browser")
        candidates = [main, browser if isinstance(browser, str) else None, manifest.get("main")]
        found = None
        for candidate in candidates:
            if isinstance(candidate, str) and (found := probe(root, candidate)) is not None:
                break
        if found is None:
            found = probe(root, "")
    if found is None:
        raise PackageResolutionError(f"no file for {key!r} in package {manifest.get('name')!r}")
    return found


def probe(root: Path, relative: str) -> str | None:
    """Node's lookup: the file, the file with an extension, or the directory's main or index."""
    clean = str(PurePosixPath(relative.removeprefix("./"))) if relative else ""
    clean = "" if clean == "." else clean
    for suffix in _PROBE_SUFFIXES:
        if clean and (root / (clean + suffix)).is_file():
            return clean + suffix
    directory = root / clean if clean else root
    if directory.is_dir():
        if clean:
            inner = read_manifest(directory)
            main = inner.get("main") if (directory / "package.json").is_file() else None
            if isinstance(main, str):
                found = probe(directory, main)
                if found is not None:
                    return f"{clean}/{found}"
        for index in _INDEXES:
            if (directory / index).is_file():
                return f"{clean}/{index}" if clean else index
    return None


def is_esm_file(root: Path, relative: str, source: str) -> bool:
    """Whether a package file is an ES module: by extension, `type`, then by its syntax."""
    if relative.endswith((".mjs", ".mts", ".ts")):
        return True
    if relative.endswith(".cjs"):
        return False
    package_type = _nearest_type(root, relative)
    if package_type == "module":
        return True
    return bool(_ESM_SYNTAX.search(source))


def _nearest_type(root: Path, relative: str) -> str | None:
    folder = (root / relative).parent
    while True:
        manifest = folder / "package.json"
        if manifest.is_file():
            found = read_manifest(folder).get("type")
            if isinstance(found, str):
                return found
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _match_exports(exports: dict[str, Any], key: str, conditions: frozenset[str]) -> str | None:
    if key in exports:
        return _target(exports[key], conditions, "")
    best: tuple[int, str, str] | None = None
    for pattern in exports:
        star = pattern.find("*")
        if star < 0:
            if pattern.endswith("/") and key.startswith(pattern):  # deprecated folder mapping
                candidate = (len(pattern), pattern, key[len(pattern) :])
            else:
                continue
        else:
            prefix, suffix = pattern[:star], pattern[star + 1 :]
            if not (
                key.startswith(prefix) and key.endswith(suffix) and len(key) >= len(pattern) - 1
            ):
                continue
            candidate = (len(prefix), pattern, key[len(prefix) : len(key) - len(suffix)])
        if best is None or candidate[0] > best[0]:
            best = candidate
    if best is None:
        return None
    _, pattern, match = best
    target = _target(exports[pattern], conditions, match)
    if target is not None and pattern.endswith("/") and "*" not in pattern:
        return target + match
    return target


def _target(value: Any, conditions: frozenset[str], match: str) -> str | None:
    if isinstance(value, str):
        return value.replace("*", match) if match else value
    if isinstance(value, list):
        for item in value:
            found = _target(item, conditions, match)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for condition, inner in value.items():
            if condition in conditions:
                found = _target(inner, conditions, match)
                if found is not None:
                    return found
    return None
