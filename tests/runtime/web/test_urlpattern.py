"""URLPattern (urlpattern_parser.js, urlpattern.js) in a real isolate: loaded on first use, the
pattern syntax router libraries use, canonical pattern strings, base URLs and the errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from py_mini_racer import MiniRacer

from ._jsload import js, js_error, web_isolate


@pytest.fixture
async def mr() -> AsyncIterator[MiniRacer]:
    isolate = await web_isolate()
    yield isolate
    isolate.close()


async def test_urlpattern_is_an_accessor_until_first_use_then_a_plain_global(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const before = Object.getOwnPropertyDescriptor(globalThis, 'URLPattern');
        const ctor = URLPattern;
        const after = Object.getOwnPropertyDescriptor(globalThis, 'URLPattern');
        return [typeof before.get, typeof ctor, after.value === ctor, after.enumerable,
                Object.prototype.toString.call(new URLPattern({}))];""",
    )
    assert got == ["function", "function", True, False, "[object URLPattern]"]


async def test_assigning_the_global_before_use_replaces_it(mr: MiniRacer) -> None:
    assert await js(mr, "globalThis.URLPattern = 5; return URLPattern;") == 5


@pytest.mark.parametrize(
    ("pattern", "url", "groups"),
    [
        ("/users/:id", "https://a.test/users/42", {"id": "42"}),
        ("/users/:id", "https://a.test/users/42/posts", None),
        ("/files/*", "https://a.test/files/a/b.txt", {"0": "a/b.txt"}),
        ("/posts/:slug?", "https://a.test/posts", {"slug": None}),
        ("/posts/:slug?", "https://a.test/posts/hello", {"slug": "hello"}),
        ("/a/:rest+", "https://a.test/a/b/c", {"rest": "b/c"}),
        ("/a/:rest*", "https://a.test/a", {"rest": None}),
        ("/n/:id(\\\\d+)", "https://a.test/n/12", {"id": "12"}),
        ("/n/:id(\\\\d+)", "https://a.test/n/ab", None),
        ("/book{s}?", "https://a.test/books", {}),
        ("/book{s}?", "https://a.test/book", {}),
        ("/:file.:ext", "https://a.test/report.pdf", {"file": "report", "ext": "pdf"}),
    ],
)
async def test_pathname_patterns_match_like_router_routes(
    mr: MiniRacer, pattern: str, url: str, groups: dict[str, str | None] | None
) -> None:
    got = await js(
        mr,
        f"""const p = new URLPattern({{ pathname: '{pattern}' }});
        const m = p.exec('{url}');
        if (m === null) return [p.test('{url}'), null];
        const g = {{}};
        for (const [k, v] of Object.entries(m.pathname.groups)) g[k] = v ?? null;
        return [p.test('{url}'), g];""",
    )
    assert got == [groups is not None, groups]


async def test_a_full_url_pattern_string_splits_into_components(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const p = new URLPattern('https://:sub.example.com:8080/api/:v/list?q=:q#frag');
        return [p.protocol, p.username, p.password, p.hostname, p.port, p.pathname, p.search,
                p.hash, p.hasRegExpGroups];""",
    )
    assert got == [
        "https",
        "*",
        "*",
        ":sub.example.com",
        "8080",
        "/api/:v/list",
        "q=:q",
        "frag",
        False,
    ]


async def test_exec_reports_every_component_and_the_inputs(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const p = new URLPattern({ hostname: ':sub.example.com', pathname: '/u/:id' });
        const m = p.exec('https://api.example.com/u/7?x=1#top');
        return [m.inputs, m.protocol, m.hostname, m.pathname, m.search, m.hash];""",
    )
    assert got == [
        ["https://api.example.com/u/7?x=1#top"],
        {"input": "https", "groups": {"0": "https"}},
        {"input": "api.example.com", "groups": {"sub": "api"}},
        {"input": "/u/7", "groups": {"id": "7"}},
        {"input": "x=1", "groups": {"0": "x=1"}},
        {"input": "top", "groups": {"0": "top"}},
    ]


async def test_relative_patterns_and_inputs_resolve_against_a_base_url(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const p = new URLPattern('/shop/:item', 'https://store.test');
        return [p.protocol, p.hostname, p.pathname, p.test('/shop/hat', 'https://store.test'),
                p.test('https://other.test/shop/hat'), p.exec('../shop/x', 'https://store.test/a/b')
                  .pathname.groups.item];""",
    )
    assert got == ["https", "store.test", "/shop/:item", True, False, "x"]


async def test_patterns_are_canonicalized_like_urls(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const p = new URLPattern({ protocol: 'https', hostname: 'café.com', port: '443',
                                     pathname: '/a b/./c' });
        return [p.protocol, p.hostname, p.port, p.pathname,
                new URLPattern({ pathname: '/:a(foo|bar)/(\\\\d+)' }).pathname];""",
    )
    # The default port of a special scheme is dropped; pathnames are percent-encoded and
    # their dot segments resolved.
    assert got == ["https", "xn--caf-dma.com", "", "/a%20b/c", "/:a(foo|bar)/(\\d+)"]


async def test_ignore_case_and_regexp_groups(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const strict = new URLPattern({ pathname: '/Docs/:page' });
        const loose = new URLPattern({ pathname: '/Docs/:page' }, { ignoreCase: true });
        const rx = new URLPattern({ pathname: '/(a|b)/:x' });
        return [strict.test({ pathname: '/docs/x' }), loose.test({ pathname: '/docs/x' }),
                rx.hasRegExpGroups, rx.exec({ pathname: '/b/y' }).pathname.groups];""",
    )
    assert got == [False, True, True, {"0": "b", "x": "y"}]


async def test_a_dictionary_input_matches_component_by_component(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const p = new URLPattern({ pathname: '/x/:id', search: 'page=:n' });
        return [p.test({ pathname: '/x/1', search: '?page=2' }), p.test({ pathname: '/x/1' }),
                p.test({ pathname: '/x/1', search: 'page=2', baseURL: 'https://a.test' }),
                p.test({ port: 'bad' })];""",
    )
    assert got == [True, False, True, False]


@pytest.mark.parametrize(
    "code",
    [
        "new URLPattern('/relative/without/base')",
        "new URLPattern({ pathname: '/:id/:id' })",
        "new URLPattern({ pathname: '/(' })",
        "new URLPattern({ pathname: '/(?<x>a)' })",
        "new URLPattern({ pathname: '/([)' })",
        "new URLPattern({ hostname: 'bad host' })",
        "new URLPattern({ port: 'http' })",
        "new URLPattern({ pathname: '/a' }, 'https://base.test')",
        "new URLPattern({}).exec({}, 'https://base.test')",
    ],
)
async def test_invalid_patterns_throw_type_error(mr: MiniRacer, code: str) -> None:
    assert (await js_error(mr, code)).constructor == "TypeError"


async def test_the_url_internals_stay_unreachable_after_loading(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """new URLPattern({});
        return ['__flux_url', '__flux_webutil'].filter((name) => name in globalThis);""",
    )
    assert got == []
