"""The real Supabase clients from npm, run by Node, invoke functions on a running server.

`tests/clients/supabase_invoke.mjs` calls `functions.invoke()` of `@supabase/functions-js` and of
`@supabase/supabase-js` exactly as an application does (project URL and anon key; no custom fetch,
no URL rewriting) and prints what the client returned. `.ci/run` installs Node and the pinned
packages (`npm ci` in tests/clients); a missing install is a failure, never a skip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
CLIENTS = ["functions-js", "supabase-js"]

# A Supabase-style function: Deno.serve, a router on the path after the function's name.
ROUTER = """
const json = (value: unknown, status = 200): Response =>
  new Response(JSON.stringify(value), { status, headers: { "Content-Type": "application/json" } });

Deno.serve(async (req: Request): Promise<Response> => {
  const url = new URL(req.url);
  const route = url.pathname.split("/").slice(2).join("/");
  switch (route) {
    case "":
      return json({ received: await req.json(), contentType: req.headers.get("content-type") });
    case "text":
      return new Response(`got ${await req.text()}`, { headers: { "Content-Type": "text/plain" } });
    case "bytes": {
      const bytes = new Uint8Array(await req.arrayBuffer()).reverse();
      return new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } });
    }
    case "upload": {
      const form = await req.formData();
      const file = form.get("file") as File;
      const bytes = new Uint8Array(await file.arrayBuffer());
      return json({ title: form.get("title"), file: file.name, type: file.type, size: bytes.length,
                    first: bytes[0], last: bytes[bytes.length - 1] });
    }
    case "teapot":
      return json({ error: "short and stout" }, 418);
    case "crash":
      throw new Error("boom");
    case "whoami":
      return json({
        method: req.method,
        url: req.url,
        authorization: req.headers.get("authorization"),
        apikey: req.headers.get("apikey"),
        region: req.headers.get("x-region"),
      });
  }
  return json({ error: `no route ${route}` }, 404);
});
"""


def run_clients(plan: dict[str, object]) -> list[dict[str, object]]:
    """Run the Node script with `plan`; fails (never skips) when Node or the packages are missing."""
    node = shutil.which("node")
    assert node, "Node.js is not installed: .ci/run installs it (Debian's nodejs and npm)"
    assert (CLIENTS_DIR / "node_modules" / "@supabase" / "supabase-js").is_dir(), (
        "the npm clients are not installed: run `npm ci` in tests/clients (.ci/run does)"
    )
    completed = subprocess.run(
        [node, "supabase_invoke.mjs"],
        input=json.dumps(plan),
        cwd=CLIENTS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: list[dict[str, object]] = json.loads(completed.stdout)
    return results


@pytest.fixture(scope="module")
def functions(admin):
    """A public router function and a private one (allow_unauthenticated: false)."""
    names = {"public": f"sb-{uuid.uuid4().hex[:8]}", "private": f"sb-{uuid.uuid4().hex[:8]}"}
    for kind, name in names.items():
        created = admin.post(
            "/api/v1/functions",
            json={
                "name": name,
                "code": ROUTER,
                "enabled": True,
                "allow_unauthenticated": kind == "public",
            },
        )
        assert created.status_code == 201, created.text
    return names


@pytest.mark.parametrize("client", CLIENTS)
def test_json_text_and_binary_bodies_round_trip(server, functions, client):
    payload = os.urandom(64 * 1024)
    encoded = base64.b64encode(payload).decode()
    name = functions["public"]
    results = run_clients(
        {
            "url": server.url,
            "key": "any-anon-key",
            "client": client,
            "calls": [
                {"name": name, "body": {"kind": "json", "value": {"user": "Ada", "n": [1, 2]}}},
                {"name": f"{name}/text", "body": {"kind": "text", "value": "héllo"}},
                {"name": f"{name}/bytes", "body": {"kind": "bytes", "value": encoded}},
                {"name": f"{name}/bytes", "body": {"kind": "blob", "value": encoded}},
            ],
        }
    )
    as_json, as_text, from_buffer, from_blob = results
    assert as_json["status"] == 200
    assert as_json["data"] == {
        "kind": "json",
        "value": {"received": {"user": "Ada", "n": [1, 2]}, "contentType": "application/json"},
    }
    assert as_json["executionId"]
    assert as_text["data"] == {"kind": "text", "value": "got héllo"}
    reversed_digest = hashlib.sha256(payload[::-1]).hexdigest()
    for result in (from_buffer, from_blob):
        data = result["data"]
        assert data["kind"] == "blob"
        assert hashlib.sha256(base64.b64decode(data["base64"])).hexdigest() == reversed_digest


@pytest.mark.parametrize("client", CLIENTS)
def test_error_classes(server, functions, client):
    name = functions["public"]
    teapot, crash, unrouted, missing = run_clients(
        {
            "url": server.url,
            "key": "any-anon-key",
            "client": client,
            "calls": [
                {"name": f"{name}/teapot", "method": "GET"},
                {"name": f"{name}/crash", "method": "GET"},
                {"name": f"{name}/elsewhere", "method": "GET"},
                {"name": f"missing-{uuid.uuid4().hex[:8]}"},
            ],
        }
    )
    # The function's own 4xx/5xx: FunctionsHttpError, its body readable from error.context.
    assert teapot["error"]["class"] == "FunctionsHttpError"
    assert teapot["error"]["status"] == 418
    assert json.loads(teapot["error"]["body"]) == {"error": "short and stout"}
    assert crash["error"]["class"] == "FunctionsHttpError"
    assert crash["error"]["status"] == 500
    assert "boom" in crash["error"]["body"]
    # A 404 the function answers itself is the function's, not the gateway's.
    assert unrouted["error"]["class"] == "FunctionsHttpError"
    assert unrouted["error"]["status"] == 404
    # No such function: the gateway answers, and the client raises FunctionsRelayError.
    assert missing["error"]["class"] == "FunctionsRelayError"
    assert missing["error"]["status"] == 404
    assert json.loads(missing["error"]["body"])["code"] == "NOT_FOUND"


@pytest.mark.parametrize("client", CLIENTS)
def test_sub_paths_methods_and_headers_reach_the_function(server, functions, client):
    name = functions["public"]
    (seen,) = run_clients(
        {
            "url": server.url,
            "key": "any-anon-key",
            "client": client,
            "calls": [{"name": f"{name}/whoami?page=2&sort=desc", "method": "DELETE"}],
        }
    )
    assert seen["status"] == 200
    value = seen["data"]["value"]
    assert value["method"] == "DELETE"
    assert value["url"] == f"{server.url}/{name}/whoami?page=2&sort=desc"
    # A public function gets the caller's bearer untouched: it is the function's to use.
    assert value["authorization"] == "Bearer any-anon-key"
    if client == "functions-js":
        assert value["apikey"] == "any-anon-key"


@pytest.mark.parametrize("client", CLIENTS)
def test_a_private_function_needs_a_valid_jwt(server, functions, client, make_jwt):
    name = functions["private"]
    user_jwt = make_jwt({"sub": "user-1", "role": "authenticated", "exp": int(time.time()) + 600})
    # Supabase's anon key is itself a JWT signed with the project's secret; so is ours.
    anon_jwt = make_jwt({"role": "anon"})
    calls = [{"name": f"{name}/whoami", "method": "GET"}]
    (unsigned,) = run_clients(
        {"url": server.url, "key": "not-a-known-key", "client": client, "calls": calls}
    )
    assert unsigned["error"]["class"] == "FunctionsRelayError"
    assert unsigned["error"]["status"] == 401

    (as_user,) = run_clients(
        {
            "url": server.url,
            "key": "not-a-known-key",
            "jwt": user_jwt,
            "client": client,
            "calls": calls,
        }
    )
    assert as_user["status"] == 200
    assert as_user["data"]["value"]["authorization"] == f"Bearer {user_jwt}"

    (as_anon,) = run_clients({"url": server.url, "key": anon_jwt, "client": client, "calls": calls})
    assert as_anon["status"] == 200


@pytest.mark.parametrize("client", CLIENTS)
def test_a_multipart_upload_reaches_form_data(server, functions, client):
    payload = os.urandom(20_000)
    file = {"name": "photo.png", "type": "image/png", "base64": base64.b64encode(payload).decode()}
    (uploaded,) = run_clients(
        {
            "url": server.url,
            "key": "any-anon-key",
            "client": client,
            "calls": [
                {
                    "name": f"{functions['public']}/upload",
                    "body": {"kind": "form", "value": {"title": "Holiday", "file": file}},
                }
            ],
        }
    )
    assert uploaded["data"]["value"] == {
        "title": "Holiday",
        "file": "photo.png",
        "type": "image/png",
        "size": len(payload),
        "first": payload[0],
        "last": payload[-1],
    }


@pytest.mark.parametrize("client", CLIENTS)
def test_a_region_is_accepted_and_ignored(server, functions, client):
    name = functions["public"]
    (seen,) = run_clients(
        {
            "url": server.url,
            "key": "any-anon-key",
            "client": client,
            "calls": [{"name": f"{name}/whoami", "method": "GET", "region": "eu-west-1"}],
        }
    )
    assert seen["status"] == 200
    assert seen["data"]["value"]["region"] == "eu-west-1"
    assert (
        seen["data"]["value"]["url"] == f"{server.url}/{name}/whoami?forceFunctionRegion=eu-west-1"
    )
