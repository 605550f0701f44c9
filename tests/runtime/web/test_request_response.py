"""body.js and request_response.js in a real isolate: Request, Response, the Body mixin, Blob and
the converters the core prelude uses at the isolate boundary (`__flux_web`)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from py_mini_racer import MiniRacer

from ._jsload import js, js_error, skip_unless_files, web_isolate

# Text bodies need TextEncoder/TextDecoder, Request needs URL, signals need AbortController.
needs_encoding = skip_unless_files("encoding.js")
needs_url = skip_unless_files("url.js")
needs_url_and_encoding = skip_unless_files("url.js", "encoding.js")
needs_events = skip_unless_files("url.js", "events.js")


@pytest.fixture
async def mr() -> AsyncIterator[MiniRacer]:
    isolate = await web_isolate()
    # Keep the boundary helpers reachable from tests the way the core prelude captures them.
    await isolate.eval_cancelable(
        "Object.defineProperty(globalThis, 'web', { value: globalThis.__flux_web });"
    )
    yield isolate
    isolate.close()


# ---- Response ----


async def test_a_new_response_has_the_fetch_defaults(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response();
        return [r.status, r.ok, r.statusText, r.type, r.url, r.redirected, r.body, r.bodyUsed,
                [...r.headers]];""",
    )
    assert got == [200, True, "", "default", "", False, None, False, []]


@pytest.mark.parametrize("status", [0, 100, 199, 600, 999, "'abc'"])
async def test_status_outside_200_to_599_throws_range_error(mr: MiniRacer, status: object) -> None:
    error = await js_error(mr, f"new Response(null, {{ status: {status} }})")
    assert error.constructor == "RangeError"


@pytest.mark.parametrize("status", [200, 299, 404, 599])
async def test_status_inside_the_range_is_kept_and_sets_ok(mr: MiniRacer, status: int) -> None:
    got = await js(
        mr, f"const r = new Response(null, {{ status: {status} }}); return [r.status, r.ok];"
    )
    assert got == [status, 200 <= status <= 299]


@pytest.mark.parametrize("status", [204, 205, 304])
async def test_a_null_body_status_with_a_body_throws_type_error(mr: MiniRacer, status: int) -> None:
    error = await js_error(mr, f"new Response(new Uint8Array(1), {{ status: {status} }})")
    assert error.constructor == "TypeError"


async def test_a_status_text_with_a_newline_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, r"new Response(null, { statusText: 'OK\nX: y' })")
    assert error.constructor == "TypeError"


async def test_consuming_a_body_twice_rejects_with_type_error(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response(new Uint8Array([1, 2, 3]));
        const before = r.bodyUsed;
        const first = new Uint8Array(await r.arrayBuffer());
        let second;
        try { await r.arrayBuffer(); second = 'read again'; } catch (e) { second = e.constructor.name; }
        return [before, Array.from(first), r.bodyUsed, second];""",
    )
    assert got == [False, [1, 2, 3], True, "TypeError"]


async def test_a_null_body_reads_as_empty_and_is_never_used(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response(null);
        const a = (await r.arrayBuffer()).byteLength;
        const b = (await r.bytes()).length;
        return [a, b, r.bodyUsed, r.body];""",
    )
    assert got == [0, 0, False, None]


async def test_bytes_gives_a_copy_that_does_not_alias_the_source(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const source = new Uint8Array([5, 6]);
        const r = new Response(source);
        source[0] = 99;
        const bytes = await r.bytes();
        return [bytes instanceof Uint8Array, Array.from(bytes)];""",
    )
    assert got == [True, [5, 6]]


async def test_a_binary_body_gets_no_default_content_type(mr: MiniRacer) -> None:
    got = await js(mr, "return new Response(new ArrayBuffer(2)).headers.get('content-type')")
    assert got is None


@needs_encoding
async def test_a_string_body_defaults_to_utf8_text_plain(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response('héllo');
        return [r.headers.get('content-type'), await r.text()];""",
    )
    assert got == ["text/plain;charset=UTF-8", "héllo"]


@needs_encoding
async def test_an_explicit_content_type_is_not_replaced(mr: MiniRacer) -> None:
    got = await js(
        mr,
        "return new Response('<p>', { headers: { 'Content-Type': 'text/html' } }).headers.get('content-type')",
    )
    assert got == "text/html"


