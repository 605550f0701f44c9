"""PATCH /api/v1/functions/:name/env: set and unset some variables, keep the rest (extension)."""

from __future__ import annotations

ENV_ECHO = (
    "export default { fetch(request, env) {"
    " return Response.json(Object.fromEntries(Object.entries(env).sort())); } };"
)


def _create(admin, name: str, env: dict[str, str]) -> None:
    body = {"name": name, "code": ENV_ECHO, "enabled": True, "env": env}
    assert admin.post("/api/v1/functions", json=body).status_code == 201


def test_set_and_unset_keep_the_other_variables(admin, anonymous, fname):
    _create(admin, fname, {"KEEP": "k", "OLD": "o", "GONE": "g"})
    changed = admin.patch(
        f"/api/v1/functions/{fname}/env",
        json={"set": {"OLD": "new", "ADDED": "a"}, "unset": ["GONE"]},
    )
    assert changed.status_code == 200
    assert changed.json()["env_names"] == ["ADDED", "KEEP", "OLD"]
    assert changed.json()["version"] == 2
    assert "new" not in changed.text  # values stay write-only
    seen = anonymous.post(f"/api/v1/functions/{fname}/invoke").json()
    assert seen == {"ADDED": "a", "KEEP": "k", "OLD": "new"}


def test_unsetting_an_absent_variable_is_not_an_error(admin, fname):
    _create(admin, fname, {"A": "1"})
    changed = admin.patch(f"/api/v1/functions/{fname}/env", json={"unset": ["NOPE"]})
    assert changed.status_code == 200
    assert changed.json()["env_names"] == ["A"]


def test_a_name_both_set_and_unset_is_refused(admin, fname):
    _create(admin, fname, {})
    refused = admin.patch(
        f"/api/v1/functions/{fname}/env", json={"set": {"A": "1"}, "unset": ["A"]}
    )
    assert refused.status_code == 400
    assert "A cannot be both set and unset" in refused.json()["message"]


def test_more_than_a_hundred_variables_after_the_change_are_refused(admin, fname):
    _create(admin, fname, {f"V{n}": "x" for n in range(100)})
    refused = admin.patch(f"/api/v1/functions/{fname}/env", json={"set": {"ONE_MORE": "x"}})
    assert refused.status_code == 400
    assert "at most 100 variables" in refused.json()["message"]


def test_a_bad_variable_name_or_unknown_function_is_refused(admin, fname):
    _create(admin, fname, {})
    bad = admin.patch(f"/api/v1/functions/{fname}/env", json={"set": {"1BAD": "x"}})
    assert bad.status_code == 400
    missing = admin.patch("/api/v1/functions/no-such-function/env", json={"set": {"A": "1"}})
    assert missing.status_code == 404


def test_changing_env_needs_a_management_credential(anonymous, admin, fname):
    _create(admin, fname, {})
    assert (
        anonymous.patch(f"/api/v1/functions/{fname}/env", json={"set": {"A": "1"}}).status_code
        == 401
    )
