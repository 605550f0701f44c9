"""JavaScript run as a real function in a real Runtime (isolate pool, host bridge, Python crypto).

`js`/`js_error` take either a bare MiniRacer (the web prelude files only, see `_jsload`) or a
`RuntimeJS`, so the same test bodies work in both; crypto.subtle beyond digests and HMAC
signing needs the runtime's host bridge, so its tests use `RuntimeJS`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from py_mini_racer import MiniRacer

from flux_edge.runtime import FunctionSpec, InvokeRequest, Runtime

from . import _jsload
from ._jsload import HELPERS_JS, JSError

_ids = itertools.count(1)

_HANDLER = """
async function handler(req) {
  let outcome;
  try {
    const value = await (async (input) => { %s
    })(JSON.parse(req.body || 'null'));
    outcome = { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    outcome = { ok: false, name: String(e && e.name),
      constructor: String(e && e.constructor && e.constructor.name), message: String(e && e.message),
      isDOMException: e instanceof DOMException };
  }
  return { status: 200, body: JSON.stringify(outcome) };
}
"""


class RuntimeJS:
    """Runs async function bodies as handlers of fresh functions in `runtime`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def settle(self, body: str, data: Any = None, prelude: str = "") -> dict[str, Any]:
        """The outcome of `body` (`input` holds `data`), after `prelude` ran at top level."""
        n = next(_ids)
        spec = FunctionSpec(
            function_id=f"crypto-{n}",
            name=f"crypto-{n}",
            version=1,
            compiled=HELPERS_JS + prelude + _HANDLER % body,
            timeout_seconds=20.0,
            memory_limit_mb=128,
        )
        request = InvokeRequest(
            method="POST",
            url="http://127.0.0.1/invoke",
            headers=[],
            body=json.dumps(data).encode(),
            execution_id=f"exec-{n}",
        )
        result = await self.runtime.invoke(spec, request)
        assert result.outcome == "success", (result.outcome, result.error_message, result.logs)
        outcome: dict[str, Any] = json.loads(result.body)
        return outcome


async def js(target: MiniRacer | RuntimeJS, body: str, data: Any = None, prelude: str = "") -> Any:
    """Runs `body` as an async function body and returns its (JSON-serialisable) result."""
    if isinstance(target, MiniRacer):
        return await _jsload.js(target, body)
    outcome = await target.settle(body, data, prelude)
    assert outcome["ok"], (
        f"JavaScript failed: {outcome['constructor']} {outcome['name']}: {outcome['message']}"
    )
    return outcome["value"]


async def js_error(target: MiniRacer | RuntimeJS, body: str, data: Any = None) -> JSError:
    """Runs `body`, which must throw or reject; returns the error."""
    if isinstance(target, MiniRacer):
        return await _jsload.js_error(target, body)
    outcome = await target.settle(body, data)
    assert not outcome["ok"], f"expected an error, got {outcome['value']!r}"
    return JSError(
        outcome["name"], outcome["constructor"], outcome["message"], outcome["isDOMException"]
    )