@needs_url_and_encoding
async def test_a_url_search_params_body_is_form_encoded(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response(new URLSearchParams({ a: '1', b: 'x y' }));
        return [r.headers.get('content-type'), await r.text()];""",
    )
    assert got == ["application/x-www-form-urlencoded;charset=UTF-8", "a=1&b=x+y"]


@needs_encoding
async def test_json_parses_the_body(mr: MiniRacer) -> None:
    got = await js(mr, """return await new Response('{"a": [1, "ü"]}').json();""")
    assert got == {"a": [1, "ü"]}


@needs_encoding
async def test_json_rejects_invalid_json_with_syntax_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "await new Response('{nope').json()")
    assert error.constructor == "SyntaxError"


@needs_encoding
async def test_response_json_serialises_data_with_a_json_content_type(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = Response.json({ ok: true }, { status: 201, headers: { 'x-a': '1' } });
        return [r.status, r.headers.get('content-type'), r.headers.get('x-a'), await r.text()];""",
    )
    assert got == [201, "application/json", "1", '{"ok":true}']


async def test_response_json_of_undefined_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "Response.json(undefined)")
    assert error.constructor == "TypeError"


@needs_encoding
async def test_response_json_checks_the_status_range(mr: MiniRacer) -> None:
    error = await js_error(mr, "Response.json({}, { status: 700 })")
    assert error.constructor == "RangeError"


@needs_url
async def test_response_redirect_sets_location_and_status(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = Response.redirect('https://example.com/next', 307);
        return [r.status, r.headers.get('location'), r.body];""",
    )
    assert got == [307, "https://example.com/next", None]


@needs_url
async def test_response_redirect_defaults_to_302_with_immutable_headers(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = Response.redirect('https://example.com/');
        let error = null;
        try { r.headers.set('x', 'y'); } catch (e) { error = e.constructor.name; }
        return [r.status, error];""",
    )
    assert got == [302, "TypeError"]


@needs_url
async def test_response_redirect_rejects_a_non_redirect_status(mr: MiniRacer) -> None:
    error = await js_error(mr, "Response.redirect('https://example.com/', 200)")
    assert error.constructor == "RangeError"


@needs_url
async def test_response_redirect_rejects_a_relative_url(mr: MiniRacer) -> None:
    error = await js_error(mr, "Response.redirect('/elsewhere')")
    assert error.constructor == "TypeError"


async def test_response_error_is_a_network_error_with_immutable_headers(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = Response.error();
        let error = null;
        try { r.headers.append('x', 'y'); } catch (e) { error = e.constructor.name; }
        return [r.type, r.status, r.ok, r.body, error];""",
    )
    assert got == ["error", 0, False, None, "TypeError"]


async def test_clone_gives_two_independently_readable_bodies(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response(new Uint8Array([1, 2]), { status: 202, statusText: 'Accepted',
          headers: { a: 'b' } });
        const c = r.clone();
        c.headers.set('a', 'changed');
        const one = Array.from(await r.bytes());
        const two = Array.from(await c.bytes());
        return [one, two, c.status, c.statusText, r.headers.get('a')];""",
    )
    assert got == [[1, 2], [1, 2], 202, "Accepted", "b"]


async def test_clone_of_a_used_body_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(
        mr, "const r = new Response(new Uint8Array(1)); await r.bytes(); r.clone();"
    )
    assert error.constructor == "TypeError"


async def test_body_mixin_methods_reject_foreign_receivers(mr: MiniRacer) -> None:
    error = await js_error(mr, "await Response.prototype.arrayBuffer.call({})")
    assert error.constructor == "TypeError"


async def test_a_body_stream_proxies_into_a_new_response(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const source = new Response(new Uint8Array([7, 8, 9]));
        const proxied = new Response(source.body, { status: 203 });
        const before = source.bodyUsed;
        const bytes = Array.from(await proxied.bytes());
        return [before, bytes, proxied.status, source.bodyUsed];""",
    )
    # Wrapping a stream does not disturb it; reading it through the new response does.
    assert got == [False, [7, 8, 9], 203, True]


async def test_a_body_can_be_read_with_a_reader_or_for_await(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const reader = new Response(new Uint8Array([1, 2])).body.getReader();
        const first = await reader.read();
        const end = await reader.read();
        const chunks = [];
        for await (const chunk of new Response(new Uint8Array([3])).body) chunks.push(Array.from(chunk));
        return [Array.from(first.value), first.done, end.done, chunks];""",
    )
    assert got == [[1, 2], False, True, [[3]]]


