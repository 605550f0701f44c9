"""The bounds on fetch: the call's time, the response size, subrequests per call, and abort."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from flux_edge.runtime import FunctionSpec, Permissions, Runtime
from tests.runtime.capabilities.conftest import LocalServer, RunFunction, answer
from tests.runtime.conftest import make_request

CAP = 64 * 1024


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"net_allow": "127.0.0.0/8", "max_fetch_response_bytes": CAP, "max_subrequests": 5}


async def test_a_hanging_server_cannot_outlive_the_call(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f'await fetch("{local_server.url}/hang"); return 1;', timeout_seconds=1)
    assert result.outcome == "timeout"
    assert result.status_code == 408
    # The connection is dropped with the call, not left waiting for the server.
    assert local_server.hang_closed.wait(10)


async def test_a_body_at_the_size_cap_is_accepted(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/big?size={CAP}&declare=0");
        return (await r.arrayBuffer()).byteLength;
    """)
    assert answer(result) == CAP


@pytest.mark.parametrize(
    "route",
    [f"/big?size={CAP + 1}", f"/big?size={CAP * 4}&declare=0", f"/gzip-bomb?size={CAP * 16}"],
    ids=["declared-length", "chunked", "compressed"],
)
async def test_a_body_over_the_size_cap_is_a_type_error(
    run_js: RunFunction, local_server: LocalServer, route: str
):
    result = await run_js(f"""
        try {{ await fetch("{local_server.url}{route}"); return "fetched"; }}
        catch (e) {{ return [e.name, e.message]; }}
    """)
    name, message = answer(result)
    assert name == "TypeError"
    assert f"larger than {CAP} bytes (max_fetch_response_bytes)" in message


async def test_subrequests_past_the_cap_are_refused(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const statuses = [];
        for (let i = 0; i < 7; i++) {{
          try {{ statuses.push((await fetch("{local_server.url}/echo")).status); }}
          catch (e) {{ statuses.push(e.message); }}
        }}
        return statuses;
    """)
    statuses = answer(result)
    assert statuses[:5] == [200] * 5
    assert all("too many subrequests" in s and "at most 5" in s for s in statuses[5:])
    assert len(local_server.requests) == 5


async def test_redirect_hops_count_as_subrequests(run_js: RunFunction, local_server):
    result = await run_js(f"""
        try {{ await fetch("{local_server.url}/loop"); }} catch (e) {{ return e.message; }}
    """)
    assert "too many subrequests" in answer(result)


async def test_the_subrequest_count_starts_again_for_each_call(run_js: RunFunction, local_server):
    code = f'for (let i = 0; i < 5; i++) await fetch("{local_server.url}/echo"); return "ok";'
    assert answer(await run_js(code, function_id="same")) == "ok"
    assert answer(await run_js(code, function_id="same")) == "ok"


LINGER = """
  await new Promise((resolve) => setTimeout(resolve, 2000)); // the call goes on after the abort
"""


async def test_aborting_rejects_with_an_abort_error_and_drops_the_connection(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 500); // the request has reached the server by then
        let outcome;
        try {{ await fetch("{local_server.url}/hang", {{ signal: controller.signal }}); }}
        catch (e) {{ outcome = [e.name, e instanceof DOMException]; }}
        {LINGER}
        return outcome;
    """)
    ended = time.monotonic()
    assert answer(result) == ["AbortError", True]
    # Python dropped the connection at the abort, not when the call ended 2 s later.
    assert local_server.closed_at is not None
    assert local_server.closed_at < ended - 1


async def test_an_already_aborted_signal_sends_nothing(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const controller = new AbortController();
        controller.abort(new Error("changed my mind"));
        try {{ await fetch("{local_server.url}/echo", {{ signal: controller.signal }}); }}
        catch (e) {{ return e.message; }}
    """)
    assert answer(result) == "changed my mind"
    assert local_server.requests == []


async def test_abort_signal_timeout_bounds_a_fetch_inside_a_longer_call(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        let name;
        try {{ await fetch("{local_server.url}/hang", {{ signal: AbortSignal.timeout(500) }}); }}
        catch (e) {{ name = e.name; }}
        {LINGER}
        return name;
    """)
    ended = time.monotonic()
    assert answer(result) == "TimeoutError"
    assert local_server.closed_at is not None
    assert local_server.closed_at < ended - 1


@pytest.mark.parametrize("body", ["", 'new Request(url, { method: "POST", body: "b" })'])
async def test_concurrent_calls_in_one_isolate_count_their_own_subrequests(
    capability_runtime: Runtime, local_server: LocalServer, body: str
):
    # Two calls of one function share an isolate and interleave their fetches; with a cap of 5,
    # four fetches each only succeed if every fetch is charged to the call that made it.
    target = body or "url"
    code = f"""
      async function handler(req) {{
        const url = "{local_server.url}/echo";
        for (let i = 0; i < 4; i++) await fetch({target});
        return "done";
      }}
    """
    spec = FunctionSpec(
        function_id="shared", name="shared", version=1, compiled=code, timeout_seconds=10,
        permissions=Permissions(allow_net=True),
    )  # fmt: skip
    results = await asyncio.gather(
        *(capability_runtime.invoke(spec, make_request()) for _ in range(2))
    )
    assert [r.outcome for r in results] == ["success", "success"], [
        r.error_message for r in results
    ]
    assert len(local_server.requests) == 8
