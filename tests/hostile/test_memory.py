"""Hostile memory and output: heap growth, buffer and string bombs, log floods, huge responses.

The memory cap (memory_limit_mb, 64 MB here) covers the V8 heap and ArrayBuffer backing stores; a
call that breaks it fails alone with a 500 and its isolate is discarded.
"""

from __future__ import annotations

import pytest

from .support import SERVER_ENV, assert_record, deploy, invoke, run_hostile

__all__ = ["SERVER_ENV"]

LIMIT_BYTES = 64 * 1024 * 1024
HEAP_EXCEEDED = "Memory limit exceeded: the function used more than 64 MB (memory_limit_mb)"


def buffer_refused(nbytes: int) -> str:
    """The RangeError memory.js throws before allocating `nbytes` of backing store."""
    return (
        f"RangeError: Memory limit exceeded: allocating {nbytes} bytes of ArrayBuffer memory would "
        f"pass the function's limit of {LIMIT_BYTES} bytes (memory_limit_mb)"
    )


@pytest.mark.parametrize(
    "code",
    [
        "function handler() { const a = []; for (;;) a.push({x: new Array(1000).fill(1)}) }",
        "function handler() { const m = new Map(); for (let i = 0;; i++) m.set(i, 'v' + i) }",
        "function handler() { const a = []; for (;;) a.push('s'.repeat(1 << 20) + Math.random()) }",
    ],
    ids=["objects", "map-entries", "distinct-strings"],
)
def test_heap_growth_stops_at_the_memory_limit_with_a_500(admin, unharmed, code):
    outcome = run_hostile(
        admin, code, memory_limit_mb=64, timeout_seconds=20
    )  # the heap limit fires first, even on a loaded machine
    assert_record(outcome, "error", 500, HEAP_EXCEEDED)
    unharmed()


@pytest.mark.parametrize(
    ("code", "nbytes"),
    [
        ("function handler() { return new Uint8Array(2 ** 31).length }", 2**31),
        ("function handler() { return new Float64Array(2 ** 27).length }", 2**30),
        ("function handler() { return new ArrayBuffer(2 ** 32).byteLength }", 2**32),
        ("function handler() { return new DataView(new ArrayBuffer(2 ** 30)).byteLength }", 2**30),
        (
            "function handler() { const b = new ArrayBuffer(1, {maxByteLength: 2 ** 31}); b.resize(2 ** 31 - 1) }",
            2**31 - 2,
        ),
        (
            "function handler() { return new ArrayBuffer(32 << 20).transfer(2 ** 31 - 1).byteLength }",
            2**31 - 1,
        ),
        (
            "function handler() { return structuredClone(new ArrayBuffer(40 << 20)).byteLength }",
            40 << 20,
        ),
        (
            "function handler() { return new TextEncoder().encode('x'.repeat(100 << 20)).length }",
            100 << 20,
        ),
        ("function handler() { return Uint8Array.from({length: 2 ** 31}).length }", 2**31),
    ],
    ids=[
        "uint8array-2gb",
        "float64array-1gb",
        "arraybuffer-4gb",
        "dataview-1gb",
        "resize",
        "transfer",
        "structured-clone",
        "textencoder",
        "typedarray-from",
    ],
)
def test_buffer_bombs_are_refused_before_allocating(admin, unharmed, code, nbytes):
    outcome = run_hostile(admin, code, memory_limit_mb=64, timeout_seconds=2)
    assert_record(outcome, "error", 500, buffer_refused(nbytes))
    unharmed()


def test_many_small_buffers_add_up_to_the_limit(admin, unharmed):
    code = "function handler() { const keep = []; for (;;) keep.push(new Uint8Array(1 << 20)) }"
    outcome = run_hostile(admin, code, memory_limit_mb=64, timeout_seconds=2)
    assert_record(outcome, "error", 500, buffer_refused(1 << 20))
    unharmed()


def test_a_string_doubling_bomb_is_a_range_error(admin, unharmed):
    outcome = run_hostile(
        admin, "function handler() { let s = 'x'; for (;;) s += s }", memory_limit_mb=64
    )
    assert_record(outcome, "error", 500, "RangeError: Invalid string length")
    unharmed()


def test_the_same_function_answers_after_a_memory_failure(admin, unharmed):
    name = deploy(
        admin,
        "function handler(req) { if (req.body === 'bomb') { const a = []; "
        "for (;;) a.push(new Array(1e4).fill(0)) } return 'fine' }",
        memory_limit_mb=64,
        timeout_seconds=2,
    )
    assert_record(invoke(admin, name, "bomb"), "error", 500, HEAP_EXCEEDED)
    after = invoke(admin, name, "ok")
    assert_record(after, "success", 200)
    assert after.response.text == "fine"
    unharmed()


def test_a_console_flood_is_capped_in_the_record_and_the_call_succeeds(admin, unharmed):
    code = (
        "function handler() { for (let i = 0; i < 300000; "
        "i++) console.log('flood ' + i + ' ' + 'y'.repeat(100)); return 'done' }"
    )
    outcome = run_hostile(admin, code, timeout_seconds=2)
    assert_record(outcome, "success", 200)
    logs = outcome.record["logs"]
    assert logs.startswith("console.log: flood 0 ")
    assert 256 * 1024 <= len(logs.encode()) <= 256 * 1024 + 1024
    assert "truncated" in logs.splitlines()[-1]
    unharmed()


def test_one_giant_log_line_is_capped(admin, unharmed):
    outcome = run_hostile(
        admin,
        "function handler() { console.error('e'.repeat(50 << 20)); return 'ok' }",
        timeout_seconds=2,
    )
    assert_record(outcome, "success", 200)
    assert len(outcome.record["logs"].encode()) <= 256 * 1024 + 1024
    unharmed()


@pytest.mark.parametrize(
    "code",
    [
        "function handler() { return 'z'.repeat(11 << 20) }",
        "function handler() { return {status: 200, body: 'z'.repeat(11 << 20)} }",
        "function handler() { return new Response('z'.repeat(11 << 20)) }",
        "function handler() { return {status: 200, body: {data: 'z'.repeat(11 << 20)}} }",
    ],
    ids=["string", "object-body", "web-response", "json-body"],
)
def test_a_response_over_10_mib_is_a_500_saying_so(admin, unharmed, code):
    outcome = run_hostile(admin, code, timeout_seconds=2)
    assert_record(outcome, "error", 500, "the response body is ")
    assert outcome.record["error_message"].endswith("bytes; the limit is 10485760")
    assert len(outcome.response.content) < 1024
    unharmed()


def test_a_response_just_under_10_mib_is_delivered_and_its_stored_result_is_capped(admin, unharmed):
    outcome = run_hostile(
        admin, "function handler() { return 'z'.repeat(10 << 20) }", timeout_seconds=2
    )
    assert_record(outcome, "success", 200)
    assert len(outcome.response.content) == 10 << 20
    assert len(outcome.record["result"].encode()) <= 64 * 1024 + 1024
    unharmed()
