"""Where a specifier leads, at deploy time: the uploaded files, the import map, npm packages,
`node:` built-ins, built-in std shims, JSR packages, and URL imports within the operator's
allowed hosts.

Module URLs: an uploaded file `a/b.ts` is `file:///a/b.ts`; a file of an npm package is
`file:///node_modules/<name>@<version>/<path>`; a built-in is `node:<name>`; a file of a JSR
package is its registry URL, `https://jsr.io/@<scope>/<name>/<version>/<path>` (as in Deno).
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urljoin, urlsplit

from flux_edge.runtime.codeforms import packages as pkg
from flux_edge.runtime.codeforms.jsr import JsrError, JsrPackage, JsrRegistry, split_jsr_specifier
from flux_edge.runtime.codeforms.npm import Package, PackageCache, PackageError, split_npm_specifier
from flux_edge.runtime.codeforms.remote import RemoteModules
from flux_edge.runtime.codeforms.remote import integrity as remote_integrity
from flux_edge.runtime.types import CodeError

Kind = Literal["esm", "cjs", "json"]

BUILTINS_DIR: Final = Path(__file__).parent / "node"
JS_DIR: Final = Path(__file__).parent.parent / "js"
# Node built-ins we provide (as ES modules in ./node), and the names they answer to.
NODE_BUILTINS: Final = frozenset({"buffer", "events", "util", "crypto", "process"})
_ALL_NODE_MODULES: Final = frozenset(
    {
        *NODE_BUILTINS,
        "async_hooks", "child_process", "cluster", "console", "constants", "dgram", "diagnostics_channel",
        "dns", "domain", "fs", "fs/promises", "http", "http2", "https", "inspector", "module", "net",
        "os", "path", "perf_hooks", "punycode", "querystring", "readline", "repl", "stream",
        "stream/web", "string_decoder", "sys", "timers", "tls", "tty", "url", "v8", "vm", "wasi",
        "worker_threads", "zlib", "path/posix", "util/types", "timers/promises", "stream/promises",
    }
)  # fmt: skip
# Well-known Deno std modules whose API only wraps what the runtime has (docs/modules.md).
_STD_SHIMS: Final = {
    re.compile(r"https://deno\.land/std(@[^/]+)?/http/server\.ts\Z"): "std_http_server.js",
    re.compile(r"jsr:@std/http(@[^/]+)?/server\Z"): "std_http_server.js",
}
NPM_PREFIX: Final = "file:///node_modules/"
_JSR_SUFFIXES: Final = (".ts", ".js", ".mts", ".mjs", ".json", "/mod.ts", "/index.ts", "/index.js")
MAX_MODULES: Final = 5000


class ResolveError(CodeError):
    """A specifier that cannot be resolved (message names it and why)."""


@dataclass(frozen=True)
class Loaded:
    """A module's URL, kind and source."""

    url: str
    kind: Kind
    source: str