async def test_a_body_locked_to_a_reader_is_not_used_until_read(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response(new Uint8Array([1]));
        const reader = r.body.getReader();
        const before = [r.body.locked, r.bodyUsed];
        let other;
        try { await r.arrayBuffer(); other = 'read'; } catch (e) { other = e.constructor.name; }
        await reader.read();
        return [...before, other, r.bodyUsed];""",
    )
    assert got == [True, False, "TypeError", True]


# ---- Blob ----


@needs_encoding
async def test_a_blob_concatenates_parts_and_lower_cases_its_type(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const inner = new Blob(['é']);
        const b = new Blob(['ab', new Uint8Array([99]), inner], { type: 'Text/Plain' });
        return [b.size, b.type, await b.text(), await b.slice(1, 3).text(), await b.slice(-2).text()];""",
    )
    assert got == [5, "text/plain", "abcé", "bc", "é"]


@needs_encoding
async def test_a_blob_body_uses_the_blob_type_as_content_type(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response(new Blob(['<b>'], { type: 'text/html' }));
        const blob = await r.clone().blob();
        return [r.headers.get('content-type'), await r.text(), blob.type, blob.size];""",
    )
    assert got == ["text/html", "<b>", "text/html", 3]


# ---- Request ----


@needs_url
@pytest.mark.parametrize(
    ("given", "expected"),
    [("post", "POST"), ("get", "GET"), ("Delete", "DELETE"), ("patch", "patch"), ("PATCH", "PATCH"),
     ("custom", "custom")],
)  # fmt: skip
async def test_request_methods_are_normalised_as_fetch_specifies(
    mr: MiniRacer, given: str, expected: str
) -> None:
    got = await js(
        mr, f"return new Request('https://example.com/', {{ method: '{given}' }}).method"
    )
    assert got == expected


@needs_url
@pytest.mark.parametrize("method", ["CONNECT", "trace", "TRACK", "bad method", ""])
async def test_forbidden_or_invalid_methods_throw_type_error(mr: MiniRacer, method: str) -> None:
    error = await js_error(mr, f"new Request('https://example.com/', {{ method: '{method}' }})")
    assert error.constructor == "TypeError"


@needs_url
async def test_a_request_has_the_fetch_defaults(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Request('https://example.com/a?b=1');
        return [r.method, r.url, r.redirect, r.mode, r.credentials, r.cache, r.body, r.bodyUsed,
                [...r.headers]];""",
    )
    assert got == ["GET", "https://example.com/a?b=1", "follow", "cors", "same-origin", "default", None,
                   False, []]  # fmt: skip


@needs_url
async def test_a_relative_url_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "new Request('/relative/path')")
    assert error.constructor == "TypeError"


@needs_url
async def test_a_url_with_credentials_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "new Request('https://user:pass@example.com/')")
    assert error.constructor == "TypeError"


@needs_url
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_get_or_head_request_with_a_body_throws_type_error(
    mr: MiniRacer, method: str
) -> None:
    error = await js_error(
        mr,
        f"new Request('https://example.com/', {{ method: '{method}', body: new Uint8Array(1) }})",
    )
    assert error.constructor == "TypeError"


@needs_url
async def test_an_invalid_redirect_mode_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "new Request('https://example.com/', { redirect: 'sometimes' })")
    assert error.constructor == "TypeError"


