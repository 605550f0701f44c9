"""headers.js in a real isolate: the Fetch standard's Headers class."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from py_mini_racer import MiniRacer

from ._jsload import js, js_error, web_isolate


@pytest.fixture
async def mr() -> AsyncIterator[MiniRacer]:
    isolate = await web_isolate(upto="headers.js")
    yield isolate
    isolate.close()


async def test_names_are_case_insensitive(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers({ 'Content-Type': 'text/html' });
        return [h.get('content-type'), h.get('CONTENT-TYPE'), h.has('Content-type'),
                h.has('x')];""",
    )
    assert got == ["text/html", "text/html", True, False]


async def test_get_returns_null_for_an_absent_name(mr: MiniRacer) -> None:
    assert await js(mr, "return new Headers().get('x-missing')") is None


async def test_get_combines_repeated_values_with_comma_space(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers();
        h.append('Accept', 'text/html'); h.append('accept', 'application/json');
        return h.get('ACCEPT');""",
    )
    assert got == "text/html, application/json"


async def test_iteration_is_lower_case_and_sorted_with_values_combined(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers([['X-B', '1'], ['a', 'z'], ['x-b', '2'], ['C', '3']]);
        return [...h];""",
    )
    assert got == [["a", "z"], ["c", "3"], ["x-b", "1, 2"]]


