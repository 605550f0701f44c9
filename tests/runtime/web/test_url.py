"""URL parsing against urllib.parse, with every WHATWG difference asserted and explained."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import idna
import pytest

from .conftest import WebIsolate, js_string

RFC_BASE = "http://a/b/c/d;p?q"


@dataclass(frozen=True)
class Case:
    """An input (and base), the WHATWG href, and why urllib answers differently, if it does."""

    input: str
    base: str | None
    href: str
    whatwg_differs: str | None = None


def rfc(reference: str, href: str, differs: str | None = None) -> Case:
    return Case(reference, RFC_BASE, href, differs)


CASES = [
    # RFC 3986 section 5.4 reference resolution, where urllib.parse.urljoin is the oracle.
    rfc("g", "http://a/b/c/g"),
    rfc("./g", "http://a/b/c/g"),
    rfc("g/", "http://a/b/c/g/"),
    rfc("/g", "http://a/g"),
    rfc("?y", "http://a/b/c/d;p?y"),
    rfc("g?y", "http://a/b/c/g?y"),
    rfc("#s", "http://a/b/c/d;p?q#s"),
    rfc("g#s", "http://a/b/c/g#s"),
    rfc("g?y#s", "http://a/b/c/g?y#s"),
    rfc(";x", "http://a/b/c/;x"),
    rfc("g;x?y#s", "http://a/b/c/g;x?y#s"),
    rfc("", "http://a/b/c/d;p?q"),
    rfc(".", "http://a/b/c/"),
    rfc("./", "http://a/b/c/"),
    rfc("..", "http://a/b/"),
    rfc("../g", "http://a/b/g"),
    rfc("../..", "http://a/"),
    rfc("../../g", "http://a/g"),
    rfc("../../../g", "http://a/g"),
    rfc("/./g", "http://a/g"),
    rfc("/../g", "http://a/g"),
    rfc("g.", "http://a/b/c/g."),
    rfc(".g", "http://a/b/c/.g"),
    rfc("..g", "http://a/b/c/..g"),
    rfc("./../g", "http://a/b/g"),
    rfc("./g/.", "http://a/b/c/g/"),
    rfc("g/./h", "http://a/b/c/g/h"),
    rfc("g/../h", "http://a/b/c/h"),
    rfc("g;x=1/../y", "http://a/b/c/y"),
    rfc("g?y/./x", "http://a/b/c/g?y/./x"),
    rfc("g#s/../x", "http://a/b/c/g#s/../x"),
    rfc("http:g", "http://a/b/c/g"),
    rfc("g:h", "g:h"),
    rfc("//g", "http://g/", "special URLs always have a path: the empty path becomes '/'"),
    rfc("\\g", "http://a/g", "a backslash is a path separator in special URLs"),
    Case("x", "file:///C:/a/b", "file:///C:/a/x"),
    Case(
        "q?a=\u00e9", "http://h/p/", "http://h/p/q?a=%C3%A9", "non-ASCII is UTF-8 percent-encoded"
    ),
    # Absolute URLs that urllib keeps verbatim and WHATWG keeps too.
    Case("http://example.com:8080/p?q=1#f", None, "http://example.com:8080/p?q=1#f"),
    Case("https://user:pw@example.com/a/b", None, "https://user:pw@example.com/a/b"),
    Case("mailto:someone@example.com", None, "mailto:someone@example.com"),
    Case("urn:isbn:0451450523", None, "urn:isbn:0451450523"),
    Case("ws://h:81/chat", None, "ws://h:81/chat"),
    Case("file:///etc/hosts", None, "file:///etc/hosts"),
    Case("sc://h:99/p/../q", None, "sc://h:99/q", "dot segments are removed in every URL"),
    # Normalizations that urllib does not make.
    Case("HTTP://EXAMPLE.COM:80/a", None, "http://example.com/a", "lower-cases, drops port 80"),
    Case("https://example.com:443", None, "https://example.com/", "default port and empty path"),
    Case("wss://h:443/", None, "wss://h/", "443 is the default port of wss"),
    Case("ftp://h:21/f", None, "ftp://h/f", "21 is the default port of ftp"),
    Case("http://h:0080/", None, "http://h/", "the port is a number: 0080 is the default 80"),
    Case("  http://h/p\t\n ", None, "http://h/p", "C0 spaces trimmed, tabs/newlines removed"),
    Case("http:\\\\h\\a\\b", None, "http://h/a/b", "backslashes act as slashes"),
    Case("http://h/a/%2e%2E/b/%2e", None, "http://h/b/", "percent-encoded dots are dot segments"),
    Case("http://h/a b/{c}?d e#f g", None, "http://h/a%20b/%7Bc%7D?d%20e#f%20g", "encode sets"),
    Case("http://h/?q='x'", None, "http://h/?q=%27x%27", "special-query set encodes '"),
    Case("sc://h/?q='x'", None, "sc://h/?q='x'"),
    Case("http://h/\u20ac?\u20ac#\u20ac", None, "http://h/%E2%82%AC?%E2%82%AC#%E2%82%AC", "UTF-8"),
    Case("http://us er:p@ss@h/", None, "http://us%20er:p%40ss@h/", "userinfo set"),
    Case("http://[2001:DB8:0:0:1:0:0:1]:8080/", None, "http://[2001:db8::1:0:0:1]:8080/", "IPv6"),
    Case("http://[0:0:0:0:0:0:0:1]/", None, "http://[::1]/", "IPv6 compression"),
    Case("http://[::ffff:192.168.0.1]/", None, "http://[::ffff:c0a8:1]/", "embedded IPv4 as hex"),
    Case("http://0x7f.1/", None, "http://127.0.0.1/", "IPv4 in hex with a 24-bit last part"),
    Case("http://2130706433/", None, "http://127.0.0.1/", "IPv4 as one 32-bit number"),
    Case("http://0177.0.0.01/", None, "http://127.0.0.1/", "IPv4 parts in octal"),
    Case("http://b\u00fccher.example/", None, "http://xn--bcher-kva.example/", "IDNA"),
    Case("http://EX%41MPLE.com./", None, "http://example.com./", "hosts are percent-decoded"),
    Case("file:///C|/x/../..", None, "file:///C:/", "a drive letter is never popped"),
    Case("file://localhost/x", None, "file:///x", "localhost is the empty file host"),
    Case("non-special:opaque  ?hi", None, "non-special:opaque %20?hi", "space before ?"),
    Case("#frag", "sc:opaque", "sc:opaque#frag", "urljoin only resolves schemes it knows"),
]


def urllib_href(case: Case) -> str:
    """Python's answer: urljoin for references, the input itself for absolute URLs."""
    return urljoin(case.base, case.input) if case.base is not None else case.input


