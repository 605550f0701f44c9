"""URLSearchParams against urllib's form parsing/encoding, and URL setters with the live query."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from .conftest import WebIsolate, js_string

QUERIES = [
    "a=1&b=2",
    "a=1&a=2&b",
    "x=%E2%82%AC+%F0%9F%98%80&y=a+b%2Bc",
    "=empty-name&&trailing=",
    "bad=%zz%4&utf=%FF%C3",
    "k=v=w&semi=a;b",
]


def form_encode(pairs: list[tuple[str, str]]) -> str:
    """Python's urlencode, adjusted for the form set: WHATWG keeps '*' and encodes '~'."""
    return urlencode(pairs, safe="*").replace("~", "%7E")


@pytest.mark.parametrize("query", QUERIES)
async def test_parsing_matches_parse_qsl_keeping_blanks(web: WebIsolate, query: str) -> None:
    got = web.json(f"[...new URLSearchParams({js_string(query)})]")
    assert [tuple(pair) for pair in got] == parse_qsl(query, keep_blank_values=True)


async def test_a_leading_question_mark_is_ignored(web: WebIsolate) -> None:
    assert web.json("[...new URLSearchParams('?a=1')]") == [["a", "1"]]


@pytest.mark.parametrize(
    "pairs",
    [
        [("a", "1"), ("b", "two words")],
        [("sym", "!'()*-._~"), ("eq", "a=b&c"), ("plus", "+")],
        [("\u20ac", "\U0001f600"), ("", "")],
    ],
)
async def test_serialization_matches_urlencode_with_the_form_set(
    web: WebIsolate, pairs: list[tuple[str, str]]
) -> None:
    got = web.eval(f"new URLSearchParams({js_string_pairs(pairs)}).toString()")
    assert got == form_encode(pairs)


def js_string_pairs(pairs: list[tuple[str, str]]) -> str:
    return "[" + ",".join(f"[{js_string(name)}, {js_string(value)}]" for name, value in pairs) + "]"


async def test_init_from_a_record_and_from_another_params_object(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const p = new URLSearchParams({b: '2', a: 1});"
        " return [p.toString(), new URLSearchParams(p).toString()]; })()"
    )
    assert got == ["b=2&a=1", "b=2&a=1"]


async def test_pairs_with_other_than_two_items_are_a_type_error(web: WebIsolate) -> None:
    assert web.error("new URLSearchParams([['a', '1', 'x']])")["name"] == "TypeError"


async def test_list_methods_follow_the_standard(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const p = new URLSearchParams('a=1&b=2&a=3&c=4&a=5');
          const out = [p.get('a'), p.getAll('a'), p.get('zz'), p.has('b'), p.has('a', '3'),
                       p.has('a', '9'), p.size];
          p.set('a', 'x'); out.push(p.toString());
          p.delete('c', '9'); p.delete('b'); out.push(p.toString());
          p.append('c', 'y'); p.delete('c', '4'); out.push(p.toString());
          return out; })()"""
    )
    assert got == [
        "1",
        ["1", "3", "5"],
        None,
        True,
        True,
        False,
        5,
        "a=x&b=2&c=4",
        "a=x&c=4",
        "a=x&c=y",
    ]


async def test_sort_is_stable_by_utf16_code_units(web: WebIsolate) -> None:
    got = web.eval(
        "(() => { const p = new URLSearchParams('z=1&\uffff=2&a=3&\U0001f600=4&z=0');"
        " p.sort(); return [...p.keys()].join(','); })()"
    )
    # U+1F600 is a surrogate pair starting 0xD83D, below U+FFFF in code-unit order.
    assert got == "a,z,z,\U0001f600,\uffff"
    assert (
        web.eval(
            "(() => { const p = new URLSearchParams('b=1&a=2&b=0'); p.sort(); return p.toString(); })()"
        )
        == "a=2&b=1&b=0"
    )


async def test_for_each_keys_values_and_entries(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const p = new URLSearchParams('a=1&b=2'), seen = [];
          p.forEach((value, name, self) => seen.push([name, value, self === p]));
          return [seen, [...p.keys()], [...p.values()], [...p.entries()], [...p]]; })()"""
    )
    assert got == [
        [["a", "1", True], ["b", "2", True]],
        ["a", "b"],
        ["1", "2"],
        [["a", "1"], ["b", "2"]],
        [["a", "1"], ["b", "2"]],
    ]


async def test_search_params_write_through_to_the_url(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const u = new URL('http://h/p?b=2#f'), p = u.searchParams;
          p.append('a', 'x y'); const first = u.href;
          p.delete('a'); p.delete('b'); return [first, u.href, u.search]; })()"""
    )
    assert got == ["http://h/p?b=2&a=x+y#f", "http://h/p#f", ""]


async def test_url_changes_are_seen_by_search_params(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const u = new URL('http://h/?a=1'), p = u.searchParams;
          u.search = '?b=2&b=3'; const afterSearch = p.getAll('b');
          u.href = 'http://x/?c=4'; return [afterSearch, p.get('c'), p.has('b'), p === u.searchParams]; })()"""
    )
    assert got == [["2", "3"], "4", False, True]


SETTERS = [
    ("http://a/p?q#h", "protocol", "https", "https://a/p?q#h"),
    ("http://a/p", "protocol", "sc", "http://a/p"),
    ("http://a:443/", "protocol", "https", "https://a/"),
    ("http://a/", "username", "us er@:", "http://us%20er%40%3A@a/"),
    ("file:///x", "username", "u", "file:///x"),
    ("http://a/", "password", "p:w", "http://:p%3Aw@a/"),
    ("http://a/p", "host", "b:81", "http://b:81/p"),
    ("http://a/p", "host", "example.com:65536", "http://example.com/p"),
    ("http://a/p", "hostname", "example.com:8080", "http://a/p"),
    ("http://a/p", "hostname", "[::1]", "http://[::1]/p"),
    ("http://a/p", "host", "", "http://a/p"),
    ("sc:opaque", "host", "x", "sc:opaque"),
    ("http://a:80/", "port", "8080abc", "http://a:8080/"),
    ("http://a:81/", "port", "", "http://a/"),
    ("http://a/", "port", "99999", "http://a/"),
    ("https://a:1/", "port", "443", "https://a/"),
    ("http://a/p", "pathname", "/x/../y z", "http://a/y%20z"),
    ("sc:opaque", "pathname", "x", "sc:opaque"),
    ("http://a/p?q", "search", "a=b c", "http://a/p?a=b%20c"),
    ("http://a/p?q#h", "search", "", "http://a/p#h"),
    ("http://a/p#h", "hash", "x y", "http://a/p#x%20y"),
    ("http://a/p#h", "hash", "", "http://a/p"),
    ("http://a/p", "href", "https://b/c", "https://b/c"),
]


@pytest.mark.parametrize(("url", "name", "value", "href"), SETTERS, ids=lambda v: str(v)[:20])
async def test_setters_follow_the_standard(
    web: WebIsolate, url: str, name: str, value: str, href: str
) -> None:
    got = web.eval(
        f"(() => {{ const u = new URL({js_string(url)}); u.{name} = {js_string(value)}; return u.href; }})()"
    )
    assert got == href


async def test_setting_an_invalid_href_throws_and_keeps_the_url(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const u = new URL('http://h/'); try { u.href = 'nope'; } catch (e) { return [e.name, u.href]; } })()"
    )
    assert got == ["TypeError", "http://h/"]
