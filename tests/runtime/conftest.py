"""Real V8 isolates for runtime tests: a Runtime created inside each test's event loop."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable

import pytest

from flux_edge.runtime import FunctionSpec, InvokeRequest, PoolLimits, Runtime

_ids = itertools.count(1)


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = Runtime(PoolLimits(max_isolates=32, max_queue_per_function=64))
    yield rt
    await rt.close(grace=0.5)


@pytest.fixture
def make_spec() -> Callable[..., FunctionSpec]:
    def make(code: str, **overrides: object) -> FunctionSpec:
        n = next(_ids)
        fields: dict[str, object] = {
            "function_id": f"fn-{n}",
            "name": f"fn-{n}",
            "version": 1,
            "compiled": code,
            "timeout_seconds": 2.0,
            "memory_limit_mb": 64,
        }
        fields.update(overrides)
        return FunctionSpec(**fields)  # type: ignore[arg-type]

    return make


def make_request(body: str | bytes = "", method: str = "POST", **extra: object) -> InvokeRequest:
    """A call; `headers` may be given as a dict for brevity (sent as pairs in its order)."""
    headers = extra.pop("headers", {"content-type": "application/json"})
    fields: dict[str, object] = {
        "method": method,
        "url": "http://127.0.0.1/api/v1/functions/f/invoke",
        "headers": list(headers.items()) if isinstance(headers, dict) else headers,
        "body": body.encode() if isinstance(body, str) else body,
        "execution_id": f"exec-{next(_ids)}",
    }
    fields.update(extra)
    return InvokeRequest(**fields)  # type: ignore[arg-type]
