"""The URL parser's fast path for plain http(s) URLs gives exactly what the full parser gives.

The fast path only sees input that starts with "http"; a leading space (which the standard strips)
sends the same URL through the full state machine. So `new URL(u)` and `new URL(" " + u)` must agree
on every component for every generated URL: plain ones (the fast path's) and near misses built
from the same parts (upper case, dot segments, numeric and punycode hosts, big ports, characters
an encode set touches, credentials, backslashes), which must fall back and still agree.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import pytest

from ._jsload import web_isolate
from .conftest import WebIsolate, js_string


@pytest.fixture
async def request_isolate() -> AsyncIterator[WebIsolate]:
    """An isolate with the whole web prelude (URL and Request)."""
    isolate = await web_isolate()
    yield WebIsolate(isolate)
    isolate.close()


PLAIN_HOSTS = [
    "example.com",
    "a",
    "localhost",
    "api.example.co.uk",
    "x-y.z9",
    "127.0.0.1",
    "10.0.0.255",
    "0.0.0.0",  # noqa: S104 - parsed, never bound
    "a.b-c.d",
    "1a.b",
    "0x1.com",
    "-lead.trail-",
]
MISS_HOSTS = [
    "Example.COM",
    "1.2.3",
    "127.1",
    "0x7f.1",
    "256.0.0.1",
    "01.2.3.4",
    "xn--nxasmq6b.com",
    "xn--a.com",
    "a..b",
    "a.b.",
    "[::1]",
    "ex%41mple.com",
    "exa mple.com",
    "bücher.de",
    "a.0x",
    "a.09",
    "a_b.com",
    "",
    "a.123",
]
PLAIN_SEGMENTS = [
    "",
    "a",
    "b.c",
    "..a",
    "a..",
    ".x",
    "%2F",
    "%2",
    "~u",
    "a;b=c",
    "@",
    "[x]",
    "|",
    "!$&'()*+,",
    "a:b",
    "-_.",
    "0",
]
MISS_SEGMENTS = [
    ".",
    "..",
    "%2e",
    "%2E.",
    ".%2e",
    "%2e%2e",
    "a b",
    "a\\b",
    "é",
    "a^b",
    "a`b",
    "{x}",
    'a"b',
    "<a>",
    "\t",
]
PLAIN_QUERIES = [None, "", "a=1", "n=20&x=y", "a=b?c", "q=%20+x", "x=[1]|{2}^`\\", "a/b:c@d", "=&="]
MISS_QUERIES = ["a b", "it's", 'x="y"', "<a>", "é=1", "a\nb"]
PLAIN_FRAGMENTS = [None, "", "top", "a#b", "x?y/z", "%41", "'"]
MISS_FRAGMENTS = ["a b", "`x`", "<x>", 'a"b', "é"]
PLAIN_PORTS = [None, "", "80", "443", "8080", "0", "65535", "080", "00443"]
MISS_PORTS = ["65536", "99999", "123456", "8o", "-1"]
SCHEMES = ["http", "https"]
MISS_SCHEMES = ["HTTP", "Https", "ws", "ftp", "file", "foo", "http:/", "https:"]


def generate(rng: random.Random, near_miss: bool) -> str:
    """One URL from the parts above; with `near_miss`, exactly one part comes from a miss list."""
    parts = {
        "scheme": SCHEMES,
        "host": PLAIN_HOSTS,
        "port": PLAIN_PORTS,
        "segment": PLAIN_SEGMENTS,
        "query": PLAIN_QUERIES,
        "fragment": PLAIN_FRAGMENTS,
    }
    misses = {
        "scheme": MISS_SCHEMES,
        "host": MISS_HOSTS,
        "port": MISS_PORTS,
        "segment": MISS_SEGMENTS,
        "query": MISS_QUERIES,
        "fragment": MISS_FRAGMENTS,
        "userinfo": ["u@", "u:p@", ":@"],
    }
    missed = rng.choice(sorted(misses)) if near_miss else None

    def pick(name: str) -> str | None:
        return rng.choice(misses[name] if name == missed else parts[name])

    url = f"{pick('scheme')}://"
    if missed == "userinfo":
        url += rng.choice(misses["userinfo"])
    url += pick("host") or ""
    port = pick("port")
    if port is not None:
        url += ":" + port
    segments = [pick("segment") or "" for _ in range(rng.randrange(0, 4))]
    if segments:
        url += "/" + "/".join(segments)
    query = pick("query")
    if query is not None:
        url += "?" + query
    fragment = pick("fragment")
    if fragment is not None:
        url += "#" + fragment
    return url


COMPARE = """(() => {
  const read = (input, base) => {
    try {
      const u = base === undefined ? new URL(input) : new URL(input, base);
      return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port,
              u.pathname, u.search, u.hash, [...u.searchParams], new Request(input).url];
    } catch (e) {
      return [e.name];
    }
  };
  const differ = [];
  for (const [url, base] of __CASES__) {
    const fast = read(url, base);
    const full = read(" " + url, base);
    if (JSON.stringify(fast) !== JSON.stringify(full)) differ.push({url, base, fast, full});
  }
  return differ;
})()"""


async def test_the_fast_path_agrees_with_the_full_parser(request_isolate: WebIsolate) -> None:
    rng = random.Random(15)  # noqa: S311 - reproducible test input
    urls = [generate(rng, near_miss=index % 3 == 0) for index in range(3000)]
    cases = [
        [url, None if index % 4 else "https://base.example/dir/page?q#f"]
        for index, url in enumerate(urls)
    ]
    code = COMPARE.replace("__CASES__", json.dumps(cases)).replace("null]", "undefined]")
    differ = request_isolate.json(code)
    assert differ == []
    # The generator does reach both sides: plain URLs parse, near misses include failures.
    outcomes = request_isolate.json(
        "(() => { let ok = 0, failed = 0; for (const u of " + json.dumps(urls) + ") "
        "{ try { new URL(u); ok++; } catch { failed++; } } return [ok, failed]; })()"
    )
    assert outcomes[0] > 2000
    assert outcomes[1] > 50


async def test_a_url_made_by_the_fast_path_behaves_like_any_other(
    request_isolate: WebIsolate,
) -> None:
    # The record the fast path builds is edited in place by setters and bound to searchParams.
    got = request_isolate.json(
        "(() => { const u = new URL(" + js_string("http://h.example:8080/a/b?x=1&y=2#f") + ");"
        " const params = u.searchParams; params.append('z', '3'); u.pathname = '/c/../d';"
        " u.port = '80'; u.hash = ''; const before = u.href; u.search = '?k=v';"
        " return [before, u.href, [...params], u.searchParams === params]; })()"
    )
    assert got == [
        "http://h.example/d?x=1&y=2&z=3",
        "http://h.example/d?k=v",
        [["k", "v"]],
        True,
    ]


async def test_the_same_url_parsed_again_is_a_url_of_its_own(request_isolate: WebIsolate) -> None:
    # The fast path keeps its last match: a second URL from the same string (and the string a
    # Request checked) must start from the string, not from the first URL's edits.
    got = request_isolate.json(
        "(() => { const s = " + js_string("http://h.example:8080/a/b?x=1") + ";"
        " const first = new URL(s); first.pathname = '/changed'; first.searchParams.append('y', '2');"
        " const request = __flux_web.requestFromPlain({ method: 'GET', url: s, headers: [] });"
        " const second = new URL(request.url); const other = new URL('http://other.example/');"
        " return [first.href, second.href, new URL(s).pathname, other.href, request.url]; })()"
    )
    assert got == [
        "http://h.example:8080/changed?x=1&y=2",
        "http://h.example:8080/a/b?x=1",
        "/a/b",
        "http://other.example/",
        "http://h.example:8080/a/b?x=1",
    ]


# An incoming request's URL is taken as it is when the fast path above would serialize it back
# unchanged (url_parser.js `isSerializedURL`); every other URL goes through the parser. Either way the
# Request's url is what `new Request(url)` gives, and a URL it refuses is refused.
INCOMING = """(() => {
  const read = (make) => { try { return make().url; } catch (e) { return e.name; } };
  const differ = [];
  let taken = 0;
  for (const url of __URLS__) {
    const incoming = read(() => __flux_web.requestFromPlain({ method: 'GET', url, headers: [] }));
    const made = read(() => new Request(url));
    if (incoming === url) taken++;
    if (incoming !== made) differ.push({ url, incoming, made });
  }
  return [differ, taken];
})()"""


async def test_an_incoming_request_url_is_what_the_parser_makes_of_it(
    request_isolate: WebIsolate,
) -> None:
    rng = random.Random(16)  # noqa: S311 - reproducible test input
    urls = [generate(rng, near_miss=index % 2 == 0) for index in range(3000)]
    # What a server sends: the generated URLs without their fragments, with and without a path.
    urls += [url.partition("#")[0] for url in urls]
    urls += [
        "http://127.0.0.1:9000/api/v1/functions/r/invoke?n=10",
        "https://example.com",
        "http://example.com:80/x",
        "https://example.com:443/x",
        "http://example.com:8080/a/./b",
        "http://example.com/a/%2E%2e/b?q=/./",
        "http://user:pass@example.com/",
        "http://xn--nxasmq6b.com/",
        "http://1.2.3.256/",
        "http://a.b/it's?it's",
    ]
    differ, taken = request_isolate.json(INCOMING.replace("__URLS__", json.dumps(urls)))
    assert differ == []
    assert taken > 1000  # the check does take the common URLs as they are
