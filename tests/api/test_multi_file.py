"""Multi-file functions over the management API: files with an entrypoint, versions, rollback."""

from __future__ import annotations

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}

CORS = 'export const corsHeaders = { "access-control-allow-origin": "*" };\n'
INDEX_V1 = (
    'import { corsHeaders } from "../_shared/cors.ts";\n'
    'import { greet } from "./greet.ts";\n'
    "export default (req: Request) =>\n"
    "  new Response(greet(new URL(req.url).searchParams.get('name') ?? 'world'),"
    " { headers: corsHeaders });\n"
)
GREET_V1 = "export const greet = (name: string): string => `hello ${name}`;\n"
GREET_V2 = "export const greet = (name: string): string => `bonjour ${name}`;\n"


def _files(greet: str = GREET_V1) -> dict[str, str]:
    return {"hello/index.ts": INDEX_V1, "hello/greet.ts": greet, "_shared/cors.ts": CORS}


def _deploy(admin, fname, **body):
    return admin.post(
        "/api/v1/functions",
        json={"name": fname, "enabled": True, "entrypoint": "hello/index.ts", **body},
    )


def test_a_function_is_deployed_as_files_with_an_entrypoint(admin, fname):
    response = _deploy(admin, fname, files=_files())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["entrypoint"] == "hello/index.ts"
    assert created["files"] == _files()
    assert created["code"] == INDEX_V1
    assert created["packages"] == {}
    called = admin.post(f"/api/v1/functions/{fname}/invoke?name=ada")
    assert called.status_code == 200
    assert called.text == "hello ada"
    assert called.headers["access-control-allow-origin"] == "*"


def test_versions_keep_every_file_and_rollback_restores_them(admin, fname):
    assert _deploy(admin, fname, files=_files()).status_code == 201
    updated = admin.put(
        f"/api/v1/functions/{fname}",
        json={"files": _files(GREET_V2), "entrypoint": "hello/index.ts"},
    )
    assert updated.status_code == 200, updated.text
    assert admin.post(f"/api/v1/functions/{fname}/invoke?name=ada").text == "bonjour ada"
    first = admin.get(f"/api/v1/functions/{fname}/versions/1").json()
    assert first["files"] == _files()
    assert first["entrypoint"] == "hello/index.ts"
    rolled = admin.post(f"/api/v1/functions/{fname}/rollback", json={"version": 1})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["files"] == _files()
    assert admin.post(f"/api/v1/functions/{fname}/invoke?name=ada").text == "hello ada"


def test_a_settings_change_keeps_the_files(admin, fname):
    assert _deploy(admin, fname, files=_files()).status_code == 201
    changed = admin.put(f"/api/v1/functions/{fname}", json={"timeout_seconds": 5})
    assert changed.status_code == 200
    assert changed.json()["files"] == _files()
    assert admin.post(f"/api/v1/functions/{fname}/invoke?name=x").text == "hello x"


def test_single_code_with_a_relative_import_names_the_missing_module(admin, fname):
    code = 'import { x } from "./x.ts";\nexport default () => x;\n'
    response = admin.post("/api/v1/functions", json={"name": fname, "code": code})
    assert response.status_code == 400
    error = response.json()
    assert error["file"] == "index.ts"
    assert (error["line"], error["column"]) == (1, 19)
    assert "module not found: './x.ts'" in error["message"]


def test_an_error_in_a_module_names_the_file_line_and_column(admin, fname):
    files = _files("export const greet = (name: string) => {\n  return name +;\n};\n")
    response = _deploy(admin, fname, files=files)
    assert response.status_code == 400
    error = response.json()
    assert error["file"] == "hello/greet.ts"
    assert error["line"] == 2
    assert "hello/greet.ts, line 2" in error["message"]


def test_code_and_files_together_are_refused(admin, fname):
    response = _deploy(admin, fname, files=_files(), code="export default () => 1")
    assert response.status_code == 400
    assert "either `code` or `files`" in response.json()["message"]


def test_an_entrypoint_not_among_the_files_is_refused(admin, fname):
    response = admin.post(
        "/api/v1/functions", json={"name": fname, "files": _files(), "entrypoint": "nope.ts"}
    )
    assert response.status_code == 400
    assert "'nope.ts' is not among `files`" in response.json()["message"]


def test_paths_that_climb_out_or_are_absolute_are_refused(admin, fname):
    for path in ("../etc/passwd.ts", "/abs.ts", "a//b.ts", "a/./b.ts"):
        response = admin.post(
            "/api/v1/functions",
            json={"name": fname, "files": {"index.ts": "export default () => 1", path: "1"}},
        )
        assert response.status_code == 400, path
        assert "not a relative path" in response.json()["message"]


def test_more_than_a_thousand_files_is_refused(admin, fname):
    files = {f"m{i}.ts": "" for i in range(1001)}
    response = admin.post("/api/v1/functions", json={"name": fname, "files": files})
    assert response.status_code == 400


def test_files_over_five_mib_together_are_refused(admin, fname):
    chunk = "// " + "x" * (1024 * 1024) + "\n"
    files = {f"part{i}.ts": chunk for i in range(5)} | {"index.ts": "export default () => 1"}
    response = admin.post("/api/v1/functions", json={"name": fname, "files": files})
    assert response.status_code in (400, 413)


def test_an_error_thrown_while_a_module_loads_names_the_module(admin, fname):
    files = _files() | {"hello/greet.ts": "const table = null as any;\n\ntable.load();\n"}
    response = _deploy(admin, fname, files=files)
    assert response.status_code == 400
    error = response.json()
    assert (error["file"], error["line"], error["column"]) == ("hello/greet.ts", 3, 7)
    assert "Cannot read properties of null" in error["message"]
