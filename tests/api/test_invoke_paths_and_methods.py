"""Sub-paths and every HTTP method reach the function, against a real server.

`/api/v1/functions/:name/invoke/<anything>` (any depth, with its query string) runs the function,
which sees `http://host/<name>/<anything>?query` as its Request URL (as on Supabase); any method
token the HTTP server accepts reaches it (uvicorn's httptools parser knows a long list, WebDAV's
included; with `h11` any token), OPTIONS and HEAD included, while the management API keeps its 405s.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerProcess

SERVER_ENV = {"FLUX_EDGE_MAX_BODY_BYTES": "1024"}

# A router as edge functions write them: match on the URL's pathname, answer 404 otherwise.
ROUTER = """
Deno.serve(async (req) => {
  const url = new URL(req.url);
  const parts = url.pathname.split("/").filter(Boolean);  // [name, ...route]
  const route = "/" + parts.slice(1).join("/");
  if (req.method === "GET" && route === "/users") return Response.json({ users: ["ann"] });
  const user = route.match(/^\\/users\\/([^/]+)$/);
  if (req.method === "GET" && user) return Response.json({ id: decodeURIComponent(user[1]) });
  if (req.method === "POST" && route === "/users") {
    return Response.json({ created: await req.json() }, { status: 201 });
  }
  return Response.json({ error: "no route", method: req.method, route }, { status: 404 });
});
"""

ECHO_URL = "export default (req: Request) => Response.json({ url: req.url, method: req.method });"

ECHO_METHOD = """
export default {
  async fetch(req) {
    const body = req.method + " " + (await req.text());
    return new Response(body, { headers: { "x-method": req.method, "content-type": "text/plain" } });
  },
};
"""

CORS = """
const cors = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
};
Deno.serve((req) => {
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
  return new Response("ok", { headers: cors });
});
"""


def deploy(admin: httpx.Client, name: str, code: str, **fields: object) -> None:
    response = admin.post(
        "/api/v1/functions", json={"name": name, "code": code, "enabled": True, **fields}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("sub_path", "query"),
    [
        ("", ""),
        ("/", ""),
        ("/a", "x=1"),
        ("/a/b/c/d/e/f", "x=1&y=2&x=3"),
        ("/with%20space/%2F/caf%C3%A9", "q=%20a"),
        ("/double//slash/", ""),
    ],
)
def test_a_sub_path_reaches_the_function_as_the_url_pathname_after_its_name(
    admin, anonymous, fname, server: ServerProcess, sub_path, query
):
    deploy(admin, fname, ECHO_URL)
    target = f"/api/v1/functions/{fname}/invoke{sub_path}" + (f"?{query}" if query else "")
    response = anonymous.get(target)
    assert response.status_code == 200, response.text
    expected = f"{server.url}/{fname}{sub_path}" + (f"?{query}" if query else "")
    assert response.json() == {"url": expected, "method": "GET"}


def test_the_reference_handler_still_sees_the_full_invoke_url(admin, anonymous, fname, server):
    deploy(admin, fname, "function handler(req) { return { status: 200, body: req.url }; }")
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke/deep/path?a=1")
    assert response.status_code == 200
    assert response.text == f"{server.url}/api/v1/functions/{fname}/invoke/deep/path?a=1"


def test_a_router_inside_the_function_routes_on_the_pathname(admin, anonymous, fname):
    deploy(admin, fname, ROUTER)
    base = f"/api/v1/functions/{fname}/invoke"
    assert anonymous.get(f"{base}/users").json() == {"users": ["ann"]}
    assert anonymous.get(f"{base}/users/b%C3%A9a").json() == {"id": "béa"}
    created = anonymous.post(f"{base}/users", json={"name": "cy"})
    assert (created.status_code, created.json()) == (201, {"created": {"name": "cy"}})
    missing = anonymous.delete(f"{base}/users/1")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no route", "method": "DELETE", "route": "/users/1"}


@pytest.mark.parametrize(
    "method",
    ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "PURGE", "REPORT"],
)
@pytest.mark.parametrize("sub_path", ["", "/sub/path"])
def test_every_method_token_reaches_the_function(admin, anonymous, fname, method, sub_path):
    deploy(admin, fname, ECHO_METHOD)
    response = anonymous.request(
        method, f"/api/v1/functions/{fname}/invoke{sub_path}", content=b"payload"
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-method"] == method
    # A GET's body is not the function's to read (Fetch: GET and HEAD requests have none).
    assert response.text == (f"{method} payload" if method != "GET" else "GET ")
    assert response.headers["x-flux-execution-id"]


def test_head_reaches_the_function_and_the_server_drops_the_body(admin, anonymous, fname):
    deploy(admin, fname, ECHO_METHOD)
    response = anonymous.head(f"/api/v1/functions/{fname}/invoke/x")
    assert response.status_code == 200
    assert response.headers["x-method"] == "HEAD"
    assert response.content == b""
    assert response.headers["content-length"] == str(len(b"HEAD "))


def test_a_cors_preflight_is_answered_by_the_functions_own_code(admin, anonymous, fname):
    deploy(admin, fname, CORS)
    response = anonymous.options(
        f"/api/v1/functions/{fname}/invoke",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    assert "apikey" in response.headers["access-control-allow-headers"]
    assert "allow" not in response.headers  # not Litestar's own OPTIONS answer


def test_an_unrouted_method_on_a_missing_function_is_the_404_json(anonymous):
    response = anonymous.request("PROPFIND", "/api/v1/functions/no-such-function/invoke/x")
    assert response.status_code == 404
    assert response.json()["error"] == "Function not found"


def test_an_unrouted_method_needs_a_credential_where_the_function_does(admin, anonymous, fname):
    deploy(admin, fname, ECHO_METHOD, allow_unauthenticated=False)
    path = f"/api/v1/functions/{fname}/invoke"
    refused = anonymous.request("PURGE", path)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert set(refused.json()) == {"error", "message"}
    bad = anonymous.request("PURGE", path, headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401
    assert admin.request("PURGE", path).status_code == 200


def test_an_unrouted_method_with_a_body_over_the_limit_is_413_json(admin, anonymous, fname):
    deploy(admin, fname, ECHO_METHOD)
    response = anonymous.request(
        "PROPPATCH", f"/api/v1/functions/{fname}/invoke", content=b"x" * 2048
    )
    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/v1/functions"),
        ("PROPFIND", "/api/v1/functions"),
        ("PURGE", "/api/v1/functions/some-name"),
        ("TRACE", "/api/v1/functions/some-name/executions"),
        ("PROPFIND", "/health"),
    ],
)
def test_the_management_api_keeps_its_405s(admin, method, path):
    response = admin.request(method, path)
    assert response.status_code == 405
    assert set(response.json()) == {"error", "message"}
