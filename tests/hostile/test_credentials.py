"""Credentials: the server's own tokens never reach function code (issue 12, case 7).

A private function's author must not be able to read the admin token or an API token from a
caller's `Authorization` header (and then manage, say delete, other functions). End-user JWTs are
forwarded, as Supabase forwards them: functions read their caller from them.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import jwt

from tests.conftest import ADMIN_TOKEN, JWT_SECRET, ServerProcess

from .support import SERVER_ENV, assert_record, deploy, invoke

__all__ = ["SERVER_ENV"]

STEALER = """
async function handler(req) {
  return {seen: req.headers['authorization'] ?? null,
          all: Object.keys(req.headers).filter((n) => /auth|token|key/i.test(n))};
}
"""

WEB_STEALER = """
export default { async fetch(request) {
  return Response.json({seen: request.headers.get('authorization')});
} }
"""


def _api_token(server: ServerProcess, name: str, scope: str = "manage") -> str:
    created = subprocess.run(
        [sys.executable, "-m", "flux_edge", "token", "--data-dir", str(server.data_dir),
         "create", "--name", name, "--scope", scope],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return created.stdout.strip()


def test_the_admin_token_never_reaches_function_code(admin: httpx.Client, unharmed) -> None:
    for code in (STEALER, WEB_STEALER):
        for private in (False, True):
            name = deploy(admin, code, allow_unauthenticated=not private)
            outcome = invoke(admin, name)
            assert_record(outcome, "success", 200)
            assert outcome.response.json()["seen"] is None, ADMIN_TOKEN
    unharmed()


def test_api_tokens_never_reach_function_code_on_any_route(
    server: ServerProcess, admin: httpx.Client, unharmed
) -> None:
    name = deploy(admin, STEALER, allow_unauthenticated=False)
    for scope in ("manage", "invoke"):
        token = _api_token(server, f"t-{scope}", scope)
        client = server.client(token)
        for path in (f"/api/v1/functions/{name}/invoke", f"/functions/v1/{name}"):
            response = client.post(path, content="x")
            assert response.status_code == 200, response.text
            assert response.json() == {"seen": None, "all": []}, path
    unharmed()


def test_end_user_jwts_are_forwarded_as_supabase_does(
    server: ServerProcess, admin: httpx.Client, unharmed
) -> None:
    name = deploy(admin, STEALER, allow_unauthenticated=False)
    user_jwt = jwt.encode({"sub": "user-1", "role": "authenticated"}, JWT_SECRET, "HS256")
    for path in (f"/api/v1/functions/{name}/invoke", f"/functions/v1/{name}"):
        response = server.client(user_jwt).post(path)
        assert response.status_code == 200, response.text
        assert response.json()["seen"] == f"Bearer {user_jwt}"
    unharmed()


def test_an_opaque_bearer_meant_for_the_function_is_forwarded(
    server: ServerProcess, admin: httpx.Client, unharmed
) -> None:
    # A public function doing its own authentication: a bearer flux-edge does not know is the
    # function's business (on the Supabase route, public functions do not check it).
    name = deploy(admin, STEALER)
    response = server.client("my-own-app-token").post(f"/functions/v1/{name}")
    assert response.status_code == 200, response.text
    assert response.json()["seen"] == "Bearer my-own-app-token"
    unharmed()


def test_a_server_token_in_the_apikey_header_never_reaches_function_code(
    server: ServerProcess, admin: httpx.Client, unharmed
) -> None:
    code = "async function handler(req) { return {apikey: req.headers['apikey'] ?? null} }"
    name = deploy(admin, code)
    api_token = _api_token(server, "in-apikey", "invoke")
    for token in (ADMIN_TOKEN, api_token):
        for path in (f"/api/v1/functions/{name}/invoke", f"/functions/v1/{name}"):
            answer = admin.post(path, headers={"apikey": token}, content=b"{}")
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"apikey": None}
    anon = admin.post(f"/functions/v1/{name}", headers={"apikey": "anon-key"}, content=b"{}")
    assert anon.json() == {"apikey": "anon-key"}
    unharmed()