@needs_url
async def test_request_init_sets_headers_redirect_and_body(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Request('https://example.com/', { method: 'PUT', redirect: 'manual',
          headers: { 'X-Token': 'abc' }, body: new Uint8Array([1]) });
        return [r.headers.get('x-token'), r.redirect, Array.from(await r.bytes()), r.bodyUsed];""",
    )
    assert got == ["abc", "manual", [1], True]


@needs_url
async def test_a_request_from_a_request_takes_its_body_and_marks_it_used(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const first = new Request('https://example.com/x', { method: 'POST', headers: { a: '1' },
          body: new Uint8Array([4, 2]) });
        const second = new Request(first, { headers: { b: '2' } });
        return [first.bodyUsed, second.url, second.method, [...second.headers],
                Array.from(await second.bytes())];""",
    )
    assert got == [True, "https://example.com/x", "POST", [["b", "2"]], [4, 2]]


@needs_url
async def test_a_request_from_a_used_request_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(
        mr,
        """const first = new Request('https://example.com/', { method: 'POST', body: new Uint8Array(1) });
        await first.bytes();
        new Request(first);""",
    )
    assert error.constructor == "TypeError"


@needs_url
async def test_request_clone_copies_method_url_headers_and_body(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Request('https://example.com/', { method: 'POST', headers: { a: '1' },
          body: new Uint8Array([3]) });
        const c = r.clone();
        return [c.method, c.url, c.headers.get('a'), Array.from(await c.bytes()), r.bodyUsed,
                Array.from(await r.bytes())];""",
    )
    assert got == ["POST", "https://example.com/", "1", [3], False, [3]]


@needs_events
async def test_a_request_signal_is_an_abort_signal_that_follows_the_given_one(
    mr: MiniRacer,
) -> None:
    got = await js(
        mr,
        """const controller = new AbortController();
        const r = new Request('https://example.com/', { signal: controller.signal });
        const plain = new Request('https://example.com/');
        controller.abort();
        return [r.signal.aborted, plain.signal instanceof AbortSignal, plain.signal.aborted];""",
    )
    assert got == [True, True, False]


@needs_events
async def test_a_signal_that_is_not_an_abort_signal_throws_type_error(mr: MiniRacer) -> None:
    error = await js_error(mr, "new Request('https://example.com/', { signal: {} })")
    assert error.constructor == "TypeError"


# ---- the isolate boundary (__flux_web) ----


@needs_encoding
async def test_response_to_plain_gives_status_header_pairs_and_utf8_text(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response('héllo', { status: 201,
          headers: [['X-A', '1'], ['set-cookie', 'a=1'], ['x-a', '2'], ['Set-Cookie', 'b=2']] });
        return await web.responseToPlain(r);""",
    )
    assert got == {
        "status": 201,
        "headers": [
            ["content-type", "text/plain;charset=UTF-8"],
            ["set-cookie", "a=1"],
            ["set-cookie", "b=2"],
            ["x-a", "1, 2"],
        ],
        "bodyBase64": None,
        "bodyText": "héllo",
    }


@needs_encoding
async def test_response_to_plain_gives_base64_for_bytes_that_are_not_utf8(mr: MiniRacer) -> None:
    got = await js(
        mr, "return await web.responseToPlain(new Response(new Uint8Array([0xff, 0, 0xc3])))"
    )
    assert got["bodyText"] is None
    assert base64.b64decode(got["bodyBase64"]) == b"\xff\x00\xc3"


@needs_encoding
async def test_response_to_plain_keeps_a_byte_order_mark_in_text(mr: MiniRacer) -> None:
    got = await js(
        mr,
        "return await web.responseToPlain(new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])))",
    )
    assert got["bodyText"].encode() == b"\xef\xbb\xbfA"


async def test_response_to_plain_gives_null_bodies_for_a_null_body(mr: MiniRacer) -> None:
    got = await js(mr, "return await web.responseToPlain(new Response(null, { status: 204 }))")
    assert got == {"status": 204, "headers": [], "bodyBase64": None, "bodyText": None}


async def test_response_to_plain_rejects_a_used_body(mr: MiniRacer) -> None:
    error = await js_error(
        mr,
        "const r = new Response(new Uint8Array(1)); await r.bytes(); await web.responseToPlain(r);",
    )
    assert error.constructor == "TypeError"


async def test_response_to_plain_rejects_what_is_not_a_response(mr: MiniRacer) -> None:
    error = await js_error(mr, "await web.responseToPlain({ status: 200, headers: {}, body: 'x' })")
    assert error.constructor == "TypeError"


