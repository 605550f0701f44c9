"""Calling handlers: request fields, return forms, errors and console capture."""

from __future__ import annotations

import asyncio
import json

from flux_edge.runtime import Runtime

from .conftest import make_request


async def test_a_sync_handler_returns_the_reference_response_object(runtime: Runtime, make_spec):
    spec = make_spec(
        "function handler(req) { return {status: 201, headers: {'X-A': 'b'}, body: req.body + '!'} }"
    )
    result = await runtime.invoke(spec, make_request("hi"))
    assert (result.outcome, result.status_code, result.body) == ("success", 201, b"hi!")
    assert result.headers == [("x-a", "b")]


async def test_an_async_handler_receives_every_request_field(runtime: Runtime, make_spec):
    spec = make_spec(
        "async function handler(req) { return {status: 200, body: JSON.stringify(req)} }"
    )
    request = make_request(
        '{"x":1}', method="PUT", query="q=1&q=2&e=&a%20b=c+d", user_id="user-1", headers={"a": "b"}
    )
    result = await runtime.invoke(spec, request)
    seen = json.loads(result.body)
    assert seen["method"] == "PUT"
    assert seen["body"] == '{"x":1}'
    assert seen["headers"] == {"a": "b"}
    assert seen["params"] == {"q": "1", "e": "", "a b": "c d"}  # the first of each name
    assert seen["user_id"] == "user-1"
    assert seen["execution_id"] == request.execution_id
    assert seen["url"].startswith("http://")


async def test_a_string_result_is_text_plain_200(runtime: Runtime, make_spec):
    result = await runtime.invoke(
        make_spec("function handler() { return 'plain' }"), make_request()
    )
    assert (result.status_code, result.body) == (200, b"plain")
    assert (result.header("content-type") or "").startswith("text/plain")


async def test_a_json_value_result_is_application_json(runtime: Runtime, make_spec):
    spec = make_spec("function handler() { return {sent: true, n: [1, 2]} }")
    result = await runtime.invoke(spec, make_request())
    assert result.status_code == 200
    assert json.loads(result.body) == {"sent": True, "n": [1, 2]}
    assert result.header("content-type") == "application/json"


async def test_undefined_is_204_with_no_body(runtime: Runtime, make_spec):
    result = await runtime.invoke(make_spec("async function handler() {}"), make_request())
    assert (result.status_code, result.body) == (204, b"")


async def test_a_non_string_body_is_json_encoded(runtime: Runtime, make_spec):
    spec = make_spec("function handler() { return {status: 200, body: {a: 1}} }")
    result = await runtime.invoke(spec, make_request())
    assert json.loads(result.body) == {"a": 1}
    assert result.header("content-type") == "application/json"


async def test_an_invalid_status_is_a_500_saying_why(runtime: Runtime, make_spec):
    spec = make_spec("function handler() { return {status: 700, body: 'x'} }")
    result = await runtime.invoke(spec, make_request())
    assert result.status_code == 500
    assert "status must be an integer from 200 to 599" in (result.error_message or "")


async def test_an_uncaught_error_is_a_500_with_type_message_and_user_line(runtime, make_spec):
    code = "function helper() {\n  return someVariable;\n}\nfunction handler() { return helper() }"
    spec = make_spec(code, name="send-welcome-email")
    request = make_request()
    result = await runtime.invoke(spec, request)
    assert (result.outcome, result.status_code) == ("error", 500)
    body = json.loads(result.body)
    assert body == {
        "error": "Function execution failed",
        "message": "ReferenceError: someVariable is not defined",
        "function": "send-welcome-email",
        "execution_id": request.execution_id,
    }
    assert ":2:" in (result.error_stack or "")


async def test_console_lines_are_captured_with_their_level(runtime: Runtime, make_spec):
    spec = make_spec(
        "function handler() { console.log('a', {b: [1, 'c']}); console.error(new Error('e').message);"
        " console.warn(1, null, undefined); return 'ok' }"
    )
    result = await runtime.invoke(spec, make_request())
    assert result.logs.splitlines() == [
        'console.log: a { b: [ 1, "c" ] }',
        "console.error: e",
        "console.warn: 1 null undefined",
    ]


async def test_logs_of_concurrent_calls_stay_with_their_own_call(runtime: Runtime, make_spec):
    spec = make_spec(
        "async function step(id) { await null; console.log('inner', id) }\n"
        "async function handler(req) {\n"
        "  console.log('start', req.body);\n"
        "  await new Promise((r) => setTimeout(r, Number(req.body) % 7));\n"
        "  await step(req.body);\n"
        "  console.log('end', req.body);\n"
        "  return req.body;\n"
        "}"
    )
    results = await asyncio.gather(*(runtime.invoke(spec, make_request(str(i))) for i in range(20)))
    for i, result in enumerate(results):
        assert result.body == str(i).encode()
        assert result.logs.splitlines() == [
            f"console.log: start {i}",
            f"console.log: inner {i}",
            f"console.log: end {i}",
        ]


