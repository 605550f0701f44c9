"""npm packages, import maps and URL imports, deployed through a real server.

Packages come from the npm registry (FLUX_EDGE_NPM_REGISTRY, default the public one): a session
fixture fills one package cache, and each server starts with a copy of it in its data dir.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.server
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from flux_edge.runtime.codeforms.build import FunctionLinker
from tests.conftest import ADMIN_TOKEN, ServerProcess, launch_server

PACKAGES = {
    "hono": "4.6.20",
    "zod": "3.24.2",
    "jose": "5.9.6",
    "itty-router": "5.0.18",
    "ms": "2.1.3",  # CommonJS only
}
JWT_KEY = "a-shared-secret-of-32-bytes-min!"


@pytest.fixture(scope="session")
def package_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package cache holding every package these tests import (fetched once per session)."""
    root = tmp_path_factory.mktemp("npm-cache")
    imports = "".join(f'import "npm:{name}@{version}";\n' for name, version in PACKAGES.items())
    linker = FunctionLinker(root)
    try:
        linker({"index.ts": imports + "export default () => 1;\n"}, "index.ts")
    finally:
        linker.close()
    return root


def _server_with_cache(data_dir: Path, package_cache: Path, **env: str) -> ServerProcess:
    if not (data_dir / "packages").exists():
        shutil.copytree(package_cache, data_dir / "packages")
    return launch_server(data_dir, extra_env={"FLUX_EDGE_RATE_LIMITS": "off", **env})


@pytest.fixture(scope="module")
def npm_server(
    tmp_path_factory: pytest.TempPathFactory, package_cache: Path
) -> Iterator[ServerProcess]:
    server = _server_with_cache(tmp_path_factory.mktemp("npm") / "data", package_cache)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(npm_server: ServerProcess):
    return npm_server.client(ADMIN_TOKEN)


