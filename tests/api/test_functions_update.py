"""PUT /api/v1/functions/:name: partial updates, versions, renames and 404s."""

from __future__ import annotations

import pytest

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

V1 = "function handler() { return { status: 200, body: 'v1' }; }"
V2 = "function handler() { return { status: 200, body: 'v2' }; }"


@pytest.fixture
def deployed(admin, fname):
    created = admin.post("/api/v1/functions", json={"name": fname, "code": V1, "env": {"A": "1"}})
    assert created.status_code == 201
    return fname


def test_update_changes_only_the_given_fields(admin, deployed):
    change = {"enabled": True, "timeout_seconds": 60}
    response = admin.put(f"/api/v1/functions/{deployed}", json=change)
    assert response.status_code == 200
    body = response.json()
    assert body["enabled"] is True
    assert body["timeout_seconds"] == 60
    assert body["memory_limit_mb"] == 128
    assert body["code"] == V1
    assert body["env_names"] == ["A"]


def test_every_successful_update_increments_the_version(admin, deployed):
    versions = [
        admin.put(f"/api/v1/functions/{deployed}", json=change).json()["version"]
        for change in ({"code": V2}, {"enabled": True}, {})
    ]
    assert versions == [2, 3, 4]
    assert admin.get(f"/api/v1/functions/{deployed}").json()["version"] == 4


def test_update_moves_updated_at_but_not_created_at(admin, deployed):
    before = admin.get(f"/api/v1/functions/{deployed}").json()
    after = admin.put(f"/api/v1/functions/{deployed}", json={"code": V2}).json()
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] > before["updated_at"]


def test_update_can_clear_description_and_cron_with_null(admin, deployed):
    admin.put(
        f"/api/v1/functions/{deployed}", json={"description": "d", "cron_schedule": "0 * * * *"}
    )
    body = admin.put(
        f"/api/v1/functions/{deployed}", json={"description": None, "cron_schedule": None}
    ).json()
    assert body["description"] is None
    assert body["cron_schedule"] is None


def test_update_env_replaces_the_whole_set(admin, deployed):
    body = admin.put(f"/api/v1/functions/{deployed}", json={"env": {"B": "2", "C": "3"}}).json()
    assert body["env_names"] == ["B", "C"]


def test_update_with_the_same_name_is_allowed(admin, deployed):
    response = admin.put(f"/api/v1/functions/{deployed}", json={"name": deployed})
    assert response.status_code == 200


def test_renaming_through_put_is_400_and_changes_nothing(admin, deployed, db_rows):
    before = db_rows()
    response = admin.put(f"/api/v1/functions/{deployed}", json={"name": "other-name"})
    assert response.status_code == 400
    assert response.json()["error"] == "Renaming is not supported"
    assert db_rows() == before


def test_update_of_an_unknown_function_is_404(admin):
    response = admin.put("/api/v1/functions/never-created", json={"enabled": True})
    assert response.status_code == 404
    assert response.json()["error"] == "Function not found"
