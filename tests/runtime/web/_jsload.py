"""Real V8 isolates holding the web-platform prelude files that exist, loaded in webapi.py's order.

Shared by the crypto, Headers and Request/Response tests. Files written by other engineers may not
exist yet: tests that need one skip (see `skip_unless_files`) until it appears.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from py_mini_racer import MiniRacer

from flux_edge.runtime.webapi import JS_DIR, WEB_FILES, web_file_scripts

# Test-only helpers: bytes <-> hex, so test data crosses into JavaScript without TextEncoder.
HELPERS_JS = """
Object.defineProperties(globalThis, {
  hex: { value: (data) => Array.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data,
    (b) => b.toString(16).padStart(2, '0')).join('') },
  unhex: { value: (text) => {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  } },
});
"""


def missing_files(*names: str) -> list[str]:
    """The named prelude files that do not exist (yet)."""
    return [name for name in names if not (JS_DIR / name).exists()]


def skip_unless_files(*names: str) -> pytest.MarkDecorator:
    """Skip a test until the prelude files it relies on exist."""
    absent = missing_files(*names)
    return pytest.mark.skipif(
        bool(absent), reason=f"needs web prelude file(s) not written yet: {', '.join(absent)}"
    )


def entropy_script(entropy: bytes) -> str:
    """How the runtime hands OS entropy to crypto.js: a non-enumerable, deletable global."""
    return (
        "Object.defineProperty(globalThis, '__flux_entropy', "
        f"{{value: '{entropy.hex()}', configurable: true}});"
    )


async def web_isolate(entropy: bytes | None = None, upto: str = WEB_FILES[-1]) -> MiniRacer:
    """A fresh isolate with every existing web prelude file up to `upto`, plus the test helpers."""
    mr = MiniRacer()
    await mr.eval_cancelable(entropy_script(os.urandom(64) if entropy is None else entropy))
    for name in WEB_FILES[: WEB_FILES.index(upto) + 1]:
        path = JS_DIR / name
        if path.exists():
            for script in web_file_scripts(name):
                await mr.eval_cancelable(script)
    await mr.eval_cancelable(HELPERS_JS)
    return mr


@dataclass(frozen=True)
class JSError:
    """What a rejected or thrown JavaScript error looked like."""

    name: str
    constructor: str
    message: str
    is_dom_exception: bool


async def _settle(mr: MiniRacer, body: str) -> dict[str, Any]:
    # Promise jobs run when an eval returns, so the outcome is readable from the next eval.
    await mr.eval_cancelable(
        "globalThis.__outcome = undefined;"
        f"(async () => {{ {body}\n}})().then("
        "  (value) => {"
        "    globalThis.__outcome = { ok: true, value: value === undefined ? null : value }; },"
        "  (e) => { globalThis.__outcome = { ok: false, name: String(e && e.name),"
        "    constructor: String(e && e.constructor && e.constructor.name),"
        "    message: String(e && e.message),"
        "    isDOMException: typeof DOMException === 'function' && e instanceof DOMException }; });"
    )
    outcome: dict[str, Any] | None = json.loads(
        await mr.eval_cancelable("JSON.stringify(globalThis.__outcome ?? null)")
    )
    assert outcome is not None, "the JavaScript promise did not settle"
    return outcome


async def js(mr: MiniRacer, body: str) -> Any:
    """Runs `body` as an async function body and returns its (JSON-serialisable) result."""
    outcome = await _settle(mr, body)
    assert outcome["ok"], (
        f"JavaScript failed: {outcome['constructor']} {outcome['name']}: {outcome['message']}"
    )
    return outcome["value"]


async def js_error(mr: MiniRacer, body: str) -> JSError:
    """Runs `body` as an async function body, which must throw or reject; returns the error."""
    outcome = await _settle(mr, body)
    assert not outcome["ok"], f"expected an error, got {outcome['value']!r}"
    return JSError(
        outcome["name"], outcome["constructor"], outcome["message"], outcome["isDOMException"]
    )


async def has_global(mr: MiniRacer, name: str) -> bool:
    """Whether an earlier prelude file has defined the global `name`."""
    return bool(await mr.eval_cancelable(f"typeof globalThis[{json.dumps(name)}] === 'function'"))