@dataclass
class ModuleResolver:
    """Resolves specifiers for one deploy. `files` are the uploaded files by relative path."""

    files: dict[str, str]
    cache: PackageCache | None = None
    remote: RemoteModules | None = None
    jsr: JsrRegistry | None = None
    import_map: dict[str, str] = field(default_factory=dict)
    package_json: dict[str, str] = field(default_factory=dict)
    packages: dict[str, Package] = field(default_factory=dict)  # by "name@version"
    urls: dict[str, str] = field(default_factory=dict)  # URL module -> its integrity
    jsr_packages: dict[str, JsrPackage] = field(default_factory=dict)  # by "jsr:@s/n@version"
    _by_root: dict[str, Package] = field(default_factory=dict)

    @classmethod
    def for_upload(cls, files: dict[str, str], entrypoint: str, **options: Any) -> ModuleResolver:
        """A resolver that honours the deno.json / import_map.json / package.json next to (or
        above) the entrypoint."""
        resolver = cls(files, **options)
        folder = posixpath.dirname(entrypoint)
        while True:
            for name in ("deno.json", "deno.jsonc", "import_map.json"):
                path = posixpath.join(folder, name) if folder else name
                if path in files and not resolver.import_map:
                    resolver.import_map = _imports_of(path, files[path], folder)
            path = posixpath.join(folder, "package.json") if folder else "package.json"
            if path in files and not resolver.package_json:
                resolver.package_json = _dependencies_of(path, files[path])
            if not folder:
                break
            folder = posixpath.dirname(folder)
        return resolver

    def resolve(self, specifier: str, referrer: str, *, require: bool = False) -> str:
        """The URL `specifier` means in the module at `referrer` (raises ResolveError)."""
        in_package = referrer.startswith(NPM_PREFIX)
        in_jsr = self._jsr_module(referrer) is not None
        if not in_package and not in_jsr and not referrer.startswith("node:"):
            specifier = self._mapped(specifier)
        for pattern, shim in _STD_SHIMS.items():
            if pattern.match(specifier):
                return "node:flux/" + shim
        if specifier.startswith("node:"):
            return _builtin(specifier[5:])
        if specifier.startswith("npm:"):
            return self._npm(specifier[4:], require=require)
        if specifier.startswith("jsr:"):
            return self._jsr(specifier)
        if referrer.startswith(("https://", "http://")) and specifier.startswith(
            ("./", "../", "/")
        ):
            specifier = urljoin(referrer, specifier)
        if specifier.startswith(("https://", "http://")):
            if self._jsr_module(specifier) is not None:
                return self._jsr_file(specifier)
            return self._remote(specifier)
        if in_jsr:  # published JSR code imports built-ins by bare name only
            if specifier in _ALL_NODE_MODULES:
                return _builtin(specifier)
            raise ResolveError(
                f"{specifier!r} in {referrer} is not a relative, jsr:, npm: or node: specifier"
            )
        if specifier.startswith(("./", "../", "/")) or specifier in (".", ".."):
            return self._relative(specifier, referrer, require=require)
        if in_package:
            bare = _bare_name(specifier)
            if bare in _ALL_NODE_MODULES or specifier in _ALL_NODE_MODULES:
                return _builtin(specifier)
            return self._from_package(specifier, referrer, require=require)
        name = _bare_name(specifier)
        if name in self.package_json:
            return self._npm(
                f"{name}@{self.package_json[name]}{specifier[len(name) :]}", require=require
            )
        raise ResolveError(
            f"bare specifier {specifier!r} is not mapped: import it as npm:{specifier}, or map it "
            'in deno.json/import_map.json "imports" or package.json "dependencies"'
        )

    def load(self, url: str) -> Loaded:
        """The kind and source of a resolved URL."""
        if url.startswith("node:"):
            name = url[5:]
            file = name[5:] if name.startswith("flux/") else name + ".js"
            return Loaded(url, "esm", builtin_source(file))
        if url.startswith(NPM_PREFIX):
            package, relative = self._package_of(url)
            source = (package.root / relative).read_text(encoding="utf-8", errors="replace")
            if relative.endswith(".json"):
                return Loaded(url, "json", source)
            esm = pkg.is_esm_file(package.root, relative, source)
            return Loaded(url, "esm" if esm else "cjs", source)
        found = self._jsr_module(url)
        if found is not None:
            name, version, path = found
            assert self.jsr is not None  # _jsr_module found it under the registry
            jsr_package = self.jsr_packages[f"jsr:{name}@{version}"]
            try:
                source = self.jsr.read(jsr_package, path, online=self._jsr_online())
            except JsrError as exc:
                raise ResolveError(exc.message) from None
            return Loaded(url, "json" if path.endswith(".json") else "esm", source)
        if url.startswith(("https://", "http://")):
            source = self._remote_source(url)
            return Loaded(url, "json" if url.endswith(".json") else "esm", source)
        path = url.removeprefix("file:///")
        source = self.files[path]
        kind: Kind = "json" if path.endswith(".json") else "esm"
        if path.endswith(".cjs"):
            kind = "cjs"
        return Loaded(url, kind, source)

    def _mapped(self, specifier: str) -> str:
        if specifier in self.import_map:
            return self.import_map[specifier]
        best = ""
        for key in self.import_map:
            if key.endswith("/") and specifier.startswith(key) and len(key) > len(best):
                best = key
        return self.import_map[best] + specifier[len(best) :] if best else specifier

    def _relative(self, specifier: str, referrer: str, *, require: bool) -> str:
        if referrer.startswith(NPM_PREFIX):
            package, relative = self._package_of(referrer)
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(relative), specifier))
            if joined.startswith(".."):
                raise ResolveError(f"{specifier!r} leaves package {package.key} (from {referrer})")
            found = pkg.probe(package.root, "" if joined == "." else joined)
            if found is None:
                raise ResolveError(f"module not found: {specifier!r} from {referrer}")
            return f"{NPM_PREFIX}{package.key}/{found}"
        if not referrer.startswith("file:///"):
            raise ResolveError(f"{specifier!r} cannot be resolved from {referrer}")
        base = posixpath.dirname(referrer.removeprefix("file:///"))
        if specifier.startswith("/"):
            joined = posixpath.normpath(specifier.lstrip("/"))
        else:
            joined = posixpath.normpath(posixpath.join(base, specifier))
        if joined.startswith("../") or joined == "..":
            raise ResolveError(f"{specifier!r} points outside the uploaded files")
        for candidate in (
            joined,
            *(joined + s for s in (".ts", ".js", ".mjs", ".json", "/index.ts", "/index.js")),
        ):
            if candidate in self.files:
                return "file:///" + candidate
        raise ResolveError(
            f"module not found: {specifier!r} ({joined} is not among the uploaded files)"
        )

    def _npm(self, text: str, *, require: bool) -> str:
        name, version_range, subpath = split_npm_specifier(text)
        package = self._package(name, version_range)
        try:
            relative = pkg.package_entry(package.root, subpath, require=require)
        except pkg.PackageResolutionError as exc:
            raise ResolveError(f"npm:{text}: {exc}") from None
        return f"{NPM_PREFIX}{package.key}/{relative}"

    def _package(self, name: str, version_range: str) -> Package:
        if self.cache is None:
            raise ResolveError(f"npm:{name}: npm packages are not available here")
        for package in self.packages.values():
            if package.name == name and _satisfies(package.version, version_range):
                return package
        try:
            package = self.cache.resolve(name, version_range)
        except PackageError as exc:
            raise ResolveError(exc.message) from None
        self.packages[package.key] = package
        self._by_root[package.key] = package
        return package

    def _from_package(self, specifier: str, referrer: str, *, require: bool) -> str:
        package, _ = self._package_of(referrer)
        name = _bare_name(specifier)
        subpath = specifier[len(name) :]
        if name == package.name:  # a package importing itself by name
            return self._npm(f"{name}@{package.version}{subpath}", require=require)
        version_range = package.dependencies.get(name)
        if version_range is None:
            known = next((p for p in self.packages.values() if p.name == name), None)
            if known is None:
                raise ResolveError(
                    f"package {package.key} imports {specifier!r}, which is not among its dependencies"
                )
            version_range = known.version
        if version_range.startswith("npm:"):  # an alias: "x": "npm:y@1"
            return self._npm(version_range[4:] + subpath, require=require)
        return self._npm(f"{name}@{version_range}{subpath}", require=require)

    def _package_of(self, url: str) -> tuple[Package, str]:
        rest = url.removeprefix(NPM_PREFIX)
        parts = rest.split("/")
        width = 2 if rest.startswith("@") else 1
        key = "/".join(parts[:width])
        return self._by_root[key], "/".join(parts[width:])

    def display(self, url: str) -> str:
        """How errors name a module of a JSR package: `jsr:@scope/name@version/path`."""
        found = self._jsr_module(url)
        return f"jsr:{found[0]}@{found[1]}/{found[2]}" if found is not None else url

    def _jsr_module(self, url: str) -> tuple[str, str, str] | None:
        return self.jsr.package_of(url) if self.jsr is not None else None

    def _jsr_online(self) -> bool:
        return (
            self.jsr is not None
            and self.remote is not None
            and self.remote.host_allowed(self.jsr.url)
        )

    def _jsr(self, specifier: str) -> str:
        """`jsr:@scope/name@range/subpath` -> the URL of the file the package exports for it."""
        if self.jsr is None:
            raise ResolveError(
                f"import of {specifier!r} refused: JSR packages are not available here"
            )
        try:
            name, version_range, subpath = split_jsr_specifier(specifier[4:])
            package = self._jsr_package(name, version_range)
            path = self.jsr.entry(package, subpath)
        except JsrError as exc:
            raise ResolveError(f"import of {specifier!r} refused: {exc.message}") from None
        return self.jsr.module_url(package, path)

    def _jsr_package(self, name: str, version_range: str) -> JsrPackage:
        assert self.jsr is not None
        for package in self.jsr_packages.values():  # one version per name where ranges allow
            if package.name == name and _satisfies(package.version, version_range):
                return package
        package = self.jsr.resolve(name, version_range, online=self._jsr_online())
        self.jsr_packages[package.key] = package
        return package

    def _jsr_file(self, url: str) -> str:
        """A URL inside the JSR registry (a package's relative import, or imported directly)."""
        assert self.jsr is not None
        name, version, path = self._jsr_module(url) or ("", "", "")
        key = f"jsr:{name}@{version}"
        try:
            package = self.jsr_packages.get(key) or self.jsr.version(
                name, version, online=self._jsr_online()
            )
        except JsrError as exc:
            raise ResolveError(f"import of {url!r} refused: {exc.message}") from None
        self.jsr_packages[key] = package
        base = posixpath.normpath(path)
        candidates = (base, *(base + s for s in _JSR_SUFFIXES))
        if base.endswith(".js"):  # sloppy imports: `./x.js` for x.ts
            candidates = (*candidates, base[:-3] + ".ts")
        for candidate in candidates:
            if candidate in package.manifest:
                return self.jsr.module_url(package, candidate)
        raise ResolveError(f"module not found: {path!r} is not a file of {key}")

    def _remote(self, specifier: str) -> str:
        if specifier in self.files:
            return specifier  # vendored: uploaded under its URL
        if self.remote is not None and (
            self.remote.host_allowed(specifier) or self.remote.cached(specifier) is not None
        ):
            return specifier
        host = urlsplit(specifier).hostname or ""
        raise ResolveError(
            f"import of {specifier!r} refused: the host {host!r} is not in FLUX_EDGE_IMPORT_HOSTS "
            "(upload the file with the function under its URL, import it from npm:, or ask the "
            "operator to allow the host)"
        )

    def _remote_source(self, url: str) -> str:
        if url in self.files:
            return self.files[url]
        assert self.remote is not None  # _remote let the URL through
        try:
            source = self.remote.fetch(url)
        except CodeError as exc:
            raise ResolveError(exc.message) from None
        self.urls[url] = remote_integrity(source)
        return source


