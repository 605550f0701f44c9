"""The version history and rollback (contract extension)."""

from __future__ import annotations

import pytest

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

CODE = [f"function handler() {{ return {{ status: 200, body: 'v{n}' }}; }}" for n in (1, 2, 3)]


@pytest.fixture
def three_versions(admin, fname):
    admin.post("/api/v1/functions", json={"name": fname, "code": CODE[0]})
    admin.put(f"/api/v1/functions/{fname}", json={"code": CODE[1]})
    admin.put(f"/api/v1/functions/{fname}", json={"code": CODE[2]})
    return fname


def test_versions_lists_every_version_oldest_first(admin, three_versions):
    response = admin.get(f"/api/v1/functions/{three_versions}/versions")
    assert response.status_code == 200
    assert [(v["version"], v["current"]) for v in response.json()] == [
        (1, False),
        (2, False),
        (3, True),
    ]


def test_a_settings_only_update_is_also_a_version(admin, three_versions):
    admin.put(f"/api/v1/functions/{three_versions}", json={"enabled": True})
    versions = admin.get(f"/api/v1/functions/{three_versions}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert admin.get(f"/api/v1/functions/{three_versions}/versions/4").json()["code"] == CODE[2]


def test_each_version_keeps_its_code(admin, three_versions):
    for number, code in enumerate(CODE, start=1):
        version = admin.get(f"/api/v1/functions/{three_versions}/versions/{number}")
        assert version.status_code == 200
        assert version.json()["code"] == code


def test_rollback_creates_a_new_version_with_the_old_code(admin, three_versions):
    response = admin.post(f"/api/v1/functions/{three_versions}/rollback", json={"version": 1})
    assert response.status_code == 200
    assert response.json()["version"] == 4
    assert response.json()["code"] == CODE[0]
    assert admin.get(f"/api/v1/functions/{three_versions}").json()["code"] == CODE[0]


def test_rollback_to_a_missing_version_is_404(admin, three_versions, db_rows):
    before = db_rows()
    response = admin.post(f"/api/v1/functions/{three_versions}/rollback", json={"version": 99})
    assert response.status_code == 404
    assert response.json()["error"] == "Version not found"
    assert db_rows() == before


@pytest.mark.parametrize("body", [{"version": 0}, {"version": "1"}, {}, {"version": 1, "x": 1}])
def test_rollback_with_a_bad_body_is_400(admin, three_versions, body):
    response = admin.post(f"/api/v1/functions/{three_versions}/rollback", json=body)
    assert response.status_code == 400


def test_a_missing_version_is_404(admin, three_versions):
    assert admin.get(f"/api/v1/functions/{three_versions}/versions/9").status_code == 404
