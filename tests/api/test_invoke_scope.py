"""The invoke path reads the URL, query and Authorization from the ASGI scope: the same strings
Litestar's `Request` helpers give, for every kind of scope a server hands over."""

from __future__ import annotations

import itertools

import pytest
from litestar import Litestar, Request

from flux_edge.api.answers import HttpError
from flux_edge.api.calls import call_input, request_url
from flux_edge.asgi import authorization_header
from flux_edge.runtime.wire import query_params

APP = Litestar([])

QUERIES = [
    b"",
    b"n=20",
    b"a=1&a=2&b=",
    b"flag&x=%20y+z",
    b"k=%E2%9C%93&%C3%A9=v",
    b"bad=%ZZ&pct=%",
    b"raw=%FF%FE",
    b"a=1;b=2",
    b"&&=&x==y",
]
HOSTS = [
    [(b"host", b"example.com")],
    [(b"host", b"127.0.0.1:8080")],
    [(b"host", b"[::1]:9000")],
    [(b"host", b"first.test"), (b"host", b"second.test")],
    [],  # no Host header: the server's address
]
SERVERS = [("127.0.0.1", 80), ("10.0.0.2", 8080), ("::1", 443), None]
SCHEMES = ["http", "https"]
ROOT_PATHS = ["", "/prefix"]
AUTHORIZATION = [
    [],
    [(b"authorization", b"Bearer abc")],
    [(b"Authorization", b"Bearer upper")],
    [(b"authorization", b"Bearer one"), (b"authorization", b"Bearer two")],
    [(b"authorization", b"caf\xe9")],
]


def scope_of(query, hosts, server, scheme, root_path, authorization):
    return {
        "type": "http",
        "method": "POST",
        "scheme": scheme,
        "server": server,
        "client": ("127.0.0.1", 5555),
        "root_path": root_path,
        "path": "/api/v1/functions/f/invoke/sub path/ü",
        "raw_path": b"/api/v1/functions/f/invoke/sub%20path/%C3%BC",
        "query_string": query,
        "headers": [*hosts, (b"content-type", b"application/json"), *authorization],
        "app": APP,
        "litestar_app": APP,
        "state": {},
    }


CASES = list(itertools.product(QUERIES, HOSTS, SERVERS, SCHEMES, ROOT_PATHS, AUTHORIZATION))


@pytest.mark.parametrize("query", QUERIES)
def test_the_call_carries_what_litestars_request_helpers_give(query):
    compared = 0
    for case in CASES:
        if case[0] != query:
            continue
        scope = scope_of(*case)
        litestar = Request(dict(scope))
        try:
            url = litestar.url
            expected = (url.scheme, url.netloc, str(url))
        except UnicodeDecodeError:  # Litestar decodes the query as UTF-8: so do we
            with pytest.raises(UnicodeDecodeError):
                request_url(scope)
            continue
        except ValueError:  # an IPv6 server address and no Host: Litestar leaves it bare
            assert case[1] == []
            assert case[2] == ("::1", 443)
            assert request_url(scope)[1] == ("[::1]" if case[3] == "https" else "[::1]:443")
            continue
        assert request_url(scope) == expected
        params: dict[str, str] = {}
        for key, value in litestar.query_params.items():
            params.setdefault(key, value)
        call = call_input(scope, b"{}", "f", "/sub")
        assert query_params(call.query) == params  # what the reference form's `params` are
        assert call.url == str(url)
        assert call.function_url == (
            f"{url.scheme}://{url.netloc}/f/sub" + (f"?{query.decode('latin-1')}" if query else "")
        )
        assert authorization_header(scope) == litestar.headers.get("authorization")
        compared += 1
    assert compared > 0


@pytest.mark.parametrize("host", [b"a:b", b"a:99999", b"a:\xb2", b"[::1]:x"])
def test_a_host_whose_port_is_not_a_port_is_a_client_error(host):
    scope = scope_of(b"", [(b"host", host)], ("127.0.0.1", 80), "http", "", [])
    with pytest.raises(HttpError) as refused:
        request_url(scope)
    assert refused.value.status == 400


@pytest.mark.parametrize("host", [b"a", b"a:", b"a:65535", b"[::1]", b"[::1]:8080"])
def test_hosts_with_or_without_a_port_are_taken(host):
    scope = scope_of(b"", [(b"host", host)], ("127.0.0.1", 80), "http", "", [])
    assert request_url(scope)[1] == host.decode()


def test_a_bad_host_is_answered_400_in_json_by_a_real_server(server, admin, anonymous):
    code = "Deno.serve((req) => new Response(req.url))"
    admin.post("/api/v1/functions", json={"name": "hosted", "code": code, "enabled": True})
    assert anonymous.get("/api/v1/functions/hosted/invoke").status_code == 200
    for path in ("/api/v1/functions/hosted/invoke", "/functions/v1/hosted"):
        answered = anonymous.get(path, headers={"host": "a:b"})
        assert answered.status_code == 400, answered.text
        assert "not a valid host" in answered.json()["message"]