def js_href(web: WebIsolate, case: Case) -> str:
    base = "" if case.base is None else f", {js_string(case.base)}"
    return str(web.eval(f"new URL({js_string(case.input)}{base}).href"))


@pytest.mark.parametrize("case", CASES, ids=lambda case: repr(case.input)[:40])
async def test_href_is_the_whatwg_answer(web: WebIsolate, case: Case) -> None:
    assert js_href(web, case) == case.href


@pytest.mark.parametrize("case", CASES, ids=lambda case: repr(case.input)[:40])
async def test_urllib_agrees_except_where_whatwg_says_otherwise(case: Case) -> None:
    if case.whatwg_differs is None:
        assert urllib_href(case) == case.href
    else:
        assert urllib_href(case) != case.href, f"no longer differs: {case.whatwg_differs}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: repr(case.input)[:40])
async def test_components_match_urlsplit_of_the_href(web: WebIsolate, case: Case) -> None:
    parts = urlsplit(case.href)
    base = "" if case.base is None else f", {js_string(case.base)}"
    got = web.json(
        f"(() => {{ const u = new URL({js_string(case.input)}{base});"
        " return [u.protocol, u.username, u.password, u.hostname, u.port, u.pathname,"
        " u.search, u.hash]; })()"
    )
    # urllib drops IPv6 brackets from hostname and cannot tell an empty query from none.
    hostname = parts.hostname or ""
    if ":" in hostname:
        hostname = f"[{hostname}]"
    assert got == [
        parts.scheme + ":",
        parts.username or "",
        parts.password or "",
        hostname,
        "" if parts.port is None else str(parts.port),
        parts.path,
        f"?{parts.query}" if parts.query else "",
        f"#{parts.fragment}" if parts.fragment else "",
    ]


INVALID = [
    ("http://h:65536/", "port above 65535"),
    ("http://[::1/", "unclosed IPv6 literal"),
    ("http://[1::2::3]/", "two :: in IPv6"),
]


@pytest.mark.parametrize(("url", "why"), INVALID)
async def test_urls_urllib_also_rejects_throw_type_errors(
    web: WebIsolate, url: str, why: str
) -> None:
    with pytest.raises(ValueError, match=r"(?i)port|ipv6"):
        _ = urlsplit(url).port
    error = web.error(f"new URL({js_string(url)})")
    assert error["name"] == "TypeError", why


@pytest.mark.parametrize(
    "url",
    [
        "http://",
        "http://a b/",
        "http://1.2.3.4.5/",
        "http://256.0.0.1/",
        "http://xn--/",
        "//no-base",
        "http://h%00/",
        "sc://a b/",
        "http://@/",
        "http://\u3000/",
    ],
)
async def test_invalid_urls_throw_and_can_parse_says_no(web: WebIsolate, url: str) -> None:
    got = web.json(f"[URL.canParse({js_string(url)}), URL.parse({js_string(url)})]")
    assert got == [False, None]
    assert web.error(f"new URL({js_string(url)})")["name"] == "TypeError"


