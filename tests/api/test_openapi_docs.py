"""The docs page at /schema works offline, and the OpenAPI document says how to authenticate."""

from __future__ import annotations

import re

PAGE_LINKS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_the_docs_page_loads_every_asset_from_the_server_itself(anonymous):
    for path in ("/schema", "/schema/swagger"):
        page = anonymous.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        links = PAGE_LINKS.findall(page.text)
        assert len(links) == 4  # favicon, stylesheet, the bundle, the standalone preset
        assert [link for link in links if not link.startswith("/schema/assets/")] == []
        assert "SwaggerUIBundle(" in page.text
    kinds = {
        "/schema/assets/swagger-ui-bundle.js": "javascript",
        "/schema/assets/swagger-ui-standalone-preset.js": "javascript",
        "/schema/assets/swagger-ui.css": "text/css",
        "/schema/assets/favicon-32x32.png": "image/png",
    }
    for path, kind in kinds.items():
        asset = anonymous.get(path)
        assert asset.status_code == 200, path
        assert kind in asset.headers["content-type"]
        assert len(asset.content) > 500
    # Swagger UI 5 is the first that renders OpenAPI 3.1 documents, which Litestar writes.
    assert anonymous.get("/schema/openapi.json").json()["openapi"].startswith("3.1")
    assert b'"5.' in anonymous.get("/schema/assets/swagger-ui-bundle.js").content[-400_000:]


def test_the_document_declares_the_bearer_scheme_where_it_applies(anonymous):
    document = anonymous.get("/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    paths = document["paths"]
    assert paths["/api/v1/functions"]["post"]["security"] == [{"bearer": []}]
    assert paths["/api/v1/functions/{name}"]["delete"]["security"] == [{"bearer": []}]
    # Invocation takes a credential when the function asks for one: anonymous is allowed too.
    assert paths["/api/v1/functions/{name}/invoke"]["post"]["security"] == [{}, {"bearer": []}]
    assert "security" not in paths["/health"]["get"]


def test_invoke_answers_are_described_as_they_are(anonymous):
    paths = anonymous.get("/schema/openapi.json").json()["paths"]
    for path in ("/api/v1/functions/{name}/invoke", "/functions/v1/{name}"):
        responses = paths[path]["post"]["responses"]
        assert "201" not in responses
        assert "function's own response" in responses["200"]["description"]
    assert set(paths["/api/v1/functions/{name}/invoke"]["post"]["responses"]) >= {
        "200", "401", "404", "408", "413", "429", "500", "503"
    }  # fmt: skip


def test_operation_ids_read_like_what_they_do(anonymous):
    paths = anonymous.get("/schema/openapi.json").json()["paths"]
    ids = {
        (method, path): operation["operationId"]
        for path, item in paths.items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert ids[("post", "/api/v1/functions")] == "createFunction"
    assert ids[("get", "/api/v1/functions")] == "listFunctions"
    assert ids[("get", "/api/v1/functions/{name}")] == "getFunction"
    assert ids[("post", "/api/v1/functions/{name}/rollback")] == "rollbackFunction"
    assert ids[("post", "/api/v1/functions/{name}/invoke")] == "invokeFunctionPost"
    assert ids[("get", "/api/v1/functions/{name}/invoke/{path}")] == "invokeFunctionGetSubPath"
    assert ids[("get", "/metrics")] == "getMetrics"
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z][A-Za-z]*", value) for value in ids.values())
