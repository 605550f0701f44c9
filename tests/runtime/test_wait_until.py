"""Work after the response, at the Runtime seam: `invoke` returns the response, `on_complete`
gets the complete result once the work passed to waitUntil has ended."""

from __future__ import annotations

import asyncio

from flux_edge.runtime import InvokeResult, Runtime
from flux_edge.runtime.codeforms import compile_source

from .conftest import make_request


async def invoke_and_complete(
    runtime: Runtime, spec, **extra: object
) -> tuple[InvokeResult, bool, InvokeResult, float]:
    """The response, whether the call had completed when it came, the complete result, and
    when that came (seconds after the call)."""
    loop = asyncio.get_running_loop()
    completed: asyncio.Future[tuple[InvokeResult, float]] = loop.create_future()
    started = loop.time()
    response = await runtime.invoke(
        spec, make_request(**extra), lambda r: completed.set_result((r, loop.time()))
    )
    complete_first = completed.done()
    final, ended = await completed
    return response, complete_first, final, ended - started


async def test_a_call_without_later_work_completes_with_its_response(runtime: Runtime, make_spec):
    spec = make_spec("function handler() { console.log('x'); return 'done'; }")
    response, complete_first, final, _ = await invoke_and_complete(runtime, spec)
    assert complete_first
    assert final is response
    assert final.logs == "console.log: x"


async def test_wait_until_work_runs_after_the_response_and_completes_the_record(
    runtime: Runtime, make_spec
):
    code = compile_source(
        "export default { fetch(req, env, ctx) {\n"
        "  ctx.waitUntil(new Promise((r) => setTimeout(() => { console.log('late'); r(); }, 300)));\n"
        "  console.log('early');\n"
        "  return new Response('sent');\n"
        "} };"
    )
    response, complete_first, final, ended = await invoke_and_complete(runtime, make_spec(code))
    assert (response.status_code, response.body) == (200, b"sent")
    assert not complete_first  # the response did not wait for the work
    assert ended >= 0.3
    assert (final.outcome, final.status_code, final.body) == ("success", 200, b"sent")
    assert final.logs == "console.log: early\nconsole.log: late"


async def test_a_rejected_wait_until_promise_makes_the_record_an_error(runtime: Runtime, make_spec):
    code = compile_source(
        "Deno.serve(() => { EdgeRuntime.waitUntil(Promise.reject(new RangeError('no'))); "
        "return new Response('sent'); });"
    )
    response, _, final, _ = await invoke_and_complete(runtime, make_spec(code))
    assert response.body == b"sent"
    assert (final.outcome, final.status_code, final.body) == ("error", 200, b"sent")
    assert final.error_message == "waitUntil: RangeError: no"


async def test_wait_until_work_past_the_timeout_is_cut_off(runtime: Runtime, make_spec):
    code = compile_source(
        "addEventListener('fetch', (e) => { e.waitUntil(new Promise(() => {}));"
        " e.respondWith(new Response('sent')); });"
    )
    response, _, final, ended = await invoke_and_complete(
        runtime, make_spec(code, timeout_seconds=1.0)
    )
    assert response.body == b"sent"
    assert (final.outcome, final.limit, final.status_code) == ("timeout", "timeout", 200)
    assert ended >= 0.95
