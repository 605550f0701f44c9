"""structuredClone round trips, shared references, and what cannot be cloned."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from .conftest import WebIsolate

JSON_VALUES = [
    None,
    True,
    0,
    -1.5,
    "text \u00e9 \U0001f600",
    [],
    [1, [2, [3, {"deep": [None]}]]],
    {"a": 1, "nested": {"list": ["x", {"y": False}]}, "": "empty key"},
]


@pytest.mark.parametrize("value", JSON_VALUES, ids=lambda v: json.dumps(v)[:30])
async def test_json_values_round_trip_as_equal_copies(web: WebIsolate, value: object) -> None:
    literal = json.dumps(value)
    got = web.json(
        f"(() => {{ const v = {literal}, c = structuredClone(v);"
        " return [c, v !== null && typeof v === 'object' ? c !== v : true]; })()"
    )
    assert got == [value, True]


async def test_special_numbers_and_bigint_survive(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const c = structuredClone([NaN, -0, Infinity, 2n ** 70n, undefined]);"
        " return [Number.isNaN(c[0]), Object.is(c[1], -0), c[2] === Infinity, String(c[3]),"
        " c[4] === undefined && 4 in c]; })()"
    )
    assert got == [True, True, True, str(2**70), True]


async def test_cycles_and_shared_references_are_preserved(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const shared = {n: 1}, v = {a: shared, b: [shared]}; v.self = v;
          const c = structuredClone(v);
          return [c.self === c, c.a === c.b[0], c.a !== shared, c.a.n]; })()"""
    )
    assert got == [True, True, True, 1]


async def test_dates_keep_their_time(web: WebIsolate) -> None:
    moment = datetime(2024, 2, 29, 12, 30, 15, 123000, tzinfo=UTC)
    millis = int(moment.timestamp() * 1000)
    got = web.json(
        f"(() => {{ const c = structuredClone(new Date({millis})); return [c instanceof Date, c.toISOString()]; }})()"
    )
    assert got == [True, moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")]


async def test_regexps_keep_source_and_flags(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const c = structuredClone(/a+b/giu); return [c instanceof RegExp, c.source, c.flags]; })()"
    )
    assert got == [True, "a+b", "giu"]


async def test_maps_and_sets_clone_keys_and_values(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const k = {id: 1}, m = new Map([[k, 'v'], ['s', k]]), s = new Set([k, 2]);
          const [cm, cs] = structuredClone([m, s]); const [ck] = cm.keys();
          return [cm instanceof Map, cm.get(ck), cm.get('s') === ck, cs.has(ck), cs.has(2), ck !== k]; })()"""
    )
    assert got == [True, "v", True, True, True, True]


async def test_buffers_and_views_keep_bytes_offsets_and_sharing(web: WebIsolate) -> None:
    data = bytes(range(16))
    got = web.json(
        f"""(() => {{ const buf = new Uint8Array({list(data)}).buffer;
          const view = new Uint16Array(buf, 4, 3), dv = new DataView(buf, 2, 5);
          const [cb, cv, cd] = structuredClone([buf, view, dv]);
          return [Array.from(new Uint8Array(cb)), cv.buffer === cb, cv.byteOffset, cv.length,
                  cv.constructor.name, cd.buffer === cb, cd.byteOffset, cd.byteLength, cb !== buf]; }})()"""
    )
    assert got == [list(data), True, 4, 3, "Uint16Array", True, 2, 5, True]


async def test_errors_keep_type_message_and_cause(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const e = structuredClone(new TypeError('bad', {cause: {why: 1}}));
          class Custom extends Error {}
          const c = structuredClone(new Custom('m'));
          return [e instanceof TypeError, e.message, e.cause, typeof e.stack,
                  c.constructor.name, c.message]; })()"""
    )
    assert got == [True, "bad", {"why": 1}, "string", "Error", "m"]


async def test_class_instances_become_plain_objects(web: WebIsolate) -> None:
    got = web.json(
        """(() => { class P { constructor() { this.x = 1; } get y() { return 2; } }
          const c = structuredClone(new P());
          return [Object.getPrototypeOf(c) === Object.prototype, c]; })()"""
    )
    assert got == [True, {"x": 1}]


@pytest.mark.parametrize(
    "value",
    [
        "() => 1",
        "Symbol('s')",
        "{f() {}}",
        "new WeakMap()",
        "Promise.resolve()",
        "[Symbol.iterator]",
    ],
)
async def test_uncloneable_values_throw_data_clone_error(web: WebIsolate, value: str) -> None:
    error = web.error(f"structuredClone({value})")
    assert (error["name"], error["code"], error["constructor"]) == (
        "DataCloneError",
        25,
        "DOMException",
    )


async def test_transfer_detaches_the_original_buffer(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const b = new Uint8Array([1, 2, 3]).buffer;
          const c = structuredClone({b}, {transfer: [b]});
          return [b.byteLength, b.detached, Array.from(new Uint8Array(c.b))]; })()"""
    )
    assert got == [0, True, [1, 2, 3]]


async def test_transferring_something_other_than_a_buffer_fails(web: WebIsolate) -> None:
    assert web.error("structuredClone(1, {transfer: [{}]})")["name"] == "DataCloneError"
