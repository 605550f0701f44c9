"""POST /api/v1/functions against a real server: statuses, defaults and stored values."""

from __future__ import annotations

import re

import pytest

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

HANDLER = "async function handler(req) { return { status: 200, body: 'ok' }; }"


def test_create_returns_201_with_every_default(admin, fname):
    response = admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == fname
    assert body["code"] == HANDLER
    assert body["version"] == 1
    assert body["description"] is None
    assert body["enabled"] is False
    assert body["timeout_seconds"] == 30
    assert body["memory_limit_mb"] == 128
    assert body["allow_net"] is True
    assert body["allow_env"] is True
    assert body["allow_read"] is False
    assert body["allow_write"] is False
    assert body["allow_unauthenticated"] is True
    assert body["cron_schedule"] is None
    assert body["env_names"] == []
    assert body["created_by"] == "admin"
    assert "compiled" not in body


def test_create_returns_an_id_and_utc_timestamps(admin, fname):
    body = admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER}).json()
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])
    assert body["created_at"].endswith("Z")
    assert body["created_at"] == body["updated_at"]


def test_create_stores_every_given_field(admin, fname):
    given = {
        "name": fname,
        "code": HANDLER,
        "description": "Sends welcome email",
        "enabled": True,
        "timeout_seconds": 300,
        "memory_limit_mb": 1024,
        "allow_net": False,
        "allow_env": False,
        "allow_read": True,
        "allow_write": True,
        "allow_unauthenticated": False,
        "cron_schedule": "*/5 * * * *",
    }
    assert admin.post("/api/v1/functions", json=given).status_code == 201
    stored = admin.get(f"/api/v1/functions/{fname}").json()
    assert {k: stored[k] for k in given} == given


def test_create_accepts_the_smallest_limits(admin, fname):
    body = {"name": fname, "code": HANDLER, "timeout_seconds": 1, "memory_limit_mb": 64}
    assert admin.post("/api/v1/functions", json=body).status_code == 201


def test_create_keeps_env_values_write_only(admin, fname):
    body = {"name": fname, "code": HANDLER, "env": {"API_KEY": "secret-value", "B": "2"}}
    created = admin.post("/api/v1/functions", json=body)
    assert created.status_code == 201
    assert created.json()["env_names"] == ["API_KEY", "B"]
    fetched = admin.get(f"/api/v1/functions/{fname}")
    assert "secret-value" not in fetched.text
    assert fetched.json()["env_names"] == ["API_KEY", "B"]


def test_create_with_a_taken_name_is_409_and_keeps_the_first(admin, fname, db_rows):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    before = db_rows()
    again = admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER + " "})
    assert again.status_code == 409
    assert set(again.json()) == {"error", "message"}
    assert db_rows() == before


def test_a_taken_name_is_refused_before_the_code_is_loaded(admin, fname):
    # Create-or-update clients (deploy, dev) send a create first: it must not link and load the
    # code (which takes an isolate host) only to find the name taken.
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    again = admin.post("/api/v1/functions", json={"name": fname, "code": "function handler( {"})
    assert again.status_code == 409
    assert again.json()["error"] == "Function already exists"


def test_create_records_the_jwt_subject_as_created_by(server, make_jwt, fname):
    token = make_jwt({"sub": "user-42", "role": "service_role"})
    response = server.client(token).post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    assert response.status_code == 201
    assert response.json()["created_by"] == "user-42"


def test_the_stream_endpoints_name_is_reserved(admin):
    response = admin.post(
        "/api/v1/functions", json={"name": "stream", "code": "function handler() {}"}
    )
    assert response.status_code == 400
    assert "reserved" in response.json()["message"]


@pytest.mark.parametrize("name", ["trailing-newline\n", "a\nb", "\nleading"])
def test_a_name_with_a_newline_is_400_and_creates_nothing(admin, name):
    created = admin.post("/api/v1/functions", json={"name": name, "code": "function handler() {}"})
    assert created.status_code == 400, created.text
    names = [f["name"] for f in admin.get("/api/v1/functions").json()]
    assert name not in names
    assert name.strip() not in names


def test_an_env_name_with_a_trailing_newline_is_400(admin, fname):
    body = {"name": fname, "code": "function handler() {}", "env": {"KEY\n": "v"}}
    assert admin.post("/api/v1/functions", json=body).status_code == 400
