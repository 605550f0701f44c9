"""`flux-edge functions export|import`: every function with its versions and settings, as JSON.

Export reads the management API; import replays each function's versions in order (create, then
one update per later version), moves the current version back if it was not the newest, and sets
the settings last. The API never returns env values, only their names: an import takes the values
from an env file (`--env-file`), for the names each function declares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from flux_edge.client.config import ClientError

FORMAT = "flux-edge-functions/1"
SETTINGS = (
    "description",
    "enabled",
    "timeout_seconds",
    "memory_limit_mb",
    "allow_net",
    "allow_env",
    "allow_read",
    "allow_write",
    "allow_unauthenticated",
    "cron_schedule",
)


class TransferError(ClientError):
    """An export or import that failed; the message says where, in one line."""


def _checked(response: httpx.Response, what: str) -> Any:
    if response.is_error:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise TransferError(f"{what}: {response.status_code} {message}")
    return response.json() if response.content else None


def _code_of(version: dict[str, Any]) -> dict[str, Any]:
    if version.get("files"):
        return {"files": version["files"], "entrypoint": version["entrypoint"]}
    return {"code": version["code"]}


def export_functions(client: httpx.Client) -> dict[str, Any]:
    """The export document of every function on the server."""
    exported = []
    for summary in _checked(client.get("/api/v1/functions"), "listing functions"):
        name = summary["name"]
        function = _checked(client.get(f"/api/v1/functions/{name}"), f"reading {name}")
        numbers = _checked(client.get(f"/api/v1/functions/{name}/versions"), f"versions of {name}")
        versions = [
            _checked(client.get(f"/api/v1/functions/{name}/versions/{v['version']}"), name)
            for v in sorted(numbers, key=lambda v: v["version"])
        ]
        exported.append(
            {
                "name": name,
                "current_version": function["version"],
                "settings": {key: function[key] for key in SETTINGS},
                "env_names": function["env_names"],
                "versions": [{"version": v["version"], **_code_of(v)} for v in versions],
            }
        )
    return {"format": FORMAT, "functions": exported}


def import_functions(
    client: httpx.Client,
    document: dict[str, Any],
    env: dict[str, str] | None = None,
    progress: Callable[[str], None] = lambda step: None,
) -> list[str]:
    """Recreate every function of `document` on the server; returns one summary line each.
    `progress` hears each upload before it goes (the server links each version and resolves its
    packages, so an import of many versions takes a while)."""
    if document.get("format") != FORMAT:
        raise TransferError(f"not a flux-edge functions export (format {FORMAT!r} expected)")
    lines = []
    functions = document["functions"]
    for number, function in enumerate(functions, 1):
        name, versions = function["name"], function["versions"]
        first, *later = versions
        where = f"function {number} of {len(functions)}, {name}: version"
        values = {k: v for k, v in (env or {}).items() if k in function["env_names"]}
        create = {"name": name, **_code_of(first), **function["settings"], "env": values}
        progress(f"{where} 1 of {len(versions)}")
        _checked(client.post("/api/v1/functions", json=create), f"creating {name}")
        for index, version in enumerate(later, 2):
            progress(f"{where} {index} of {len(versions)}")
            _checked(client.put(f"/api/v1/functions/{name}", json=_code_of(version)), name)
        position = [v["version"] for v in versions].index(function["current_version"]) + 1
        if position != len(versions):
            body = {"version": position}
            _checked(client.post(f"/api/v1/functions/{name}/rollback", json=body), name)
        missing = sorted(set(function["env_names"]) - set(values))
        note = f"; env without values: {', '.join(missing)}" if missing else ""
        lines.append(f"imported {name} ({len(versions)} versions){note}")
    return lines