async def test_can_parse_and_parse_take_a_base(web: WebIsolate) -> None:
    got = web.json("[URL.canParse('x', 'http://h/'), URL.parse('x', 'http://h/a').href]")
    assert got == [True, "http://h/x"]


async def test_an_invalid_base_is_a_type_error(web: WebIsolate) -> None:
    assert web.error("new URL('x', 'not a base')")["name"] == "TypeError"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://h:8443/p", "https://h:8443"),
        ("http://H:80/", "http://h"),
        ("file:///x", "null"),
        ("sc://h/", "null"),
        ("blob:https://h/uuid", "https://h"),
        ("blob:sc:x", "null"),
    ],
)
async def test_origin_is_scheme_host_and_port(web: WebIsolate, url: str, origin: str) -> None:
    assert web.eval(f"new URL({js_string(url)}).origin") == origin


async def test_unicode_hosts_are_punycoded_label_by_label_like_python(web: WebIsolate) -> None:
    host = "\u4f8b\u3048.\u30c6\u30b9\u30c8.Caf\u00e9.com"
    expected = ".".join(
        label.lower() if label.isascii() else "xn--" + label.lower().encode("punycode").decode()
        for label in host.split(".")
    )
    assert web.eval(f"new URL('http://' + {js_string(host)} + '/').hostname") == expected


async def test_punycode_hosts_round_trip_through_python_decoding(web: WebIsolate) -> None:
    hostname = web.eval("new URL('http://xn--mnchen-3ya.de/').hostname")
    assert hostname == "xn--mnchen-3ya.de"
    assert hostname.split(".")[0][4:].encode().decode("punycode") == "m\u00fcnchen"


async def test_full_width_and_ideographic_dots_map_like_nfkc(web: WebIsolate) -> None:
    got = web.eval("new URL('http://\uff25\uff38.com\u3002org/').hostname")
    assert got == "ex.com.org"


# UTS #46 as the URL Standard runs it, checked against the `idna` package where they agree
# (idna applies IDNA2008's stricter rules too, so only names valid under both are compared).
@pytest.mark.parametrize(
    "host",
    [
        "Bu\u0308cher.de",
        "fa\u00df.de",
        "\u03c3\u03bf\u03c6\u03cc\u03c2.gr",
        "\u0645\u062b\u0627\u0644.eg",
        "\u0928\u092e\u0938\u094d\u200d\u0924\u0947.in",
        "\u24b6\u24b7c.com",
    ],
)
async def test_idna_mapping_matches_the_idna_package(web: WebIsolate, host: str) -> None:
    expected = idna.encode(host, uts46=True, transitional=False).decode()
    assert web.eval(f"new URL('http://' + {js_string(host)} + '/').hostname") == expected


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("a\u2488.com", "U+2488 is disallowed by UTS #46"),
        ("\ufdd0.com", "a noncharacter"),
        ("xn--a.com", "Punycode that decodes to ASCII"),
        ("xn--ls8h\u00e9.com", "an xn-- label with non-ASCII characters"),
        ("\u0301abc.com", "a label starting with a combining mark"),
        ("a\u200db.com", "ZERO WIDTH JOINER not after a virama"),
        ("a\u200cb.com", "ZERO WIDTH NON-JOINER between non-joining letters"),
        ("\u05d0a.com", "a right-to-left label holding a left-to-right letter"),
        ("a\u05d0.com", "a left-to-right label holding a right-to-left letter"),
        ("\u0660\u06f0.com", "Arabic-Indic and European digits mixed"),
        ("xn--.com", "an empty Punycode label"),
    ],
)
async def test_hosts_uts46_rejects_do_not_parse(web: WebIsolate, host: str, why: str) -> None:
    assert web.eval(f"URL.canParse('http://' + {js_string(host)} + '/')") is False, why
    assert (
        web.eval(f"URL.canParse('http://ok.' + {js_string(host.split('.')[0])} + '.test/')")
        is False
    )


async def test_soft_hyphens_and_variation_selectors_are_ignored(web: WebIsolate) -> None:
    assert web.eval("new URL('http://ex\u00adam\ufe0fple.com/').hostname") == "example.com"


async def test_to_string_and_to_json_give_the_href(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const u = new URL('http://h/p?q'); return [String(u), u.toJSON(), JSON.stringify({u})]; })()"
    )
    assert got == [
        "http://h/p?q",
        "http://h/p?q",
        json.dumps({"u": "http://h/p?q"}, separators=(",", ":")),
    ]
