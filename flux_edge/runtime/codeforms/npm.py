"""npm packages for deploys: version ranges resolved against a registry, tarballs checked against
their integrity hashes and kept in a cache directory, so later deploys work without the network.

Only deploys use this (in a worker thread); a call never fetches anything: the linked script holds
every file a version needs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import nodesemver

from flux_edge.runtime.codeforms.fetching import describe_failure, new_client
from flux_edge.runtime.types import CodeError

DEFAULT_REGISTRY: Final = "https://registry.npmjs.org"
_NAME: Final = re.compile(r"(?:@[a-z0-9][\w.-]*/)?[a-z0-9_][\w.-]*\Z", re.IGNORECASE)
_ACCEPT: Final = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"
_MAX_TARBALL: Final = 64 * 1024 * 1024


class PackageError(CodeError):
    """A package that cannot be resolved, fetched or verified."""


@dataclass(frozen=True)
class Package:
    """One resolved package version, unpacked in the cache."""

    name: str
    version: str
    integrity: str
    root: Path
    dependencies: dict[str, str]

    @property
    def key(self) -> str:
        """`name@version`, the lockfile's key."""
        return f"{self.name}@{self.version}"


def split_npm_specifier(specifier: str) -> tuple[str, str, str]:
    """`name@range/sub/path` (after `npm:`) -> (name, range, "sub/path"); range "" means latest."""
    text = specifier.lstrip("/")
    if text.startswith("@"):
        scope, _, rest = text.partition("/")
        name_part, _, subpath = rest.partition("/")
        name_part = scope + "/" + name_part
    else:
        name_part, _, subpath = text.partition("/")
    at = name_part.find("@", 1)
    name, version_range = (name_part, "") if at < 0 else (name_part[:at], name_part[at + 1 :])
    if not _NAME.match(name):
        raise PackageError(f"{specifier!r} is not a valid npm package specifier")
    return name, version_range, subpath