@cache
def builtin_source(file: str) -> str:
    """A built-in module's source; node:crypto gets the runtime's SHA code over a private scope."""
    source = (BUILTINS_DIR / file).read_text(encoding="utf-8")
    if file == "crypto.js":
        sha = (JS_DIR / "web" / "sha.js").read_text(encoding="utf-8").rstrip()
        if not sha.endswith("})(globalThis);"):
            raise RuntimeError("web/sha.js no longer ends with its (globalThis) call")
        source = source.replace("/*__FLUX_SHA__*/", sha.removesuffix("(globalThis);") + "(sha);")
    return source


def _builtin(name: str) -> str:
    if name in NODE_BUILTINS:
        return f"node:{name}"
    provided = ", ".join(f"node:{b}" for b in sorted(NODE_BUILTINS))
    raise ResolveError(f"node:{name} is not available in flux-edge (provided: {provided})")


def _bare_name(specifier: str) -> str:
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


def _satisfies(version: str, version_range: str) -> bool:
    import nodesemver

    try:
        return bool(nodesemver.satisfies(version, version_range or "*", loose=True))
    except (ValueError, TypeError):
        return False


def _imports_of(path: str, text: str, folder: str) -> dict[str, str]:
    try:
        value = json.loads(_strip_json_comments(text))
    except ValueError as exc:
        raise ResolveError(f"{path} is not valid JSON: {exc}") from None
    imports = value.get("imports") if isinstance(value, dict) else None
    if not isinstance(imports, dict):
        return {}
    mapped: dict[str, str] = {}
    for key, target in imports.items():
        if not isinstance(target, str):
            raise ResolveError(f"{path}: imports[{key!r}] must be a string")
        if target.startswith(("./", "../")):  # relative to the map's own folder
            target = (
                "/"
                + posixpath.normpath(posixpath.join(folder, target))
                + ("/" if target.endswith("/") else "")
            )
        mapped[key] = target
    return mapped


def _dependencies_of(path: str, text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ResolveError(f"{path} is not valid JSON: {exc}") from None
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for section in ("peerDependencies", "optionalDependencies", "dependencies"):
            deps = value.get(section)
            if isinstance(deps, dict):
                found.update({k: v for k, v in deps.items() if isinstance(v, str)})
    return found


def _strip_json_comments(text: str) -> str:
    """deno.jsonc: drop // and /* */ comments outside strings."""
    return re.sub(
        r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.DOTALL
    )