async def test_a_log_flood_is_capped_with_a_marker(runtime: Runtime, make_spec):
    spec = make_spec(
        "function handler() { for (let i = 0; i < 1e5; i++) console.log('x'.repeat(100)); }"
    )
    result = await runtime.invoke(spec, make_request())
    assert result.status_code == 204
    assert len(result.logs) < 300 * 1024
    assert result.logs.endswith("[log truncated: more than 262144 bytes]")


async def test_timers_resolve_and_pending_ones_do_not_leak_into_the_next_call(runtime, make_spec):
    spec = make_spec(
        "var fired = [];\n"
        "async function handler(req) {\n"
        "  if (req.body === 'arm') {\n"
        "    setTimeout(() => fired.push('late'), 50);\n"
        "    setInterval(() => fired.push('tick'), 5);\n"
        "  }\n"
        "  await new Promise((r) => setTimeout(r, 20));\n"
        "  return fired.join(',');\n"
        "}"
    )
    first = await runtime.invoke(spec, make_request("arm"))
    assert first.body.startswith(b"tick")
    assert b"late" not in first.body
    await asyncio.sleep(0.1)
    second = await runtime.invoke(spec, make_request("again"))
    assert second.body == first.body  # nothing fired after the first call ended


async def test_each_timer_sees_the_microtasks_of_the_timer_before_it(runtime, make_spec):
    # Two timers due together (same delay): as in Node and browsers, the first one's promise
    # continuation runs before the second fires, even when both are due in one step.
    spec = make_spec(
        "async function handler() {\n"
        "  const fired = [];\n"
        "  const waited = new Promise((r) => setTimeout(r, 20));\n"
        "  setTimeout(() => fired.push('second timer'), 20);\n"
        "  await waited;\n"
        "  return fired.join(',') || 'continuation first';\n"
        "}"
    )
    for _ in range(5):
        assert (await runtime.invoke(spec, make_request())).body == b"continuation first"


async def test_globals_persist_between_calls_of_one_version(runtime: Runtime, make_spec):
    spec = make_spec("var count = 0; function handler() { return String(++count) }")
    first = await runtime.invoke(spec, make_request())
    second = await runtime.invoke(spec, make_request())
    assert (first.body, second.body) == (b"1", b"2")


async def test_one_function_never_sees_another_functions_globals(runtime: Runtime, make_spec):
    writer = make_spec(
        "function handler() { globalThis.secret = 'w'; Object.prototype.polluted = 1; return 'ok' }"
    )
    reader = make_spec(
        "function handler() { return String(typeof globalThis.secret) + ',' + String(({}).polluted) }"
    )
    await runtime.invoke(writer, make_request())
    result = await runtime.invoke(reader, make_request())
    assert result.body == b"undefined,undefined"


async def test_a_new_version_gets_new_code_at_once_while_old_calls_finish(runtime, make_spec):
    v1 = make_spec(
        "async function handler(req) {"
        " if (req.body === 'slow') await new Promise((r) => setTimeout(r, 1000)); return 'v1' }"
    )
    v2 = make_spec("function handler() { return 'v2' }", function_id=v1.function_id, version=2)
    # v1's isolate is warm, so the slow call has started (not merely queued) when v2 arrives;
    # a call that never started may be given to the new version.
    assert (await runtime.invoke(v1, make_request())).body == b"v1"
    slow = asyncio.ensure_future(runtime.invoke(v1, make_request(body="slow")))
    await asyncio.sleep(0.3)
    fast = await runtime.invoke(v2, make_request())
    assert fast.body == b"v2"
    assert (await slow).body == b"v1"


async def test_the_module_and_deno_forms_find_their_entry_point(runtime: Runtime, make_spec):
    exported = make_spec(
        "__flux_exports.handler = function (req) { return 'exported ' + req.method }"
    )
    default = make_spec("__flux_exports.default = async (req) => 'default ' + req.method")
    assert (await runtime.invoke(exported, make_request())).body == b"exported POST"
    assert (await runtime.invoke(default, make_request())).body == b"default POST"


async def test_a_header_that_would_split_the_response_is_a_500(runtime: Runtime, make_spec):
    spec = make_spec(
        "function handler() { return {status: 200, headers: {'x-a': 'b\\r\\nSet-Cookie: x=1'}, body: ''} }"
    )
    result = await runtime.invoke(spec, make_request())
    assert result.status_code == 500
    assert "has a value HTTP cannot carry" in (result.error_message or "")


async def test_framing_headers_from_the_function_are_dropped(runtime: Runtime, make_spec):
    spec = make_spec(
        "function handler() { return {status: 200, headers: {'Content-Length': '999',"
        " 'Transfer-Encoding': 'chunked', 'X-Kept': '1'}, body: 'abc'} }"
    )
    result = await runtime.invoke(spec, make_request())
    assert result.status_code == 200
    assert result.headers == [("x-kept", "1")]