def _deploy(api, name: str, **body):
    response = api.post("/api/v1/functions", json={"name": name, "enabled": True, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_hono_app_routes_the_sub_paths_after_its_name(api, fname):
    code = (
        'import { Hono } from "npm:hono@^4.6";\n'
        f'const app = new Hono().basePath("/{fname}");\n'
        'app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") }));\n'
        'app.post("/echo", async (c) => c.json(await c.req.json(), 201));\n'
        "app.notFound((c) => c.json({ missing: c.req.path }, 404));\n"
        "Deno.serve(app.fetch);\n"
    )
    created = _deploy(api, fname, code=code)
    [locked] = created["packages"]
    assert locked.startswith("hono@4.")
    assert created["packages"][locked].startswith("sha512-")
    base = f"/api/v1/functions/{fname}/invoke"
    got = api.get(f"{base}/users/42?q=x")
    assert got.status_code == 200, got.text
    assert got.json() == {"id": "42", "q": "x"}
    posted = api.post(f"{base}/echo", json={"a": 1})
    assert (posted.status_code, posted.json()) == (201, {"a": 1})
    missing = api.get(f"{base}/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"missing": f"/{fname}/nowhere"})


def test_jose_verifies_a_jwt(api, fname):
    code = (
        'import { jwtVerify } from "npm:jose@5";\n'
        f'const key = new TextEncoder().encode("{JWT_KEY}");\n'
        "export default async (req: Request): Promise<Response> => {\n"
        '  const token = req.headers.get("x-session") ?? "";\n'
        "  try {\n"
        "    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });\n"
        "    return Response.json({ sub: payload.sub });\n"
        "  } catch (error) {\n"
        "    return Response.json({ error: (error as Error).name }, { status: 401 });\n"
        "  }\n"
        "};\n"
    )
    _deploy(api, fname, code=code)
    good = jwt.encode({"sub": "user-7", "exp": int(time.time()) + 60}, JWT_KEY, "HS256")
    bad = jwt.encode({"sub": "user-7"}, "another-secret-of-32-bytes-long!", "HS256")
    url = f"/api/v1/functions/{fname}/invoke"
    # `authorization` is the server's own credential: the session token rides in its own header.
    ok = api.post(url, headers={"x-session": good})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"sub": "user-7"}
    refused = api.post(url, headers={"x-session": bad})
    assert refused.status_code == 401
    assert refused.json() == {"error": "JWSSignatureVerificationFailed"}


def test_zod_validates_a_body(api, fname):
    code = (
        'import { z } from "npm:zod@3";\n'
        "const Signup = z.object({ email: z.string().email(), age: z.number().int().min(13) });\n"
        "export default async (req: Request) => {\n"
        "  const parsed = Signup.safeParse(await req.json());\n"
        "  if (!parsed.success) {\n"
        "    const fields = parsed.error.issues.map((issue) => issue.path.join('.'));\n"
        "    return Response.json({ fields }, { status: 422 });\n"
        "  }\n"
        "  return Response.json(parsed.data);\n"
        "};\n"
    )
    _deploy(api, fname, code=code)
    url = f"/api/v1/functions/{fname}/invoke"
    valid = api.post(url, json={"email": "a@example.com", "age": 30})
    assert (valid.status_code, valid.json()) == (200, {"email": "a@example.com", "age": 30})
    invalid = api.post(url, json={"email": "nope", "age": 3})
    assert invalid.status_code == 422
    assert sorted(invalid.json()["fields"]) == ["age", "email"]


def test_an_itty_router_routes_requests(api, fname):
    code = (
        'import { AutoRouter } from "npm:itty-router@5";\n'
        f'const router = AutoRouter({{ base: "/{fname}" }});\n'
        'router.get("/items/:id", ({ params }) => ({ item: params.id }));\n'
        "export default { fetch: router.fetch };\n"
    )
    _deploy(api, fname, code=code)
    got = api.get(f"/api/v1/functions/{fname}/invoke/items/abc")
    assert (got.status_code, got.json()) == (200, {"item": "abc"})
    assert api.get(f"/api/v1/functions/{fname}/invoke/other").status_code == 404


def test_a_commonjs_only_package_is_imported(api, fname):
    code = (
        'import ms from "npm:ms@2.1.3";\n'
        'import { unit } from "./unit.ts";\n'
        "export default () => Response.json({ day: ms('1' + unit), short: ms(90_000) });\n"
    )
    files = {"index.ts": code, "unit.ts": 'export const unit = "d";\n'}
    created = _deploy(api, fname, files=files)
    assert created["packages"] == {
        "ms@2.1.3": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="
    }
    got = api.get(f"/api/v1/functions/{fname}/invoke")
    assert got.json() == {"day": 86_400_000, "short": "2m"}


def test_an_import_map_and_package_json_map_bare_specifiers(api, fname):
    files = {
        "deno.json": (
            '{ "imports": { "zod": "npm:zod@3.24.2", "@shared/": "./functions/_shared/" } }'
        ),
        "package.json": '{ "dependencies": { "ms": "^2.1.0" } }',
        "functions/hello/index.ts": (
            'import { z } from "zod";\n'
            'import ms from "ms";\n'
            'import { cors } from "@shared/cors.ts";\n'
            "export default () => Response.json({ ok: z.string().safeParse('x').success,"
            " ms: ms('1s') }, { headers: cors });\n"
        ),
        "functions/_shared/cors.ts": 'export const cors = { "access-control-allow-origin": "*" };\n',
    }
    created = _deploy(api, fname, files=files, entrypoint="functions/hello/index.ts")
    assert sorted(created["packages"]) == ["ms@2.1.3", "zod@3.24.2"]
    got = api.get(f"/api/v1/functions/{fname}/invoke")
    assert got.json() == {"ok": True, "ms": 1000}
    assert got.headers["access-control-allow-origin"] == "*"


def test_an_https_import_from_a_host_not_allowed_is_refused(api, fname):
    code = 'import { serve } from "https://esm.sh/hono@4";\nexport default () => 1;\n'
    response = api.post("/api/v1/functions", json={"name": fname, "code": code})
    assert response.status_code == 400
    error = response.json()
    assert (error["file"], error["line"], error["column"]) == ("index.ts", 1, 23)
    assert "'https://esm.sh/hono@4' refused" in error["message"]
    assert "FLUX_EDGE_IMPORT_HOSTS" in error["message"]


def test_the_std_serve_shim_wraps_deno_serve(api, fname):
    code = (
        'import { serve } from "https://deno.land/std@0.168.0/http/server.ts";\n'
        "serve((req: Request) => new Response(`std ${new URL(req.url).pathname}`));\n"
    )
    _deploy(api, fname, code=code)
    assert api.get(f"/api/v1/functions/{fname}/invoke/x").text == f"std /{fname}/x"


def test_a_package_needing_an_unsupported_node_module_is_refused_naming_it(api, fname):
    code = 'import fs from "npm:graceful-fs@4.2.11";\nexport default () => 1;\n'
    response = api.post("/api/v1/functions", json={"name": fname, "code": code})
    assert response.status_code == 400
    error = response.json()
    assert "node:fs is not available" in error["message"]
    assert error["file"].startswith("npm:graceful-fs@4.2.11/")


def test_an_unsupported_node_import_in_own_code_is_refused(api, fname):
    code = 'import { readFileSync } from "node:fs";\nexport default () => 1;\n'
    response = api.post("/api/v1/functions", json={"name": fname, "code": code})
    assert response.status_code == 400
    assert "node:fs is not available" in response.json()["message"]


def test_node_builtins_that_edge_code_needs_work(api, fname):
    code = (
        'import { Buffer } from "node:buffer";\n'
        'import { EventEmitter } from "node:events";\n'
        'import { createHash, createHmac, timingSafeEqual, randomUUID } from "node:crypto";\n'
        'import { format } from "node:util";\n'
        "export default () => {\n"
        "  const emitter = new EventEmitter();\n"
        "  let seen = 0;\n"
        "  emitter.once('tick', (n: number) => { seen += n; });\n"
        "  emitter.emit('tick', 2); emitter.emit('tick', 5);\n"
        "  return Response.json({\n"
        "    b64: Buffer.from('flux').toString('base64'), seen,\n"
        "    sha256: createHash('sha256').update('abc').digest('hex'),\n"
        "    hmac: createHmac('sha1', 'k').update('m').digest('hex'),\n"
        "    same: timingSafeEqual(Buffer.from('ab'), Buffer.from('ab')),\n"
        "    uuid: /^[0-9a-f-]{36}$/.test(randomUUID()), text: format('%s:%d', 'n', 4),\n"
        "  });\n"
        "};\n"
    )
    _deploy(api, fname, code=code)
    assert api.get(f"/api/v1/functions/{fname}/invoke").json() == {
        "b64": "Zmx1eA==",
        "seen": 2,
        "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "hmac": hmac.new(b"k", b"m", hashlib.sha1).hexdigest(),
        "same": True,
        "uuid": True,
        "text": "n:4",
    }


def test_a_deploy_works_offline_from_the_package_cache(tmp_path, package_cache, fname):
    # The registry is unreachable (nothing listens on port 9): only the cache can answer.
    server = _server_with_cache(
        tmp_path / "data", package_cache, FLUX_EDGE_NPM_REGISTRY="http://127.0.0.1:9"
    )
    try:
        api = server.client(ADMIN_TOKEN)
        code = 'import { z } from "npm:zod@3";\nexport default () => String(z.number().parse(5));\n'
        created = api.post("/api/v1/functions", json={"name": fname, "code": code, "enabled": True})
        assert created.status_code == 201, created.text
        assert api.get(f"/api/v1/functions/{fname}/invoke").text == "5"
        uncached = api.post(
            "/api/v1/functions",
            json={
                "name": fname + "-2",
                "code": 'import "npm:left-pad@1";\nexport default () => 1;',
            },
        )
        assert uncached.status_code == 400
        assert (
            "cannot fetch npm:left-pad's metadata from http://127.0.0.1:9"
            in uncached.json()["message"]
        )
    finally:
        server.stop()


@pytest.fixture
def module_host(tmp_path: Path) -> Iterator[str]:
    """A static HTTP server on loopback serving a small module tree; yields its base URL."""
    root = tmp_path / "www"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "mod.ts").write_text(
        'import { twice } from "./twice.ts";\nexport const answer: number = twice(21);\n'
    )
    (root / "lib" / "twice.ts").write_text("export const twice = (n: number) => n * 2;\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_url_imports_from_an_allowed_host_are_fetched_and_locked(
    tmp_path, package_cache, module_host, fname
):
    server = _server_with_cache(
        tmp_path / "data", package_cache, FLUX_EDGE_IMPORT_HOSTS="127.0.0.1"
    )
    try:
        api = server.client(ADMIN_TOKEN)
        code = (
            f'import {{ answer }} from "{module_host}/lib/mod.ts";\nexport default () => answer;\n'
        )
        created = api.post("/api/v1/functions", json={"name": fname, "code": code, "enabled": True})
        assert created.status_code == 201, created.text
        assert sorted(created.json()["packages"]) == [
            f"{module_host}/lib/mod.ts",
            f"{module_host}/lib/twice.ts",
        ]
        assert api.get(f"/api/v1/functions/{fname}/invoke").json() == 42
    finally:
        server.stop()


def test_a_url_import_can_be_uploaded_with_the_function(api, fname):
    url = "https://example.com/util/mod.ts"
    files = {
        "index.ts": f'import {{ word }} from "{url}";\nexport default () => word;\n',
        url: 'export { word } from "./word.ts";\n',
        "https://example.com/util/word.ts": 'export const word = "vendored";\n',
    }
    _deploy(api, fname, files=files)
    assert api.get(f"/api/v1/functions/{fname}/invoke").text == "vendored"


def test_jose_verifies_an_rs256_jwt_with_a_public_key(api, fname):
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    code = (
        'import { importSPKI, jwtVerify } from "npm:jose@5";\n'
        f"const publicKey = await importSPKI({json.dumps(public_pem)}, 'RS256');\n"
        "export default async (req: Request) => {\n"
        "  try {\n"
        '    const { payload } = await jwtVerify(req.headers.get("x-session") ?? "", publicKey);\n'
        "    return Response.json({ sub: payload.sub });\n"
        "  } catch (error) {\n"
        "    return Response.json({ error: (error as Error).name }, { status: 401 });\n"
        "  }\n"
        "};\n"
    )
    _deploy(api, fname, code=code)
    good = jwt.encode({"sub": "rsa-user", "exp": int(time.time()) + 60}, private_key, "RS256")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"sub": "rsa-user"}, other, "RS256")
    url = f"/api/v1/functions/{fname}/invoke"
    ok = api.post(url, headers={"x-session": good})
    assert (ok.status_code, ok.json()) == (200, {"sub": "rsa-user"}), ok.text
    refused = api.post(url, headers={"x-session": forged})
    assert refused.status_code == 401
    assert refused.json() == {"error": "JWSSignatureVerificationFailed"}
