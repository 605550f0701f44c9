"""Redirects: followed hop by hop as the Fetch standard says, or not, by the request's mode."""

from __future__ import annotations

import base64

from tests.runtime.capabilities.conftest import LocalServer, RunFunction, answer


async def test_a_redirect_is_followed_and_the_response_says_so(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/redirect?to=/echo%3Fhop%3D2");
        return {{ status: r.status, url: r.url, redirected: r.redirected,
                  query: (await r.json()).query }};
    """)
    assert answer(result) == {
        "status": 200,
        "url": f"{local_server.url}/echo?hop=2",
        "redirected": True,
        "query": {"hop": "2"},
    }


async def test_a_303_turns_a_post_into_a_get_without_its_body(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/redirect?code=303&to=/echo",
          {{ method: "POST", body: "payload", headers: {{ "content-type": "text/plain" }} }});
        const seen = await r.json();
        return [seen.method, seen.body, seen.headers["content-type"] ?? null];
    """)
    assert answer(result) == ["GET", "", None]


async def test_a_307_keeps_the_method_and_the_body(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/redirect?code=307&to=/echo",
          {{ method: "PUT", body: "payload" }});
        const seen = await r.json();
        return [seen.method, seen.body];
    """)
    method, body = answer(result)
    assert (method, base64.b64decode(body)) == ("PUT", b"payload")


async def test_credentials_are_not_sent_to_another_origin(
    run_js: RunFunction, local_server: LocalServer
):
    # 127.0.0.1 and localhost are different origins on the same server.
    to = f"http://localhost:{local_server.port}/echo"
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/redirect?to={to}",
          {{ headers: {{ authorization: "Bearer secret", "x-other": "kept" }} }});
        const seen = await r.json();
        return [seen.headers.authorization ?? null, seen.headers["x-other"]];
    """)
    assert answer(result) == [None, "kept"]


async def test_manual_mode_returns_the_redirect_itself(run_js: RunFunction, local_server):
    result = await run_js(f"""
        const r = await fetch("{local_server.url}/redirect?code=301&to=/echo", {{ redirect: "manual" }});
        return [r.status, r.headers.get("location"), r.redirected];
    """)
    assert answer(result) == [301, "/echo", False]
    assert len(local_server.requests) == 1


async def test_error_mode_rejects_on_a_redirect(run_js: RunFunction, local_server: LocalServer):
    result = await run_js(f"""
        try {{ await fetch("{local_server.url}/redirect?to=/echo", {{ redirect: "error" }}); }}
        catch (e) {{ return [e.name, e.message]; }}
    """)
    name, message = answer(result)
    assert name == "TypeError"
    assert "redirect is 'error'" in message


async def test_more_than_twenty_redirects_is_a_type_error(
    run_js: RunFunction, local_server: LocalServer
):
    result = await run_js(f"""
        try {{ await fetch("{local_server.url}/loop"); }}
        catch (e) {{ return [e.name, e.message]; }}
    """)
    assert answer(result) == ["TypeError", "fetch failed: more than 20 redirects"]
    assert len(local_server.requests) == 21
