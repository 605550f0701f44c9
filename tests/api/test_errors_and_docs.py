"""Litestar's own errors use the contract's JSON shape, and the OpenAPI document is complete."""

from __future__ import annotations

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}


def test_an_unknown_path_is_404_json(anonymous):
    response = anonymous.get("/no/such/path")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"error", "message"}


def test_a_wrong_method_is_405_json(admin):
    response = admin.patch("/api/v1/functions")
    assert response.status_code == 405
    assert set(response.json()) == {"error", "message"}


def test_the_openapi_document_describes_every_management_endpoint(anonymous):
    response = anonymous.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/health": {"get"},
        "/api/v1/functions": {"get", "post"},
        "/api/v1/functions/{name}": {"get", "put", "delete"},
        "/api/v1/functions/{name}/versions": {"get"},
        "/api/v1/functions/{name}/versions/{version}": {"get"},
        "/api/v1/functions/{name}/rollback": {"post"},
        "/api/v1/functions/{name}/executions": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path


def test_the_openapi_request_schema_carries_the_validation_rules(anonymous):
    schemas = anonymous.get("/schema/openapi.json").json()["components"]["schemas"]
    create = schemas["FunctionCreate"]["properties"]
    assert create["timeout_seconds"]["minimum"] == 1
    assert create["timeout_seconds"]["maximum"] == 300
    assert create["name"]["pattern"] == r"^[A-Za-z0-9_-]{1,64}(?!\n)$"


def test_every_request_is_logged_as_one_json_line(server, anonymous):
    import json

    anonymous.get("/health?probe=logline")
    lines = [json.loads(line) for line in server.stdout().splitlines() if line.startswith("{")]
    entries = [e for e in lines if e.get("event") == "request" and e.get("path") == "/health"]
    assert entries
    assert {"method", "path", "status", "duration_ms"} <= set(entries[-1])
    assert entries[-1]["status"] == 200


def test_each_request_is_logged_once(server, anonymous):
    import json
    import uuid

    path = f"/probe-{uuid.uuid4().hex}"
    anonymous.get(path)
    mentions = [line for line in server.stdout().splitlines() if path in line]
    assert len(mentions) == 1
    assert json.loads(mentions[0])["status"] == 404
