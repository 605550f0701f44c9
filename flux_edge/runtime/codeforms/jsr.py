"""JSR packages for deploys, through JSR's registry protocol (https://jsr.io/docs/api):
`/@scope/name/meta.json` lists the versions, `/@scope/name/<version>_meta.json` lists the
version's files with their sha256 checksums and its `exports`, and each file is served at
`/@scope/name/<version>/<path>`. Files are fetched one by one (a package has no tarball), checked
against the version's manifest and kept in the package cache, so later deploys need no network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import nodesemver

from flux_edge.runtime.codeforms.fetching import describe_failure, new_client
from flux_edge.runtime.types import CodeError

DEFAULT_JSR_URL: Final = "https://jsr.io"
# JSR names: a scope of 2-32 and a name of 2-20 lowercase letters, digits and hyphens.
_NAME: Final = re.compile(r"@[a-z0-9][a-z0-9-]{0,31}/[a-z0-9][a-z0-9-]{0,19}\Z")
_VERSION: Final = re.compile(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?\Z")
_MAX_FILE: Final = 20 * 1024 * 1024
# The registry answers an HTML page to an Accept header naming text/html (its docs say so).
_ACCEPT: Final = "application/json, application/javascript, text/plain, */*;q=0.1"
_PREFETCH_THREADS: Final = 8


class JsrError(CodeError):
    """A JSR package that cannot be resolved, fetched or verified."""


@dataclass(frozen=True)
class JsrPackage:
    """One resolved JSR package version: its manifest (path -> sha256 hex) and exports."""

    name: str  # "@scope/name"
    version: str
    integrity: str  # SRI sha256 of the version's _meta.json (which checksums every file)
    manifest: dict[str, str]
    exports: dict[str, str]
    # path -> the package files it imports statically (from the version's moduleGraph2)
    graph: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """`jsr:@scope/name@version`, the lockfile's key."""
        return f"jsr:{self.name}@{self.version}"


def split_jsr_specifier(text: str) -> tuple[str, str, str]:
    """`@scope/name@range/sub/path` (after `jsr:`) -> (name, range, "sub/path")."""
    body = text.lstrip("/")
    scope, _, rest = body.partition("/")
    name_part, _, subpath = rest.partition("/")
    name, _, version_range = name_part.partition("@")
    full = f"{scope}/{name}"
    if not _NAME.match(full):
        raise JsrError(f"'jsr:{text}' is not a valid JSR specifier (jsr:@scope/name@range/path)")
    return full, version_range, subpath