async def test_set_cookie_values_are_never_combined(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers();
        h.append('Set-Cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
        h.append('set-cookie', 'b=2');
        return [[...h], h.getSetCookie(), h.get('set-cookie')];""",
    )
    assert got == [
        [["set-cookie", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"], ["set-cookie", "b=2"]],
        ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
        "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT, b=2",
    ]


async def test_sorting_keeps_each_names_values_in_order_and_follows_changes(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers([['x-b', '1'], ['set-cookie', 's1'], ['A', 'z'], ['x-b', '2'],
          ['Set-Cookie', 's2'], ['x-b', '3'], ['x-a', 'q']]);
        const before = [...h];
        h.append('a', 'y');
        h.delete('x-b');
        return [before, [...h]];""",
    )
    assert got == [
        [["a", "z"], ["set-cookie", "s1"], ["set-cookie", "s2"], ["x-a", "q"], ["x-b", "1, 2, 3"]],
        [["a", "z, y"], ["set-cookie", "s1"], ["set-cookie", "s2"], ["x-a", "q"]],
    ]


async def test_get_set_cookie_is_empty_without_cookies(mr: MiniRacer) -> None:
    assert await js(mr, "return new Headers({ a: 'b' }).getSetCookie()") == []


async def test_set_replaces_every_value_of_a_name(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers([['a', '1'], ['b', '2'], ['A', '3']]);
        h.set('a', 'new');
        return [...h];""",
    )
    assert got == [["a", "new"], ["b", "2"]]


async def test_delete_removes_every_value_of_a_name(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers([['a', '1'], ['b', '2'], ['A', '3']]);
        h.delete('A');
        return [...h];""",
    )
    assert got == [["b", "2"]]


async def test_values_lose_leading_and_trailing_http_whitespace(mr: MiniRacer) -> None:
    got = await js(mr, r"return new Headers({ a: ' \t x  y \r\n' }).get('a')")
    assert got == "x  y"


@pytest.mark.parametrize("name", ["'bad name'", "''", "'a:b'", "'é'", "'naïve'"])
async def test_invalid_names_throw_type_error(mr: MiniRacer, name: str) -> None:
    error = await js_error(mr, f"new Headers().append({name}, 'v')")
    assert error.constructor == "TypeError"


@pytest.mark.parametrize("value", [r"'a\nb'", r"'a\rb'", r"'a\0b'", "'€'"])
async def test_invalid_values_throw_type_error(mr: MiniRacer, value: str) -> None:
    error = await js_error(mr, f"new Headers().set('x', {value})")
    assert error.constructor == "TypeError"


async def test_latin1_values_are_accepted(mr: MiniRacer) -> None:
    assert await js(mr, "return new Headers({ x: 'caf\\u00e9' }).get('x')") == "café"


async def test_init_from_another_headers_copies_its_entries(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const a = new Headers({ x: '1' });
        const b = new Headers(a);
        b.set('y', '2');
        return [[...a], [...b]];""",
    )
    assert got == [[["x", "1"]], [["x", "1"], ["y", "2"]]]


async def test_init_from_a_record_uses_own_enumerable_properties(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const init = Object.create({ inherited: 'no' });
        init.own = 'yes';
        Object.defineProperty(init, 'hidden', { value: 'no', enumerable: false });
        return [...new Headers(init)];""",
    )
    assert got == [["own", "yes"]]


@pytest.mark.parametrize("init", ["[['a']]", "[['a', 'b', 'c']]", "['ab']", "'a: b'", "42"])
async def test_malformed_init_throws_type_error(mr: MiniRacer, init: str) -> None:
    error = await js_error(mr, f"new Headers({init})")
    assert error.constructor == "TypeError"


async def test_for_each_passes_value_name_and_headers_with_this_arg(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers({ B: '2', a: '1' });
        const seen = [];
        const self = { tag: 'this' };
        h.forEach(function (value, name, target) {
          seen.push([value, name, target === h, this.tag]);
        }, self);
        return seen;""",
    )
    assert got == [["1", "a", True, "this"], ["2", "b", True, "this"]]


async def test_keys_values_and_entries_iterate_the_sorted_view(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers({ b: '2', a: '1' });
        return [[...h.keys()], [...h.values()], [...h.entries()],
                Object.prototype.toString.call(h.keys()), h.entries().toArray().length];""",
    )
    assert got == [["a", "b"], ["1", "2"], [["a", "1"], ["b", "2"]], "[object Headers Iterator]", 2]


async def test_an_iterator_sees_changes_made_while_iterating(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const h = new Headers({ a: '1' });
        const names = [];
        for (const name of h.keys()) {
          names.push(name);
          if (name === 'a') h.append('b', '2');
        }
        return names;""",
    )
    assert got == ["a", "b"]


async def test_methods_reject_foreign_receivers(mr: MiniRacer) -> None:
    error = await js_error(mr, "Headers.prototype.get.call({}, 'a')")
    assert error.constructor == "TypeError"


async def test_headers_is_a_non_enumerable_global_with_a_string_tag(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const d = Object.getOwnPropertyDescriptor(globalThis, 'Headers');
        return [d.enumerable, d.writable, d.configurable, String(new Headers())];""",
    )
    assert got == [False, True, True, "[object Headers]"]


async def test_methods_and_the_iterators_next_are_enumerable_as_webidl_operations(
    mr: MiniRacer,
) -> None:
    got = await js(
        mr,
        """const proto = Headers.prototype;
        const names = ['append', 'delete', 'get', 'getSetCookie', 'has', 'set', 'forEach',
                       'keys', 'values', 'entries'];
        const next = Object.getOwnPropertyDescriptor(
          Object.getPrototypeOf(new Headers().keys()), 'next');
        return [names.filter((n) => !Object.getOwnPropertyDescriptor(proto, n).enumerable),
                next.enumerable, next.writable, next.configurable];""",
    )
    assert got == [[], True, True, True]


async def test_a_record_converts_each_key_before_reading_its_value(mr: MiniRacer) -> None:
    # WebIDL record<ByteString, ByteString>: an invalid key throws before its value is read, and
    # a record that fails appends nothing.
    got = await js(
        mr,
        """const log = [];
        const record = { a: 'b', '\\uFFFF': 'c' };
        const proxy = new Proxy(record, {
          ownKeys: (t) => { log.push('ownKeys'); return Reflect.ownKeys(t); },
          getOwnPropertyDescriptor: (t, k) => {
            log.push('gopd ' + String(k)); return Reflect.getOwnPropertyDescriptor(t, k); },
          get: (t, k, r) => { log.push('get ' + String(k)); return Reflect.get(t, k, r); },
        });
        let error = null;
        try { new Headers(proxy); } catch (e) { error = e.constructor.name; }
        return [error, log];""",
    )
    assert got == [
        "TypeError",
        ["get Symbol(Symbol.iterator)", "ownKeys", "gopd a", "get a", "gopd \uffff"],
    ]


async def test_a_symbol_key_in_a_record_is_a_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "new Headers({ a: 'b', [Symbol('s')]: 'c' })")
    assert error.constructor == "TypeError"