@needs_url_and_encoding
async def test_request_from_plain_builds_a_request_without_a_default_content_type(
    mr: MiniRacer,
) -> None:
    got = await js(
        mr,
        """const r = web.requestFromPlain({ method: 'POST', url: 'https://h.example/fn?x=1',
          headers: { 'x-id': '7' }, body: 'raw body' });
        return [r instanceof Request, r.method, r.url, [...r.headers], await r.text()];""",
    )
    assert got == [True, "POST", "https://h.example/fn?x=1", [["x-id", "7"]], "raw body"]


@needs_url
async def test_request_from_plain_drops_a_get_body_and_treats_empty_as_no_body(
    mr: MiniRacer,
) -> None:
    got = await js(
        mr,
        """const get = web.requestFromPlain({ method: 'GET', url: 'https://h/', headers: {}, body: 'x' });
        const empty = web.requestFromPlain({ method: 'DELETE', url: 'https://h/', headers: {}, body: '' });
        return [get.body, empty.body, empty.method];""",
    )
    assert got == [None, None, "DELETE"]


@needs_url_and_encoding
async def test_request_from_plain_takes_header_pairs_as_new_headers_would(mr: MiniRacer) -> None:
    # Names and values already in Headers' stored form take its one-test path; the others (upper
    # case, edge whitespace, bad names or values) are normalized or refused as append() does.
    got = await js(
        mr,
        r"""const cases = [
          [['x-a', '1'], ['x-a', '2'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['b', '']],
          [['X-Up', 'v'], ['x-space', '  padded \t'], ['x-tab', 'a\tb'], ['x-latin', '\xe9\xff']],
          [['x-ctl', 'a\x01b'], ['x-empty', '']],
          [['bad name', 'v']],
          [['x-nl', 'a\nb']],
          [['x-wide', '\u0100']],
        ];
        const read = (make) => { try { return [...make()]; } catch (e) { return e.name; } };
        return cases.map((pairs) => [
          read(() => web.requestFromPlain({ method: 'GET', url: 'https://h/', headers: pairs }).headers),
          read(() => new Headers(pairs)),
        ]);""",
    )
    for incoming, made in got:
        assert incoming == made
    assert got[0][0] == [["b", ""], ["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-a", "1, 2"]]
    assert got[1][0][1] == ["x-space", "padded"]
    assert [pair[0] for pair in got[3:]] == ["TypeError"] * 3


@needs_encoding
async def test_response_to_plain_sends_a_string_body_as_its_text(mr: MiniRacer) -> None:
    # A body made from a string crosses as that string, as decoding its UTF-8 would give it: a
    # lone surrogate as U+FFFD, a leading BOM kept. The body is used afterwards, a clone is not.
    got = await js(
        mr,
        r"""const lone = new Response('a\ud800b\ufeff');
        const json = Response.json({ s: '\udc00', bom: '\ufeff' });
        const bom = new Response('\ufeffhi');
        const original = new Response('cl\u00f6ne');
        const copy = original.clone();
        const first = await web.responseToPlain(original);
        let again = null;
        try { await web.responseToPlain(original); } catch (e) { again = e.name; }
        const streamed = new Response('via stream');
        streamed.body;  // the body is a stream from here on: read through the stream
        return [await web.responseToPlain(lone), (await web.responseToPlain(json)).bodyText,
                (await web.responseToPlain(bom)).bodyText, first.bodyText, original.bodyUsed, again,
                await copy.text(), (await web.responseToPlain(streamed)).bodyText];""",
    )
    assert got[0] == {
        "status": 200,
        "headers": [["content-type", "text/plain;charset=UTF-8"]],
        "bodyBase64": None,
        "bodyText": "a\ufffdb\ufeff",
    }
    assert got[1] == '{"s":"\\udc00","bom":"\ufeff"}'
    assert got[2:] == ["\ufeffhi", "cl\u00f6ne", True, "TypeError", "cl\u00f6ne", "via stream"]


