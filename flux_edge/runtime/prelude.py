"""The JavaScript loaded into every isolate before user code, assembled from the .js files here."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import msgspec

from flux_edge.runtime.jssource import js_source
from flux_edge.runtime.types import FunctionSpec
from flux_edge.runtime.webapi import web_prelude_source

JS_DIR = Path(__file__).parent / "js"

# The calling convention: value formatting, response conversion and the Deno namespace, then
# core.js, which uses them.
CORE_FILES = ("format.js", "response.js", "deno.js", "entry.js", "core.js")

# Capability shims (fetch, files, crypto.subtle) that talk to Python through `__flux_host`; loaded after core.js.
CAPABILITY_FILES: tuple[str, ...] = ("fetch.js", "deno_fs.js", "subtle_host.js")


class FunctionConfig(msgspec.Struct, kw_only=True):
    """What an isolate learns when it is given to a function (core.js `configure`)."""

    bufferLimit: int
    maxLogBytes: int
    allowEnv: bool
    allowNet: bool
    allowRead: bool
    allowWrite: bool
    env: dict[str, str]


def entropy_script(secret: str) -> str:
    """The first script an isolate runs: fresh OS entropy that crypto.js keys its generator with,
    and the secret core.js demands of every call of its entry points (user code never sees it)."""
    return (
        "Object.defineProperty(globalThis, '__flux_entropy', "
        f"{{value: '{os.urandom(64).hex()}', configurable: true}});"
        "Object.defineProperty(globalThis, '__flux_secret', "
        f"{{value: {msgspec.json.encode(secret).decode()}, configurable: true}});"
    )


def configure_script(spec: FunctionSpec, *, max_log_bytes: int) -> str:
    """Binds a booted isolate to `spec`: its buffer budget, log cap, permissions and variables."""
    config = FunctionConfig(
        bufferLimit=spec.memory_limit_mb * 1024 * 1024,
        maxLogBytes=max_log_bytes,
        allowEnv=spec.permissions.allow_env,
        allowNet=spec.permissions.allow_net,
        allowRead=spec.permissions.allow_read,
        allowWrite=spec.permissions.allow_write,
        env=dict(spec.env) if spec.permissions.allow_env else {},
    )
    encoded = msgspec.json.encode(msgspec.json.encode(config).decode()).decode()
    return f"__flux_configure({encoded})"


@cache
def prelude_source() -> str:
    """primordials.js, memory.js, the web platform, the core files and the capability shims, in load order."""
    parts = [js_source(JS_DIR / name) for name in ("primordials.js", "memory.js")]
    parts.append(web_prelude_source())
    parts.extend(js_source(JS_DIR / name) for name in (*CORE_FILES, *CAPABILITY_FILES))
    # The host bridge and web helpers are for prelude code only; user code must not reach them.
    parts.append(
        "__flux_web.attachStreamsHost(__flux_host); delete globalThis.__flux_host; "
        "delete globalThis.__flux_web; delete globalThis.__flux_primordials;"
    )
    return "\n;\n".join(parts)
