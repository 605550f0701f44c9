"""Property tests: every rejected create or update leaves the database exactly as it was.

Hypothesis builds request bodies from a valid one with one or more fields broken (unknown names,
wrong types, values out of range, bad names, code that does not compile or defines no handler,
invalid cron expressions) and sends them to a real server; each must be a 4xx with the error JSON,
and every row of every table must be unchanged.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15")) * 3
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
VALID = {
    "name": "prop-base",
    "code": "function handler(req) { return {ok: true} }",
    "description": "a function",
    "enabled": True,
    "timeout_seconds": 5,
    "memory_limit_mb": 128,
    "allow_net": False,
    "allow_env": False,
    "allow_read": False,
    "allow_write": False,
    "allow_unauthenticated": True,
    "cron_schedule": None,
    "env": {"A": "1"},
}
BOOLEANS = [
    "enabled",
    "allow_net",
    "allow_env",
    "allow_read",
    "allow_write",
    "allow_unauthenticated",
]

not_bool = st.one_of(
    st.integers(), st.text(max_size=5), st.none(), st.lists(st.booleans(), max_size=2)
)
not_int = st.one_of(
    st.text(max_size=5), st.floats(allow_nan=False), st.booleans(), st.none(), st.just([1])
)
bad_name = st.one_of(
    st.just(""),
    st.text(min_size=65, max_size=80, alphabet="abc"),
    st.text(min_size=1, max_size=10).filter(
        lambda s: any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in s)
    ),
    st.integers(),
)
bad_code = st.one_of(
    st.just(""),
    st.just("function handler( {"),
    st.just("const notAHandler = 1"),
    st.just("throw new Error('top level')"),
    st.just("function handler() {}\n}}}"),
    st.integers(),
    st.none(),
)
BROKEN_FIELD = st.one_of(
    st.tuples(st.just("name"), bad_name),
    st.tuples(st.just("code"), bad_code),
    st.tuples(
        st.just("timeout_seconds"),
        st.one_of(st.integers(max_value=0), st.integers(min_value=301), not_int),
    ),
    st.tuples(
        st.just("memory_limit_mb"),
        st.one_of(st.integers(max_value=63), st.integers(min_value=1025), not_int),
    ),
    st.tuples(st.sampled_from(BOOLEANS), not_bool),
    st.tuples(
        st.just("cron_schedule"),
        st.sampled_from(["", "* * *", "61 * * * *", "every minute", "* * * * * * *"]),
    ),
    st.tuples(st.just("description"), st.one_of(st.integers(), st.booleans(), st.just({"x": 1}))),
    st.tuples(
        st.just("env"),
        st.one_of(st.just([]), st.just("A=1"), st.just({"A": 1}), st.just({"A": None})),
    ),
    st.tuples(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in VALID and k != "name"),
        st.one_of(st.integers(), st.text(max_size=5)),
    ),
)


def assert_error_json(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.status_code not in (401, 403, 429), response.text
    body = response.json()
    assert set(body) >= {"error", "message"}, body
    assert body["message"], body


@pytest.fixture(scope="module")
def existing(admin) -> str:
    """A function the update properties try to corrupt (and a name the create properties collide with)."""
    response = admin.post("/api/v1/functions", json=VALID)
    assert response.status_code == 201, response.text
    return VALID["name"]


@PROPERTY
@given(broken=st.lists(BROKEN_FIELD, min_size=1, max_size=3), fresh=st.integers(0, 10**9))
def test_a_rejected_create_changes_no_row(admin, db_rows, existing, broken, fresh):
    body = {**VALID, "name": f"prop-{fresh}"}
    body.update(dict(broken))
    before = db_rows()
    response = admin.post("/api/v1/functions", content=json.dumps(body))
    assert_error_json(response)
    assert db_rows() == before


@PROPERTY
@given(
    broken=st.lists(BROKEN_FIELD, min_size=1, max_size=3),
    keep=st.lists(st.sampled_from(sorted(VALID)), max_size=4),
)
def test_a_rejected_update_changes_no_row(admin, db_rows, existing, broken, keep):
    body = {key: VALID[key] for key in keep if key != "name"}
    body.update(dict(broken))
    if body.get("name") == existing:
        body["name"] = existing + "-renamed"  # the same name is allowed in an update
    before = db_rows()
    response = admin.put(f"/api/v1/functions/{existing}", content=json.dumps(body))
    assert_error_json(response)
    assert db_rows() == before


@PROPERTY
@given(payload=st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode)))
def test_malformed_bodies_change_no_row(admin, db_rows, existing, payload):
    try:
        if isinstance(json.loads(payload), dict):
            return  # a JSON object is a real body; the properties above cover those
    except ValueError:
        pass
    before = db_rows()
    for response in (
        admin.post("/api/v1/functions", content=payload),
        admin.put(f"/api/v1/functions/{existing}", content=payload),
        admin.post(f"/api/v1/functions/{existing}/rollback", content=payload),
    ):
        assert_error_json(response)
    assert db_rows() == before


def test_a_duplicate_create_is_409_and_changes_no_row(admin, db_rows, existing):
    before = db_rows()
    response = admin.post(
        "/api/v1/functions", json={**VALID, "code": "function handler() { return 2 }"}
    )
    assert response.status_code == 409
    assert db_rows() == before


def test_an_empty_body_is_a_400_that_says_a_json_object_is_needed(admin, existing):
    response = admin.post("/api/v1/functions", content=b"")
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
