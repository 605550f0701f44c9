"""Who may use the management endpoints: 401 for missing or invalid credentials, 403 for roles."""

from __future__ import annotations

import base64
import json
import time

import pytest

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

MANAGEMENT_CALLS = [
    ("POST", "/api/v1/functions"),
    ("GET", "/api/v1/functions"),
    ("GET", "/api/v1/functions/any"),
    ("PUT", "/api/v1/functions/any"),
    ("DELETE", "/api/v1/functions/any"),
    ("GET", "/api/v1/functions/any/versions"),
    ("GET", "/api/v1/functions/any/versions/1"),
    ("POST", "/api/v1/functions/any/rollback"),
    ("GET", "/api/v1/functions/any/executions"),
]


def unsigned_jwt(claims):
    """A token with `alg: none`, as an attacker would forge it."""

    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_CALLS)
def test_management_without_a_credential_is_401(anonymous, method, path):
    response = anonymous.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()) == {"error", "message"}


@pytest.mark.parametrize(("method", "path"), MANAGEMENT_CALLS)
def test_a_jwt_without_a_management_role_is_403(server, make_jwt, method, path):
    client = server.client(make_jwt({"sub": "u1", "role": "authenticated"}))
    response = client.request(method, path, json={})
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "test-admin-token-0123456789",
        "Bearer test-admin-token-012345678",
    ],
)
def test_an_invalid_authorization_header_is_401(anonymous, header):
    response = anonymous.get("/api/v1/functions", headers={"Authorization": header})
    assert response.status_code == 401


def test_the_admin_token_is_accepted(admin):
    assert admin.get("/api/v1/functions").status_code == 200


@pytest.mark.parametrize("role", ["service_role", "admin"])
def test_a_jwt_with_a_management_role_is_accepted(server, make_jwt, role):
    token = make_jwt({"sub": "u1", "role": role, "exp": int(time.time()) + 60})
    assert server.client(token).get("/api/v1/functions").status_code == 200


def test_an_expired_jwt_is_401(server, make_jwt):
    token = make_jwt({"sub": "u1", "role": "service_role", "exp": int(time.time()) - 5})
    response = server.client(token).get("/api/v1/functions")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_a_jwt_with_alg_none_is_401(server):
    token = unsigned_jwt({"sub": "u1", "role": "service_role"})
    assert server.client(token).get("/api/v1/functions").status_code == 401


def test_a_jwt_signed_with_another_algorithm_is_401(server, make_jwt):
    token = make_jwt({"sub": "u1", "role": "service_role"}, algorithm="HS512")
    assert server.client(token).get("/api/v1/functions").status_code == 401


def test_a_jwt_signed_with_another_secret_is_401(server, make_jwt):
    token = make_jwt({"sub": "u1", "role": "service_role"}, secret="x" * 64)
    assert server.client(token).get("/api/v1/functions").status_code == 401


def test_a_jwt_with_a_tampered_payload_is_401(server, make_jwt):
    header, _, signature = make_jwt({"sub": "u1", "role": "authenticated"}).split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"u1","role":"admin"}').rstrip(b"=").decode()
    response = server.client(f"{header}.{forged}.{signature}").get("/api/v1/functions")
    assert response.status_code == 401


def test_health_needs_no_credential(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