class PackageCache:
    """Resolves and unpacks npm packages through a registry, with `root` as the on-disk cache.

    Metadata is read from the cache first: a range the cached metadata satisfies needs no network
    (that is what makes warm and offline deploys fast); otherwise the registry is asked.
    """

    def __init__(
        self, root: Path, registry: str = DEFAULT_REGISTRY, ca_file: Path | None = None
    ) -> None:
        self.root = root
        self.registry = registry.rstrip("/")
        self.ca_file = ca_file
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._metadata: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        """Close the HTTP client (if one was opened)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def resolve(self, name: str, version_range: str) -> Package:
        """The highest version of `name` that satisfies `version_range`, unpacked."""
        metadata = self._read_metadata(name)
        version = _pick(metadata, version_range) if metadata else None
        if metadata is None or version is None:
            metadata = self._fetch_metadata(name)
            version = _pick(metadata, version_range)
        if version is None:
            raise PackageError(
                f"npm:{name}@{version_range or 'latest'} matches no published version"
            )
        return self.unpack(name, version, metadata["versions"][version])

    def unpack(self, name: str, version: str, info: dict[str, Any]) -> Package:
        """The package from the cache, or downloaded, verified and unpacked into it."""
        folder = self._folder(name, version)
        manifest = _read_json(folder / ".flux-package.json")
        if manifest is not None:
            return Package(
                name, version, manifest["integrity"], folder / "package", manifest["dependencies"]
            )
        dist = info.get("dist") or {}
        integrity = dist.get("integrity") or _sha1_integrity(dist.get("shasum"))
        tarball = dist.get("tarball")
        if not integrity or not tarball:
            raise PackageError(f"npm:{name}@{version} has no tarball or integrity in the registry")
        data = self._get(tarball, f"npm:{name}@{version}'s tarball").content
        if len(data) > _MAX_TARBALL:
            raise PackageError(f"npm:{name}@{version}'s tarball is larger than 64 MiB")
        _verify(data, integrity, f"npm:{name}@{version}")
        dependencies = {
            **(info.get("peerDependencies") or {}),
            **(info.get("optionalDependencies") or {}),
            **(info.get("dependencies") or {}),
        }
        with self._lock:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".unpack-"))
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                _extract(archive, staging / "package")
            manifest = {"integrity": integrity, "dependencies": dependencies}
            (staging / ".flux-package.json").write_text(json.dumps(manifest), encoding="utf-8")
            with contextlib.suppress(OSError):  # another deploy unpacked it first
                os.replace(staging, folder)
        return Package(name, version, integrity, folder / "package", dependencies)

    def _folder(self, name: str, version: str) -> Path:
        return self.root / "npm" / "packages" / f"{name.replace('/', '+')}@{version}"

    def _metadata_path(self, name: str) -> Path:
        return self.root / "npm" / "metadata" / f"{name.replace('/', '+')}.json"

    def _read_metadata(self, name: str) -> dict[str, Any] | None:
        if name in self._metadata:
            return self._metadata[name]
        found = _read_json(self._metadata_path(name))
        if found is not None:
            self._metadata[name] = found
        return found

    def _fetch_metadata(self, name: str) -> dict[str, Any]:
        url = f"{self.registry}/{urllib.parse.quote(name, safe='@')}"
        response = self._get(url, f"npm:{name}'s metadata", accept=_ACCEPT)
        metadata = response.json()
        if not isinstance(metadata, dict) or not isinstance(metadata.get("versions"), dict):
            raise PackageError(f"the registry's answer for npm:{name} has no versions")
        path = self._metadata_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(metadata), encoding="utf-8")
        os.replace(temporary, path)
        self._metadata[name] = metadata
        return metadata

    def _get(self, url: str, what: str, accept: str | None = None) -> httpx.Response:
        if self._client is None:
            self._client = new_client(self.ca_file)
        headers = {"Accept": accept} if accept else {}
        try:
            response = self._client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise PackageError(
                f"cannot fetch {what} from {self.registry} ({describe_failure(exc)}) and the "
                "package cache does not have it"
            ) from None
        if response.status_code == 404:
            raise PackageError(f"{what}: not found in the registry ({url})")
        if response.status_code != 200:
            raise PackageError(f"{what}: the registry answered {response.status_code} ({url})")
        return response


def _pick(metadata: dict[str, Any], version_range: str) -> str | None:
    versions = metadata.get("versions") or {}
    tags = metadata.get("dist-tags") or {}
    wanted = version_range.strip() or "latest"
    if wanted in tags:
        return str(tags[wanted]) if tags[wanted] in versions else None
    if wanted in versions:
        return wanted
    latest = tags.get("latest")
    try:
        if latest in versions and nodesemver.satisfies(latest, wanted, loose=True):
            return str(latest)
        found = nodesemver.max_satisfying(list(versions), wanted, loose=True)
    except (ValueError, TypeError):
        raise PackageError(f"{version_range!r} is not a valid version range") from None
    return str(found) if found else None


def _sha1_integrity(shasum: object) -> str | None:
    if not isinstance(shasum, str):
        return None
    return "sha1-" + base64.b64encode(bytes.fromhex(shasum)).decode()


def _verify(data: bytes, integrity: str, what: str) -> None:
    """Check `data` against an SRI string (the strongest algorithm listed must match)."""
    candidates: list[tuple[int, str, str]] = []
    rank = {"sha1": 1, "sha256": 2, "sha384": 3, "sha512": 4}
    for item in integrity.split():
        algorithm, _, digest = item.partition("-")
        if algorithm in rank:
            candidates.append((rank[algorithm], algorithm, digest.split("?")[0]))
    if not candidates:
        raise PackageError(f"{what}: unsupported integrity {integrity!r}")
    _, algorithm, digest = max(candidates)
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != digest:
        raise PackageError(f"{what}: the tarball does not match its integrity hash ({algorithm})")


def _extract(archive: tarfile.TarFile, destination: Path) -> None:
    """Unpack regular files, dropping the tarball's first path component (usually `package/`)."""
    destination.mkdir(parents=True)
    for member in archive.getmembers():
        if not member.isfile():
            continue
        parts = [p for p in member.name.replace("\\", "/").split("/")[1:] if p not in ("", ".")]
        if not parts or ".." in parts:
            continue
        target = destination.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        if source is not None:
            target.write_bytes(source.read())


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
