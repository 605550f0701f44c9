"""Bad input gets a 4xx JSON error and leaves the database exactly as it was."""

from __future__ import annotations

import pytest

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

HANDLER = "function handler() { return { status: 200, body: 'x' }; }"
SQLISH = "x'); DROP TABLE functions; --"

BAD_CREATES = {
    "unicode name": {"name": "héllo", "code": HANDLER},
    "slash in name": {"name": "a/b", "code": HANDLER},
    "space in name": {"name": "a b", "code": HANDLER},
    "empty name": {"name": "", "code": HANDLER},
    "65-char name": {"name": "a" * 65, "code": HANDLER},
    "sql-ish name": {"name": SQLISH, "code": HANDLER},
    "name not a string": {"name": 5, "code": HANDLER},
    "missing name": {"code": HANDLER},
    "missing code": {"name": "ok-name"},
    "empty code": {"name": "ok-name", "code": ""},
    "blank code": {"name": "ok-name", "code": "  \n "},
    "code not a string": {"name": "ok-name", "code": ["x"]},
    "enabled as a string": {"name": "ok-name", "code": HANDLER, "enabled": "true"},
    "enabled as a number": {"name": "ok-name", "code": HANDLER, "enabled": 1},
    "timeout 0": {"name": "ok-name", "code": HANDLER, "timeout_seconds": 0},
    "timeout 301": {"name": "ok-name", "code": HANDLER, "timeout_seconds": 301},
    "timeout as a string": {"name": "ok-name", "code": HANDLER, "timeout_seconds": "30"},
    "timeout as a float": {"name": "ok-name", "code": HANDLER, "timeout_seconds": 30.5},
    "memory 63": {"name": "ok-name", "code": HANDLER, "memory_limit_mb": 63},
    "memory 1025": {"name": "ok-name", "code": HANDLER, "memory_limit_mb": 1025},
    "allow_net null": {"name": "ok-name", "code": HANDLER, "allow_net": None},
    "description a number": {"name": "ok-name", "code": HANDLER, "description": 7},
    "cron nonsense": {"name": "ok-name", "code": HANDLER, "cron_schedule": "every minute"},
    "cron 6 fields": {"name": "ok-name", "code": HANDLER, "cron_schedule": "* * * * * *"},
    "cron minute 61": {"name": "ok-name", "code": HANDLER, "cron_schedule": "61 * * * *"},
    "cron sql-ish": {"name": "ok-name", "code": HANDLER, "cron_schedule": SQLISH},
    "env bad name": {"name": "ok-name", "code": HANDLER, "env": {"1BAD": "x"}},
    "env sql-ish name": {"name": "ok-name", "code": HANDLER, "env": {SQLISH: "x"}},
    "env non-string value": {"name": "ok-name", "code": HANDLER, "env": {"A": 1}},
    "unknown field": {"name": "ok-name", "code": HANDLER, "runtime": "node"},
    "sql-ish unknown field": {"name": "ok-name", "code": HANDLER, SQLISH: 1},
}


@pytest.mark.parametrize("body", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_invalid_create_is_400_and_changes_nothing(admin, db_rows, body):
    before = db_rows()
    response = admin.post("/api/v1/functions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert set(error) == {"error", "message"}
    assert error["message"]
    assert db_rows() == before


def test_an_unknown_field_is_named_in_the_message(admin):
    response = admin.post("/api/v1/functions", json={"name": "n", "code": HANDLER, "runtime": 1})
    assert "runtime" in response.json()["message"]


def test_a_wrong_type_names_the_field(admin):
    body = {"name": "n", "code": HANDLER, "enabled": "true"}
    response = admin.post("/api/v1/functions", json=body)
    assert "enabled" in response.json()["message"]


@pytest.mark.parametrize("name", ["Name_with-ALL_kinds-09", "a", "a" * 64])
def test_names_at_the_edges_of_the_pattern_are_accepted(admin, name):
    response = admin.post("/api/v1/functions", json={"name": name, "code": HANDLER})
    assert response.status_code == 201, response.text


def test_sql_ish_strings_are_stored_verbatim_where_allowed(admin, fname):
    body = {"name": fname, "code": f"// {SQLISH}\n{HANDLER}", "description": SQLISH}
    assert admin.post("/api/v1/functions", json=body).status_code == 201
    stored = admin.get(f"/api/v1/functions/{fname}").json()
    assert stored["description"] == SQLISH
    assert stored["code"] == body["code"]


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b"not json", b'{"name": "x", "code": "y",}', b"\xff\xfe", b"[]", b"null", b'"x"'],
)
def test_malformed_or_non_object_json_is_400(admin, db_rows, raw):
    before = db_rows()
    response = admin.post(
        "/api/v1/functions", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error", "message"}
    assert db_rows() == before


def test_a_body_over_the_limit_is_413_and_changes_nothing(admin, db_rows):
    before = db_rows()
    code = "// " + "x" * (6 * 1024 * 1024 + 16)
    response = admin.post("/api/v1/functions", json={"name": "too-big", "code": code})
    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"
    assert db_rows() == before


def test_code_over_five_mib_is_400(admin, db_rows):
    before = db_rows()
    code = HANDLER + "\n//" + "é" * (5 * 512 * 1024)  # 5 MiB + in UTF-8, under the 6 MiB body limit
    response = admin.post("/api/v1/functions", json={"name": "big-code", "code": code})
    assert response.status_code == 400
    assert db_rows() == before


BAD_UPDATES = {
    "wrong type": {"enabled": "yes"},
    "unknown field": {"version": 9},
    "timeout too long": {"timeout_seconds": 1000},
    "memory too small": {"memory_limit_mb": 1},
    "bad cron": {"cron_schedule": "* *"},
    "empty code": {"code": ""},
    "rename": {"name": "renamed"},
    "sql-ish rename": {"name": SQLISH},
}


@pytest.mark.parametrize("body", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_invalid_update_is_400_and_changes_nothing(admin, db_rows, fname, body):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    before = db_rows()
    response = admin.put(f"/api/v1/functions/{fname}", json=body)
    assert response.status_code == 400, response.text
    assert db_rows() == before


def test_malformed_json_on_update_is_400(admin, fname):
    admin.post("/api/v1/functions", json={"name": fname, "code": HANDLER})
    response = admin.put(
        f"/api/v1/functions/{fname}", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Malformed JSON"


@pytest.mark.parametrize("path", ["héllo", "a%2Fb", "x'%3B DROP TABLE functions%3B--"])
def test_odd_names_in_the_path_are_404_json(admin, path):
    response = admin.get(f"/api/v1/functions/{path}")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "message"}
