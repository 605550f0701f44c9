"""`flux-edge functions deploy PATH`: upload a function folder (Supabase layout) or one file.

The server links the files and resolves their packages (with its cache and registry), so a deploy
from any machine gives the same result. This module has no CLI framework in it: `cli.py` parses
the arguments and calls `plan_deploys` and `deploy`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
from dotenv import dotenv_values

from flux_edge.client.api import ApiClient, error_text
from flux_edge.client.config import ClientError

SOURCE_SUFFIXES: Final = (".ts", ".mts", ".js", ".mjs", ".cjs", ".json", ".jsonc")
# A cold package cache can make the server link for a while.
DEPLOY_TIMEOUT_SECONDS: Final = 120.0
MAP_FILES: Final = ("deno.json", "deno.jsonc", "import_map.json", "package.json")
ENTRYPOINTS: Final = ("index.ts", "index.js", "index.mjs", "main.ts", "main.js")
_SKIPPED_DIRS: Final = frozenset({"node_modules", ".git", "tests", "test", "__tests__"})
# `"npm:zod@3"` or `'jsr:@std/path'` in a source file or an import map's values.
_PACKAGE_SPECIFIER: Final = re.compile(r"""["'](npm:|jsr:)([^"'\s]+)["']""")


class DeployError(ClientError):
    """What went wrong, worded for the command line."""


@dataclass
class DeployPlan:
    """One function to upload: its name, files (relative paths), entrypoint and variables."""

    name: str
    entrypoint: str
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] | None = None

    @property
    def size(self) -> int:
        """Bytes of source uploaded."""
        return sum(len(text.encode("utf-8")) for text in self.files.values())

    def named_packages(self) -> list[str]:
        """The packages the files name (`npm:`/`jsr:` specifiers, package.json dependencies),
        which the server resolves and fetches when it links the function; a hint for progress
        output, not the resolution itself (that is the server's answer, `Deployed.packages`)."""
        found: set[str] = set()
        for path, text in self.files.items():
            found.update(kind + spec for kind, spec in _PACKAGE_SPECIFIER.findall(text))
            if path.rsplit("/", 1)[-1] == "package.json":
                found.update(_dependencies(text))
        return sorted(found)

    def describe(self) -> str:
        """`N files, SIZE`, as the progress and summary lines say it."""
        return f"{len(self.files)} files, {_size(self.size)}"


@dataclass
class Deployed:
    """The server's answer to one deploy."""

    plan: DeployPlan
    version: int
    created: bool
    packages: dict[str, str]

    def summary(self) -> str:
        """The lines printed for this deploy."""
        action = "created" if self.created else "updated"
        lines = [
            f"{self.plan.name}: {action}, version {self.version}",
            f"  entrypoint {self.plan.entrypoint}, {self.plan.describe()}",
        ]
        if self.packages:
            lines.append("  packages: " + ", ".join(self.packages))
        if self.plan.env is not None:
            lines.append(f"  env: {', '.join(sorted(self.plan.env)) or '(none)'}")
        return "\n".join(lines)


def plan_deploys(path: Path, name: str | None = None) -> list[DeployPlan]:
    """What to upload for PATH: a file, a function folder, or a functions folder (each function,
    or the one named `name`). Shared folders (`_shared/`) and import maps come along."""
    if not path.exists():
        raise DeployError(f"{path} does not exist")
    if path.is_file():
        return [_single_file(path, name)]
    if _entrypoint_in(path) is not None:
        return [_function(path.parent, path.name, name or path.name)]
    root = path / "functions" if (path / "functions").is_dir() else path
    functions = sorted(
        child.name
        for child in root.iterdir()
        if child.is_dir() and not child.name.startswith((".", "_")) and _entrypoint_in(child)
    )
    if not functions:
        raise DeployError(f"no function found in {root} (expected <name>/index.ts)")
    if name is not None:
        if name not in functions:
            raise DeployError(f"no function {name!r} in {root} (found: {', '.join(functions)})")
        functions = [name]
    return [_function(root, function, function) for function in functions]


def deploy(plan: DeployPlan, client: ApiClient) -> Deployed:
    """Create the function, or update it if it exists (a new version); raises DeployError.

    One client for every deploy of a run: making an httpx client costs ~20-40 ms (its TLS
    context), more than a small redeploy itself.
    """
    body: dict[str, Any] = {"files": plan.files, "entrypoint": plan.entrypoint}
    if plan.env is not None:
        body["env"] = plan.env
    try:
        response = client.http.post(
            "/api/v1/functions", json={"name": plan.name, "enabled": True, **body}
        )
        created = response.status_code != 409
        if not created:
            response = client.http.put(f"/api/v1/functions/{plan.name}", json=body)
    except httpx.HTTPError as exc:
        raise DeployError(f"cannot reach {client.url}: {exc}") from None
    if response.status_code not in (200, 201):
        raise DeployError(f"{plan.name}: {error_text(response)}")
    answer = response.json()
    return Deployed(plan, answer["version"], created, answer.get("packages") or {})


def _single_file(path: Path, name: str | None) -> DeployPlan:
    default = path.parent.name if path.stem in ("index", "main") else path.stem
    plan = DeployPlan(name=name or default, entrypoint=path.name)
    plan.files[path.name] = _read(path)
    for map_file in MAP_FILES:
        if (path.parent / map_file).is_file():
            plan.files[map_file] = _read(path.parent / map_file)
    plan.env = _env(path.parent / ".env")
    return plan


def _function(root: Path, folder: str, name: str) -> DeployPlan:
    entry = _entrypoint_in(root / folder)
    assert entry is not None
    plan = DeployPlan(name=name, entrypoint=f"{folder}/{entry}")
    _add_tree(plan, root, root / folder)
    for shared in sorted(root.iterdir()):
        if shared.is_dir() and shared.name.startswith("_"):
            _add_tree(plan, root, shared)
    for map_file in MAP_FILES:
        if (root / map_file).is_file():
            plan.files[map_file] = _read(root / map_file)
    # A function's own .env wins over the functions folder's (Supabase keeps it there).
    plan.env = _env(root / folder / ".env")
    if plan.env is None:
        plan.env = _env(root / ".env")
    return plan


def _add_tree(plan: DeployPlan, root: Path, folder: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIPPED_DIRS and not d.startswith(".")
        )
        for filename in sorted(filenames):
            if filename.endswith(SOURCE_SUFFIXES) and not filename.endswith(".d.ts"):
                full = Path(dirpath) / filename
                plan.files[full.relative_to(root).as_posix()] = _read(full)


def _entrypoint_in(folder: Path) -> str | None:
    return next((name for name in ENTRYPOINTS if (folder / name).is_file()), None)


def _env(path: Path) -> dict[str, str] | None:
    if not path.is_file():
        return None
    return {key: value or "" for key, value in dotenv_values(path).items()}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeployError(f"cannot read {path}: {exc}") from None


def _dependencies(text: str) -> list[str]:
    try:
        manifest = json.loads(text)
    except ValueError:
        return []
    found = manifest.get("dependencies") if isinstance(manifest, dict) else None
    if not isinstance(found, dict):
        return []
    return [f"npm:{name}@{version}" for name, version in found.items()]


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"
