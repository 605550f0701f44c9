"""GET /api/v1/functions and GET /api/v1/functions/:name."""

from __future__ import annotations

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

HANDLER = "function handler(req) { return { status: 200, body: req.method }; }"


def test_list_is_ordered_by_name_and_omits_code(admin):
    for name in ("zeta-list", "alpha-list", "Mid-list"):
        admin.post("/api/v1/functions", json={"name": name, "code": HANDLER})
    listed = admin.get("/api/v1/functions")
    assert listed.status_code == 200
    names = [f["name"] for f in listed.json()]
    assert [n for n in names if n.endswith("-list")] == ["Mid-list", "alpha-list", "zeta-list"]
    assert names == sorted(names)
    assert all("code" not in f and "compiled" not in f for f in listed.json())


def test_list_shows_metadata_fields(admin, fname):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER, "env": {"K": "v"}})
    entry = next(f for f in admin.get("/api/v1/functions").json() if f["name"] == fname)
    assert entry["version"] == 1
    assert entry["enabled"] is False
    assert entry["timeout_seconds"] == 30
    assert entry["memory_limit_mb"] == 128
    assert entry["env_names"] == ["K"]


def test_get_returns_the_code_as_submitted(admin, fname):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    response = admin.get(f"/api/v1/functions/{fname}")
    assert response.status_code == 200
    assert response.json()["code"] == HANDLER


def test_get_of_an_unknown_function_is_404_json(admin):
    response = admin.get("/api/v1/functions/no-such-function")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "Function not found"