class JsrRegistry:
    """Resolves JSR packages against `url` (JSR's registry API), with `root/jsr/` as the cache."""

    def __init__(self, root: Path, url: str = DEFAULT_JSR_URL, ca_file: Path | None = None) -> None:
        self.root = root / "jsr"
        self.url = url.rstrip("/")
        self.ca_file = ca_file
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        """The registry's host name (what FLUX_EDGE_IMPORT_HOSTS must list to fetch from it)."""
        return httpx.URL(self.url).host

    def module_url(self, package: JsrPackage, path: str) -> str:
        """A package file's URL, as JSR serves it (and as import.meta.url and stacks name it)."""
        return f"{self.url}/{package.name}/{package.version}/{path.lstrip('/')}"

    def package_of(self, url: str) -> tuple[str, str, str] | None:
        """(name, version, path) of a module URL under this registry, or None."""
        if not url.startswith(self.url + "/@"):
            return None
        parts = url[len(self.url) + 1 :].split("/", 3)
        if len(parts) < 4 or not _VERSION.match(parts[2]) or not parts[3]:
            return None
        name = f"{parts[0]}/{parts[1]}"
        return (name, parts[2], parts[3]) if _NAME.match(name) else None

    def cached_versions(self, name: str) -> dict[str, Any] | None:
        """The cached meta.json of `name`, if an earlier deploy fetched it."""
        return _read_json(self.root / name / "meta.json")

    def resolve(self, name: str, version_range: str, *, online: bool) -> JsrPackage:
        """The best version of `name` for `version_range` (cache first; the registry if `online`)."""
        meta = self.cached_versions(name)
        version = pick_version(meta, version_range) if meta is not None else None
        if version is None:
            if not online:
                raise self._offline(f"jsr:{name}@{version_range or 'latest'}")
            meta = self._fetch_json(f"{name}/meta.json", f"jsr:{name}'s versions")
            _write(self.root / name / "meta.json", json.dumps(meta).encode())
            version = pick_version(meta, version_range)
        if version is None:
            raise JsrError(f"jsr:{name}@{version_range or 'latest'} matches no published version")
        return self.version(name, version, online=online)

    def version(self, name: str, version: str, *, online: bool) -> JsrPackage:
        """One exact version's manifest and exports (the cached _meta.json, else fetched)."""
        if not _VERSION.match(version):
            raise JsrError(f"jsr:{name}: {version!r} is not a version")
        path = self.root / name / f"{version}_meta.json"
        try:
            raw = path.read_bytes()
        except OSError:
            if not online:
                raise self._offline(f"jsr:{name}@{version}") from None
            raw = self._get(f"{name}/{version}_meta.json", f"jsr:{name}@{version}'s metadata")
            _write(path, raw)
        try:
            meta = json.loads(raw)
            manifest = {
                key.lstrip("/"): str(entry["checksum"])
                for key, entry in meta["manifest"].items()
                if _safe_path(key.lstrip("/"))  # the cache keeps files under these paths
            }
            exports = {str(k): str(v) for k, v in (meta.get("exports") or {}).items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise JsrError(f"jsr:{name}@{version}'s metadata is not valid") from None
        digest = base64.b64encode(hashlib.sha256(raw).digest()).decode()
        graph = _graph(meta.get("moduleGraph2"), manifest)
        return JsrPackage(name, version, f"sha256-{digest}", manifest, exports, graph)

    def entry(self, package: JsrPackage, subpath: str) -> str:
        """The file (a manifest path) `subpath` of the package means, through its exports."""
        key = "./" + subpath if subpath else "."
        target = package.exports.get(key)
        if target is None:
            listed = ", ".join(sorted(package.exports)) or "none"
            raise JsrError(
                f"jsr:{package.name}@{package.version} does not export {key!r} (exports: {listed})"
            )
        path = target.removeprefix("./")
        if path not in package.manifest:
            raise JsrError(f"jsr:{package.key[4:]} exports {target!r}, which it does not contain")
        return path

    def read(self, package: JsrPackage, path: str, *, online: bool) -> str:
        """A package file's source, checked against the version's manifest."""
        expected = package.manifest.get(path)
        if expected is None:
            raise JsrError(f"{path!r} is not a file of jsr:{package.name}@{package.version}")
        local = self.root / package.name / package.version / path
        try:
            data = local.read_bytes()
        except OSError:
            if not online:
                raise self._offline(f"jsr:{package.name}@{package.version}/{path}") from None
            if self._prefetch(package, path):
                return self.read(package, path, online=False)
            data = self._get(
                f"{package.name}/{package.version}/{path}",
                f"jsr:{package.name}@{package.version}/{path}",
            )
            _check(data, expected, f"jsr:{package.name}@{package.version}/{path}")
            _write(local, data)
            return data.decode("utf-8", errors="replace")
        _check(data, expected, f"jsr:{package.name}@{package.version}/{path} (cached)")
        return data.decode("utf-8", errors="replace")

    def _prefetch(self, package: JsrPackage, path: str) -> bool:
        """Fetch `path` and the package files it reaches (moduleGraph2) together rather than one
        round trip after another; True when `path` is now in the cache. A file that fails here
        is fetched again when needed, which reports the failure."""
        reachable, queue = {path}, [path]
        while queue:
            for target in package.graph.get(queue.pop(), ()):
                if target not in reachable:
                    reachable.add(target)
                    queue.append(target)
        folder = self.root / package.name / package.version
        missing = [p for p in sorted(reachable) if not (folder / p).is_file()]
        if len(missing) < 2:
            return False

        def fetch(file: str) -> None:
            what = f"jsr:{package.name}@{package.version}/{file}"
            data = self._get(f"{package.name}/{package.version}/{file}", what)
            _check(data, package.manifest[file], what)
            _write(folder / file, data)

        with ThreadPoolExecutor(min(_PREFETCH_THREADS, len(missing))) as pool:
            for future in [pool.submit(fetch, file) for file in missing]:
                future.exception()  # waited for; failures are reported by the fetch that needs it
        return (folder / path).is_file()

    def close(self) -> None:
        """Close the HTTP client (if one was opened)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _offline(self, what: str) -> JsrError:
        return JsrError(
            f"{what} is not in the package cache and the JSR registry's host {self.host!r} is "
            "not in FLUX_EDGE_IMPORT_HOSTS (ask the operator to allow it, or import from npm:)"
        )

    def _fetch_json(self, path: str, what: str) -> dict[str, Any]:
        try:
            value = json.loads(self._get(path, what))
        except ValueError:
            raise JsrError(f"{what}: the registry's answer is not JSON") from None
        if not isinstance(value, dict) or not isinstance(value.get("versions"), dict):
            raise JsrError(f"{what}: the registry's answer has no versions")
        return value

    def _get(self, path: str, what: str) -> bytes:
        with self._lock:
            if self._client is None:
                self._client = new_client(self.ca_file)
        url = f"{self.url}/{path}"
        try:
            response = self._client.get(url, headers={"Accept": _ACCEPT})
        except httpx.HTTPError as exc:
            raise JsrError(
                f"cannot fetch {what} from {self.url}: {describe_failure(exc)}"
            ) from None
        if response.status_code == 404:
            raise JsrError(f"{what}: not found in the JSR registry ({url})")
        if response.status_code != 200:
            raise JsrError(f"{what}: the JSR registry answered {response.status_code} ({url})")
        if len(response.content) > _MAX_FILE:
            raise JsrError(f"{what} is larger than 20 MiB")
        return response.content


def pick_version(meta: dict[str, Any], version_range: str) -> str | None:
    """The version a range means, as Deno picks it: `latest` for no range (when not yanked),
    else the highest non-yanked version in the range; a yanked version only when named exactly."""
    versions = meta.get("versions")
    if not isinstance(versions, dict):
        return None
    live = [
        v for v, info in versions.items() if not (isinstance(info, dict) and info.get("yanked"))
    ]
    wanted = version_range.strip()
    if not wanted or wanted == "latest":
        latest = meta.get("latest")
        if isinstance(latest, str) and latest in live:
            return latest
        wanted = "*"
    if wanted in versions:
        return wanted
    try:
        found = nodesemver.max_satisfying(live, wanted, loose=True)
    except (ValueError, TypeError):
        raise JsrError(f"{version_range!r} is not a valid version range") from None
    return str(found) if found else None


def _graph(module_graph: object, manifest: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """moduleGraph2 as path -> the package files it imports (relative specifiers only); {} when
    absent or malformed (it only saves round trips)."""
    graph: dict[str, tuple[str, ...]] = {}
    if not isinstance(module_graph, dict):
        return graph
    for key, info in module_graph.items():
        source = str(key).lstrip("/")
        dependencies = info.get("dependencies") if isinstance(info, dict) else None
        targets: list[str] = []
        for dependency in dependencies if isinstance(dependencies, list) else ():
            if not isinstance(dependency, dict):
                continue
            specifier = dependency.get("specifier", dependency.get("argument"))
            if isinstance(specifier, str) and specifier.startswith(("./", "../")):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(source), specifier))
                if target in manifest:
                    targets.append(target)
        graph[source] = tuple(targets)
    return graph


def _safe_path(path: str) -> bool:
    parts = path.split("/")
    return "\x00" not in path and "\\" not in path and all(p not in ("", ".", "..") for p in parts)


def _check(data: bytes, checksum: str, what: str) -> None:
    algorithm, _, expected = checksum.partition("-")
    if algorithm != "sha256":
        raise JsrError(f"{what}: unsupported checksum {checksum!r}")
    if hashlib.sha256(data).hexdigest() != expected.lower():
        raise JsrError(f"{what}: the file does not match its checksum in the version's manifest")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