@needs_encoding
async def test_response_from_plain_makes_a_basic_response_with_immutable_headers(
    mr: MiniRacer,
) -> None:
    got = await js(
        mr,
        """const r = web.responseFromPlain({ status: 404, statusText: 'Not Found',
          headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']], bodyBase64: 'aGk=',
          url: 'https://upstream.example/', redirected: true });
        let error = null;
        try { r.headers.set('x', 'y'); } catch (e) { error = e.constructor.name; }
        return [r.type, r.status, r.ok, r.statusText, r.url, r.redirected, r.headers.getSetCookie(),
                await r.text(), error];""",
    )
    assert got == ["basic", 404, False, "Not Found", "https://upstream.example/", True, ["a=1", "b=2"],
                   "hi", "TypeError"]  # fmt: skip


async def test_request_and_response_are_non_enumerable_globals(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """return ['Request', 'Response', 'Blob', '__flux_web'].map((name) =>
          Object.getOwnPropertyDescriptor(globalThis, name).enumerable);""",
    )
    assert got == [False, False, False, False]


async def test_a_consumed_body_leaves_its_stream_locked(mr: MiniRacer) -> None:
    # Fetch's "fully read" keeps its reader: after text() (bytes or stream bodies, awaited or
    # not), body.getReader() throws.
    got = await js(
        mr,
        """const outcomes = [];
        for (const make of [() => new Response('x'),
                            () => new Response(new ReadableStream({ start(c) {
                              c.enqueue(new Uint8Array([120])); c.close(); } }))]) {
          for (const wait of [false, true]) {
            const r = make();
            const reading = r.text();
            if (wait) await reading;
            let threw = false;
            try { r.body.getReader(); } catch (e) { threw = e instanceof TypeError; }
            outcomes.push([r.body.locked, r.bodyUsed, threw]);
          }
        }
        return outcomes;""",
    )
    assert got == [[True, True, True]] * 4


@needs_url_and_encoding
async def test_a_body_made_from_a_string_reads_as_its_utf8_bytes_would(mr: MiniRacer) -> None:
    # Such a body keeps its string and makes its bytes only when asked: every reader, a clone, a
    # Request made from a Request and a used body must behave as the same body made from its
    # UTF-8 bytes.
    got = await js(
        mr,
        r"""const strings = ['{"a":1}', 'a\ud800b', '\ufeffhi', 'cl\u00f6ne \u{1f600}', ''];
        const encode = (s) => new TextEncoder().encode(s);
        async function readings(make) {
          const streamed = [];
          const reader = make().body?.getReader();
          for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader.read()) {
            streamed.push(...chunk.value);
          }
          const used = make();
          await used.text();
          let again = null;
          try { await used.arrayBuffer(); } catch (e) { again = e.name; }
          const source = make();
          const moved = source instanceof Request ? await new Request(source).text() : null;
          return [await make().text(), [...await make().bytes()],
                  [...new Uint8Array(await make().arrayBuffer())], streamed,
                  await (await make().blob()).text(), again, used.bodyUsed, await make().clone().text(),
                  moved, source.bodyUsed];
        }
        const post = (body) => new Request('https://h/', { method: 'POST', body });
        const plain = (fields) => web.requestFromPlain({ method: 'POST', url: 'https://h/', ...fields });
        const out = [];
        for (const s of strings) {
          out.push([await readings(() => new Response(s)), await readings(() => new Response(encode(s)))]);
          out.push([await readings(() => post(s)), await readings(() => post(encode(s)))]);
          out.push([await readings(() => plain({ bodyText: s })),
                    await readings(() => plain({ bodyBase64: encode(s).toBase64() }))]);
        }
        const json = Response.json({ s: '\u00e9' });
        return [out, await json.clone().json(), [...await json.bytes()]];""",
    )
    pairs, parsed, json_bytes = got
    for from_string, from_bytes in pairs:
        assert from_string == from_bytes
    assert [pair[0][0] for pair in pairs[::3]] == [
        '{"a":1}',
        "a\ufffdb",
        "hi",
        "cl\u00f6ne \U0001f600",
        "",
    ]
    assert pairs[0][0][5:7] == ["TypeError", True]  # a used body stays used
    assert pairs[1][0][8:] == ['{"a":1}', True]  # new Request(request) takes the body over
    assert pairs[2][0][8:] == ['{"a":1}', True]
    assert parsed == {"s": "\u00e9"}
    assert bytes(json_bytes) == '{"s":"\u00e9"}'.encode()
