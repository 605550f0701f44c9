"""`/functions/v1/:name[/<rest>]`: Supabase's gateway semantics over the invocation path.

The Node clients' view of the same route is in tests/e2e/test_supabase_clients.py; this file pins
the statuses, headers and bodies the route itself promises (docs/supabase.md).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.api.test_invoke import deploy, executions
from tests.conftest import ADMIN_TOKEN

SERVER_ENV = {"FLUX_EDGE_MAX_BODY_BYTES": "65536"}

# The reference form: it sees the request as a plain object, including user_id.
ECHO = "function handler(req) { return { status: 200, body: JSON.stringify(req) }; }"
SERVED_URL = "Deno.serve((req) => new Response(req.url));"
PREFLIGHT = (
    "function handler(req) {\n"
    "  if (req.method === 'OPTIONS') return { status: 204, headers: {'access-control-allow-origin': '*'} };\n"
    "  return { status: 200, body: JSON.stringify({ user: req.user_id }) };\n"
    "}"
)


def assert_relay_error(response: httpx.Response, status: int, code: str) -> dict:
    """A gateway answer: the status, x-relay-error, Supabase's code, the project's error body."""
    assert response.status_code == status, response.text
    assert response.headers["x-relay-error"] == "true"
    assert response.headers["sb-error-code"] == code
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-relay-error" in response.headers["access-control-expose-headers"]
    body = response.json()
    assert body["code"] == code
    assert body["error"]
    assert body["message"]
    assert "x-flux-execution-id" not in response.headers
    return body


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_every_supabase_method_reaches_the_function(admin, anonymous, fname, method):
    deploy(admin, fname, ECHO)
    response = anonymous.request(method, f"/functions/v1/{fname}", content=b"payload")
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == method
    assert seen["body"] == "payload"
    assert seen["execution_id"] == response.headers["x-flux-execution-id"]


def test_sub_paths_and_query_reach_the_function_as_supabase_shows_them(admin, anonymous, fname):
    deploy(admin, fname, SERVED_URL)
    base = str(anonymous.base_url).rstrip("/")
    response = anonymous.get(f"/functions/v1/{fname}/users/42/a%20b/?x=1&x=2")
    assert response.text == f"{base}/{fname}/users/42/a%20b/?x=1&x=2"
    assert anonymous.get(f"/functions/v1/{fname}").text == f"{base}/{fname}"


def test_the_reference_form_sees_the_url_requested(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    seen = anonymous.get(f"/functions/v1/{fname}/users/42?x=1&x=2").json()
    assert seen["url"].endswith(f"/functions/v1/{fname}/users/42?x=1&x=2")
    assert seen["params"] == {"x": "1"}


def test_head_answers_like_get_without_a_body(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    response = anonymous.head(f"/functions/v1/{fname}")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0
    assert response.headers["x-flux-execution-id"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer any-anon-key", "Bearer a.b.c", "Bearer " + "x" * 300, "Basic dXNlcjpwdw==", "Bearer"],
)
def test_a_public_function_takes_any_credential_unchecked(admin, anonymous, fname, authorization):
    deploy(admin, fname, ECHO)
    response = anonymous.post(
        f"/functions/v1/{fname}", headers={"Authorization": authorization, "apikey": "k"}
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["headers"]["authorization"] == authorization
    assert seen["headers"]["apikey"] == "k"
    assert seen.get("user_id") is None  # not validated, so nobody in particular


def test_an_expired_jwt_is_no_problem_for_a_public_function(admin, anonymous, fname, make_jwt):
    deploy(admin, fname, ECHO)
    expired = make_jwt({"sub": "u", "exp": int(time.time()) - 60})
    response = anonymous.post(
        f"/functions/v1/{fname}", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 200


def test_a_private_function_needs_a_credential(admin, anonymous, fname):
    deploy(admin, fname, PREFLIGHT, allow_unauthenticated=False)
    body = assert_relay_error(
        anonymous.post(f"/functions/v1/{fname}"), 401, "UNAUTHORIZED_NO_AUTH_HEADER"
    )
    assert body["function"] == fname
    # apikey is not a credential: Supabase's verify_jwt reads Authorization only.
    assert_relay_error(
        anonymous.post(f"/functions/v1/{fname}", headers={"apikey": ADMIN_TOKEN}),
        401,
        "UNAUTHORIZED_NO_AUTH_HEADER",
    )


@pytest.mark.parametrize("kind", ["garbage", "expired", "wrong-secret", "not-bearer"])
def test_a_private_function_refuses_invalid_credentials(admin, anonymous, fname, make_jwt, kind):
    deploy(admin, fname, PREFLIGHT, allow_unauthenticated=False)
    authorization = {
        "garbage": "Bearer not-a-token",
        "expired": "Bearer " + make_jwt({"sub": "u", "exp": int(time.time()) - 60}),
        "wrong-secret": "Bearer " + make_jwt({"sub": "u"}, secret="another-secret-" + "z" * 40),
        "not-bearer": "Basic dXNlcjpwdw==",
    }[kind]
    response = anonymous.post(f"/functions/v1/{fname}", headers={"Authorization": authorization})
    assert_relay_error(response, 401, "UNAUTHORIZED_INVALID_JWT")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_private_function_admits_jwts_and_tokens(admin, anonymous, fname, make_jwt):
    deploy(admin, fname, PREFLIGHT, allow_unauthenticated=False)
    user = make_jwt({"sub": "user-7", "role": "authenticated"})
    as_user = anonymous.post(f"/functions/v1/{fname}", headers={"Authorization": f"Bearer {user}"})
    assert as_user.status_code == 200, as_user.text
    assert as_user.json() == {"user": "user-7"}
    # Supabase's anon key is an HS256 JWT signed with the project secret; here too it passes.
    anon = make_jwt({"role": "anon"})
    assert (
        anonymous.post(
            f"/functions/v1/{fname}", headers={"Authorization": f"Bearer {anon}"}
        ).status_code
        == 200
    )
    as_admin = anonymous.post(
        f"/functions/v1/{fname}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert as_admin.json() == {"user": "admin"}


def test_a_preflight_reaches_a_private_function_without_a_credential(admin, anonymous, fname):
    deploy(admin, fname, PREFLIGHT, allow_unauthenticated=False)
    response = anonymous.options(
        f"/functions/v1/{fname}/anything",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-relay-error" not in response.headers


def test_a_missing_or_disabled_function_is_a_relay_404(admin, anonymous, fname):
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    body = assert_relay_error(anonymous.post(f"/functions/v1/{missing}/x"), 404, "NOT_FOUND")
    assert body["function"] == missing
    deploy(admin, fname, ECHO, allow_unauthenticated=False)
    admin.put(f"/api/v1/functions/{fname}", json={"enabled": False})
    # Disabled is not found, even for a function that would need a credential.
    assert_relay_error(anonymous.get(f"/functions/v1/{fname}"), 404, "NOT_FOUND")


def test_an_oversized_body_is_a_relay_413(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    response = anonymous.post(f"/functions/v1/{fname}", content=b"x" * 70_000)
    body = assert_relay_error(response, 413, "REQUEST_TOO_LARGE")
    assert "65536" in body["message"]


def test_the_call_is_recorded_like_any_http_invocation(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    response = anonymous.post(f"/functions/v1/{fname}/deep/path", content=b"{}")
    rows = executions(admin, fname)
    assert [row["id"] for row in rows] == [response.headers["x-flux-execution-id"]]
    assert rows[0]["trigger_type"] == "http"
    assert rows[0]["status"] == "success"


def test_the_route_is_in_the_openapi_document(anonymous):
    paths = anonymous.get("/schema/openapi.json").json()["paths"]
    assert "/functions/v1/{name}" in paths
    assert "/functions/v1/{name}/{rest}" in paths


def test_rate_limits_count_per_client_address_and_refusals_are_relay_errors(start_server, tmp_path):
    server = start_server(
        tmp_path / "limited",
        extra_env={"FLUX_EDGE_RATE_LIMITS": "on", "FLUX_EDGE_RATE_LIMIT_INVOKE": "2/min"},
    )
    deploy(server.client(server.admin_token), "limited", ECHO)
    caller = server.client()
    statuses = [
        caller.post("/functions/v1/limited", headers={"Authorization": f"Bearer made-up-{n}"})
        for n in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    refused = statuses[2]
    assert refused.headers["x-relay-error"] == "true"
    assert refused.headers["sb-error-code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"] == "Rate limit exceeded"


def test_methods_supabase_does_not_serve_are_relay_405s(admin, anonymous, fname):
    deploy(admin, fname, ECHO)
    response = anonymous.request("TRACE", f"/functions/v1/{fname}")
    body = assert_relay_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "TRACE" in body["message"]
    assert "POST" in response.headers["allow"]


def test_no_function_name_is_a_relay_404(anonymous):
    assert_relay_error(anonymous.get("/functions/v1/"), 404, "NOT_FOUND")
