"""Linking uploaded files and running the result in a real isolate."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flux_edge.runtime import FunctionSpec, InvokeRequest, Runtime
from flux_edge.runtime.codeforms.linker import link
from flux_edge.runtime.codeforms.resolver import ModuleResolver

_ids = itertools.count(1)

Run = Callable[..., Awaitable[Any]]


def link_files(files: dict[str, str], entrypoint: str = "index.ts", **options: Any) -> str:
    """The linked script of `files` (no package cache unless given)."""
    resolver = ModuleResolver.for_upload(files, entrypoint, **options)
    return link(resolver, entrypoint).script


@pytest.fixture
def run(runtime: Runtime) -> Run:
    """Link `files`, load them into an isolate and invoke once; the JSON body or the result."""

    async def invoke(
        files: dict[str, str], entrypoint: str = "index.ts", *, raw: bool = False, **options: Any
    ) -> Any:
        script = link_files(files, entrypoint, **options)
        n = next(_ids)
        spec = FunctionSpec(
            function_id=f"linked-{n}",
            name=f"linked-{n}",
            version=1,
            compiled=script,
            timeout_seconds=5.0,
            memory_limit_mb=128,
        )
        request = InvokeRequest(
            method="GET",
            url="http://127.0.0.1/linked/path?q=1",
            headers={},
            body="",
            execution_id=f"exec-{n}",
        )
        result = await runtime.invoke(spec, request)
        if raw:
            return result
        assert result.outcome == "success", (result.error_message, result.error_stack)
        return json.loads(result.body)

    return invoke
