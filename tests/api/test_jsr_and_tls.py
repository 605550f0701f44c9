"""jsr: and https:// imports through a real server, fetched over real TLS on loopback: a test CA
(trustme) signs the registry's certificate, and the server trusts it through FLUX_EDGE_CA_FILE."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.conftest import ADMIN_TOKEN, ServerProcess, launch_server
from tests.jsr_registry import JsrFixture


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _tls(ca: trustme.CA, host: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    return context


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Iterator[JsrFixture]:
    """A JSR registry (and static module host) served over HTTPS for 127.0.0.1."""
    fixture = JsrFixture(tmp_path_factory.mktemp("jsr-tls"), tls=_tls(ca, "127.0.0.1"))
    fixture.publish(
        "@flux/cors",
        "0.4.2",
        {
            "mod.ts": (
                'import { merge } from "./merge.ts";\n'
                "export const corsHeaders = (extra: Record<string, string> = {}) =>\n"
                '  merge({ "access-control-allow-origin": "*" }, extra);\n'
            ),
            "merge.ts": "export const merge = <T>(a: T, b: Partial<T>): T => ({ ...a, ...b });\n",
        },
    )
    lib = fixture.root / "lib"
    lib.mkdir()
    (lib / "answer.ts").write_text("export const answer: number = 42;\n")
    try:
        yield fixture
    finally:
        fixture.close()


def _server(data_dir: Path, registry: JsrFixture, **env: str) -> ServerProcess:
    return launch_server(
        data_dir,
        extra_env={
            "FLUX_EDGE_RATE_LIMITS": "off",
            "FLUX_EDGE_IMPORT_HOSTS": "127.0.0.1",
            "FLUX_EDGE_JSR_URL": registry.url,
            **env,
        },
    )


@pytest.fixture(scope="module")
def trusting(
    tmp_path_factory: pytest.TempPathFactory, registry: JsrFixture, ca: trustme.CA
) -> Iterator[ServerProcess]:
    """A server that trusts the test CA (FLUX_EDGE_CA_FILE)."""
    folder = tmp_path_factory.mktemp("trusting")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server = _server(folder / "data", registry, FLUX_EDGE_CA_FILE=str(folder / "ca.pem"))
    try:
        yield server
    finally:
        server.stop()


def test_a_jsr_package_is_fetched_over_tls_locked_and_run(trusting, registry, fname):
    api = trusting.client(ADMIN_TOKEN)
    code = (
        'import { corsHeaders } from "jsr:@flux/cors@^0.4";\n'
        "export default () => new Response('ok', { headers: corsHeaders({ 'x-by': 'jsr' }) });\n"
    )
    created = api.post("/api/v1/functions", json={"name": fname, "code": code, "enabled": True})
    assert created.status_code == 201, created.text
    [(key, integrity)] = created.json()["packages"].items()
    assert key == "jsr:@flux/cors@0.4.2"
    assert integrity.startswith("sha256-")
    got = api.get(f"/api/v1/functions/{fname}/invoke")
    assert (got.status_code, got.text) == (200, "ok")
    assert (got.headers["access-control-allow-origin"], got.headers["x-by"]) == ("*", "jsr")


def test_an_https_import_is_fetched_over_tls(trusting, registry, fname):
    api = trusting.client(ADMIN_TOKEN)
    url = f"{registry.url}/lib/answer.ts"
    code = f'import {{ answer }} from "{url}";\nexport default () => Response.json(answer);\n'
    created = api.post("/api/v1/functions", json={"name": fname, "code": code, "enabled": True})
    assert created.status_code == 201, created.text
    assert list(created.json()["packages"]) == [url]
    assert api.get(f"/api/v1/functions/{fname}/invoke").json() == 42


def test_a_certificate_for_another_host_is_refused(tmp_path, trusting, ca, fname):
    impostor = JsrFixture(tmp_path / "www", tls=_tls(ca, "registry.example"))
    (tmp_path / "www" / "x.ts").write_text("export const x = 1;\n")
    try:
        api = trusting.client(ADMIN_TOKEN)
        code = f'import {{ x }} from "{impostor.url}/x.ts";\nexport default () => x;\n'
        response = api.post("/api/v1/functions", json={"name": fname, "code": code})
    finally:
        impostor.close()
    assert response.status_code == 400
    error = response.json()
    assert error["message"].startswith(f"cannot fetch {impostor.url}/x.ts: its TLS certificate")
    assert error["message"] == (
        f"cannot fetch {impostor.url}/x.ts: its TLS certificate is not valid for the host "
        "(IP address mismatch, certificate is not valid for '127.0.0.1') (index.ts, line 1, "
        "column 19)"
    )
    assert (error["file"], error["line"], error["column"]) == ("index.ts", 1, 19)


def test_a_server_without_the_ca_refuses_the_registry_certificate(tmp_path, registry, fname):
    server = _server(tmp_path / "data", registry)
    try:
        api = server.client(ADMIN_TOKEN)
        code = 'import "jsr:@flux/cors@0.4.2";\nexport default () => 1;\n'
        response = api.post("/api/v1/functions", json={"name": fname, "code": code})
        assert response.status_code == 400
        error = response.json()
        assert error["file"] == "index.ts"
        assert (error["line"], error["column"]) == (1, 8)
        assert (
            "its TLS certificate is not trusted (unable to get local issuer certificate)"
            in (error["message"])
        )
        assert "FLUX_EDGE_CA_FILE" in error["message"]
    finally:
        server.stop()


def test_an_unreadable_ca_file_is_a_clear_deploy_error(tmp_path, registry, fname):
    server = _server(tmp_path / "data", registry, FLUX_EDGE_CA_FILE=str(tmp_path / "missing.pem"))
    try:
        api = server.client(ADMIN_TOKEN)
        code = f'import "{registry.url}/lib/answer.ts";\nexport default () => 1;\n'
        response = api.post("/api/v1/functions", json={"name": fname, "code": code})
        assert response.status_code == 400
        assert "FLUX_EDGE_CA_FILE" in response.json()["message"]
        assert "cannot be used" in response.json()["message"]
    finally:
        server.stop()


def test_ssl_cert_file_replaces_the_public_bundle(tmp_path, registry, ca, fname):
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    server = _server(tmp_path / "data", registry, SSL_CERT_FILE=str(tmp_path / "ca.pem"))
    try:
        api = server.client(ADMIN_TOKEN)
        code = f'import {{ answer }} from "{registry.url}/lib/answer.ts";\nexport default () => answer;\n'
        created = api.post("/api/v1/functions", json={"name": fname, "code": code, "enabled": True})
        assert created.status_code == 201, created.text
        assert api.get(f"/api/v1/functions/{fname}/invoke").json() == 42
    finally:
        server.stop()
