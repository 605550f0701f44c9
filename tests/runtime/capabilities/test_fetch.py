"""fetch() from a function against a local server (allowed through net_allow=127.0.0.0/8)."""

from __future__ import annotations

import base64

from tests.runtime.capabilities.conftest import LocalServer, RunFunction, answer


async def test_a_get_returns_status_headers_and_a_json_body(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/echo?x=1");
        const seen = await r.json();
        return {{ status: r.status, ok: r.ok, type: r.headers.get("content-type"),
                  method: seen.method, query: seen.query, url: r.url, redirected: r.redirected }};
    """)
    assert answer(result) == {
        "status": 200,
        "ok": True,
        "type": "application/json",
        "method": "GET",
        "query": {"x": "1"},
        "url": f"{local_server.url}/echo?x=1",
        "redirected": False,
    }


async def test_methods_and_request_headers_reach_the_server(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const out = [];
        for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {{
          const r = await fetch("{local_server.url}/echo", {{
            method, headers: {{ "X-Token": "abc", "Accept": "application/json" }} }});
          const seen = await r.json();
          out.push([seen.method, seen.headers["x-token"], seen.headers["accept"]]);
        }}
        return out;
    """)
    assert answer(result) == [[m, "abc", "application/json"] for m in
                              ("POST", "PUT", "PATCH", "DELETE", "OPTIONS")]  # fmt: skip


async def test_a_head_request_gets_headers_and_an_empty_body(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/echo", {{ method: "HEAD" }});
        return {{ status: r.status, text: await r.text() }};
    """)
    assert answer(result) == {"status": 200, "text": ""}
    assert local_server.requests[-1]["method"] == "HEAD"


async def test_a_string_body_is_sent_as_utf8_with_a_text_content_type(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/echo", {{ method: "POST", body: "héllo ✓" }});
        return r.status;
    """)
    assert answer(result) == 200
    seen = local_server.requests[-1]
    assert base64.b64decode(seen["body"]).decode() == "héllo ✓"
    assert seen["headers"]["content-type"] == "text/plain;charset=UTF-8"
    assert seen["headers"]["content-length"] == str(len("héllo ✓".encode()))


async def test_binary_bodies_arrive_byte_for_byte(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const bytes = new Uint8Array(256).map((_, i) => i);
        for (const body of [bytes, bytes.buffer, new DataView(bytes.buffer)]) {{
          await fetch("{local_server.url}/echo", {{ method: "PUT", body }});
        }}
        return "sent";
    """)
    assert answer(result) == "sent"
    bodies = [base64.b64decode(r["body"]) for r in local_server.requests[-3:]]
    assert bodies == [bytes(range(256))] * 3


async def test_a_body_from_a_request_object_is_sent(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const request = new Request("{local_server.url}/echo", {{ method: "POST", body: "from a Request" }});
        const r = await fetch(request);
        return (await r.json()).body;
    """)
    assert base64.b64decode(answer(result)) == b"from a Request"


async def test_a_binary_response_body_arrives_intact(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/bytes?times=2");
        const bytes = new Uint8Array(await r.arrayBuffer());
        return Array.from(bytes);
    """)
    assert answer(result) == list(bytes(range(256)) * 2)


async def test_error_statuses_are_responses_not_rejections(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/status?code=503&body=down");
        return {{ status: r.status, ok: r.ok, statusText: r.statusText, body: await r.text(),
                  reason: r.headers.get("x-reason") }};
    """)
    assert answer(result) == {
        "status": 503,
        "ok": False,
        "statusText": "Service Unavailable",
        "body": "down",
        "reason": "test",
    }


async def test_repeated_response_headers_are_kept(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/multi");
        return r.headers.getSetCookie();
    """)
    assert answer(result) == ["a=1", "b=2"]


async def test_cookies_a_server_sets_are_never_sent_back_by_the_runtime(
    run_js: RunFunction, local_server: LocalServer
):
    await run_js(f'await fetch("{local_server.url}/cookie"); return 1;')
    result = await run_js(
        f'return (await (await fetch("{local_server.url}/echo")).json()).headers;'
    )
    assert "cookie" not in answer(result)


async def test_a_name_is_connected_to_with_its_own_host_header(run_js: RunFunction, local_server):
    # localhost resolves to 127.0.0.1 (allowed here); the request still names the host.
    result = await run_js(f"""
        const r = await fetch("http://localhost:{local_server.port}/echo");
        return (await r.json()).headers.host;
    """)
    assert answer(result) == f"localhost:{local_server.port}"


async def test_a_function_cannot_override_the_host_or_length_headers(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/echo", {{ method: "POST", body: "abc",
          headers: {{ "Host": "internal.example", "Content-Length": "999" }} }});
        return (await r.json()).headers;
    """)
    headers = answer(result)
    assert headers["host"] == f"127.0.0.1:{local_server.port}"
    assert headers["content-length"] == "3"


async def test_an_unsupported_scheme_is_a_type_error(run_js: RunFunction):
    result = await run_js("""
        try { await fetch("ftp://example.com/file"); return "fetched"; }
        catch (e) { return [e instanceof TypeError, e.message]; }
    """)
    is_type_error, message = answer(result)
    assert is_type_error
    assert "scheme 'ftp' is not supported" in message


async def test_a_refused_connection_is_a_fetch_failed_type_error(run_js: RunFunction):
    from tests.conftest import free_port

    result = await run_js(f"""
        try {{ await fetch("http://127.0.0.1:{free_port()}/"); return "fetched"; }}
        catch (e) {{ return [e.name, e.message.startsWith("fetch failed: ")]; }}
    """)
    assert answer(result) == ["TypeError", True]
