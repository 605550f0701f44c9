"""Code is compiled and loaded at deploy time: code that cannot run is a 400 with its position."""

from __future__ import annotations

# More writes a minute than the default limits allow; rate limits have their own tests.
SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

TS_HANDLER = (
    "export default async function handler(req: { body: string }): Promise<Response> {\n"
    "  return new Response(req.body);\n"
    "}\n"
)


def test_a_syntax_error_is_400_with_line_and_column(admin, fname, db_rows):
    before = db_rows()
    code = "function handler(req) {\n  return { status: 200 body: 'x' };\n}\n"
    response = admin.post("/api/v1/functions", json={"name": fname, "code": code})
    assert response.status_code == 400
    error = response.json()
    assert error["line"] == 2
    assert isinstance(error["column"], int)
    assert db_rows() == before


def test_code_without_a_handler_is_400(admin, fname):
    response = admin.post("/api/v1/functions", json={"name": fname, "code": "const x = 1;"})
    assert response.status_code == 400
    assert "handler" in response.json()["message"].lower()


def test_a_syntax_error_in_an_update_keeps_the_old_version(admin, fname, db_rows):
    admin.post("/api/v1/functions", json={"name": fname, "code": "function handler() {}"})
    before = db_rows()
    response = admin.put(f"/api/v1/functions/{fname}", json={"code": "function handler( {"})
    assert response.status_code == 400
    assert response.json()["line"] == 1
    assert db_rows() == before


def test_typescript_is_stored_as_submitted(admin, fname):
    response = admin.post("/api/v1/functions", json={"name": fname, "code": TS_HANDLER})
    assert response.status_code == 201, response.text
    assert admin.get(f"/api/v1/functions/{fname}").json()["code"] == TS_HANDLER
