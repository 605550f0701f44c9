"""Every entry form, in JavaScript and TypeScript, invoked over HTTP against a real server.

Each function reports what it was given: the reference's bare `handler(req)` gets the plain
FunctionRequest object (headers as an object, body as a string); every module and serve form gets a
web `Request`. docs/code-forms.md ("Entry forms") links each row of its table to a test here.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import written_executions

# What a web-form function answers: what it received, as JSON.
_WEB_REPORT = (
    "{ isRequest: req instanceof Request, method: req.method, url: req.url, "
    "header: req.headers.get('x-probe'), body: await req.text() }"
)
# What a plain-form function answers.
_PLAIN_REPORT = (
    "{ isRequest: req instanceof Request, method: req.method, headersType: typeof req.headers, "
    "header: req.headers['x-probe'], body: req.body }"
)

PLAIN_FORMS = {
    "handler-sync-object": (
        "function handler(req) {\n"
        "  const report = " + _PLAIN_REPORT.replace("await ", "") + ";\n"
        "  return { status: 201, headers: { 'x-form': 'plain' }, body: JSON.stringify(report) };\n"
        "}\n"
    ),
    "handler-async-object": (
        "async function handler(req) {\n"
        "  await null;\n"
        "  const report = " + _PLAIN_REPORT + ";\n"
        "  return { status: 201, headers: { 'x-form': 'plain' }, body: JSON.stringify(report) };\n"
        "}\n"
    ),
    "handler-sync-response": (
        "function handler(req) {\n"
        "  const report = " + _PLAIN_REPORT + ";\n"
        "  return Response.json(report, { status: 201, headers: { 'x-form': 'plain' } });\n"
        "}\n"
    ),
    "handler-async-response": (
        "async function handler(req) {\n"
        "  await new Promise((resolve) => setTimeout(resolve, 1));\n"
        "  const report = " + _PLAIN_REPORT + ";\n"
        "  return new Response(JSON.stringify(report), {\n"
        "    status: 201, headers: { 'x-form': 'plain', 'content-type': 'application/json' } });\n"
        "}\n"
    ),
}

WEB_FORMS = {
    "export-default-function": (
        "export default async function (req) {\n"
        "  return Response.json("
        + _WEB_REPORT
        + ", { status: 201, headers: { 'x-form': 'web' } });\n"
        "}\n"
    ),
    "export-default-named-function": (
        "export default async function handler(req) {\n"
        "  return Response.json("
        + _WEB_REPORT
        + ", { status: 201, headers: { 'x-form': 'web' } });\n"
        "}\n"
    ),
    "export-async-function-handler": (
        "export async function handler(req) {\n"
        "  return Response.json("
        + _WEB_REPORT
        + ", { status: 201, headers: { 'x-form': 'web' } });\n"
        "}\n"
    ),
    "export-default-fetch-object": (
        "export default {\n"
        "  async fetch(req, env, ctx) {\n"
        "    const report = " + _WEB_REPORT + ";\n"
        "    report.env = env.GREETING;\n"
        "    report.ctx = typeof ctx;\n"
        "    return Response.json(report, { status: 201, headers: { 'x-form': 'web' } });\n"
        "  },\n"
        "};\n"
    ),
    "deno-serve-handler": (
        "Deno.serve(async (req) => Response.json(" + _WEB_REPORT + ",\n"
        "  { status: 201, headers: { 'x-form': 'web' } }));\n"
    ),
    "deno-serve-options-handler": (
        "Deno.serve({ port: 8000 }, async (req) => Response.json(" + _WEB_REPORT + ",\n"
        "  { status: 201, headers: { 'x-form': 'web' } }));\n"
    ),
    "deno-serve-handler-option": (
        "Deno.serve({ handler: async (req) => Response.json(" + _WEB_REPORT + ",\n"
        "  { status: 201, headers: { 'x-form': 'web' } }) });\n"
    ),
    "service-worker-fetch-event": (
        "addEventListener('fetch', (event) => {\n"
        "  const req = event.request;\n"
        "  event.respondWith((async () => Response.json(" + _WEB_REPORT + ",\n"
        "    { status: 201, headers: { 'x-form': 'web' } }))());\n"
        "});\n"
    ),
}

# TypeScript variants: the same functions with annotations, an interface and a type alias.
_TS_PRELUDE = "interface Report { isRequest: boolean }\ntype Form = 'plain' | 'web';\n"


def _typescript(code: str) -> str:
    typed = (
        code.replace("(req)", "(req: Request)")
        .replace("(req, env, ctx)", "(req: Request, env: Record<string, string>, ctx: unknown)")
        .replace("(event)", "(event: FetchEvent)")
        .replace("const report =", "const report: Report & Record<string, unknown> =")
    )
    return _TS_PRELUDE + typed


def _plain_typescript(code: str) -> str:
    return _TS_PRELUDE + code.replace("(req)", "(req: { method: string; body: string })").replace(
        "const report =", "const report: Report & Record<string, unknown> ="
    )


CASES = [
    *(pytest.param(code, "plain", id=f"js-{name}") for name, code in PLAIN_FORMS.items()),
    *(
        pytest.param(_plain_typescript(code), "plain", id=f"ts-{name}")
        for name, code in PLAIN_FORMS.items()
    ),
    *(pytest.param(code, "web", id=f"js-{name}") for name, code in WEB_FORMS.items()),
    *(pytest.param(_typescript(code), "web", id=f"ts-{name}") for name, code in WEB_FORMS.items()),
]


def deploy(admin: httpx.Client, name: str, code: str, **fields: object) -> None:
    """Create an enabled function; fails the test with the server's answer otherwise."""
    response = admin.post(
        "/api/v1/functions", json={"name": name, "code": code, "enabled": True, **fields}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("code", "kind"), CASES)
def test_every_entry_form_is_invoked_with_what_its_form_receives(
    admin, anonymous, fname, code, kind
):
    deploy(admin, fname, code, env={"GREETING": "hello"})
    response = anonymous.post(
        f"/api/v1/functions/{fname}/invoke?q=1", content=b"ping", headers={"X-Probe": "probe"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-form"] == kind
    report = response.json()
    assert report["method"] == "POST"
    assert report["header"] == "probe"
    assert report["body"] == "ping"
    if kind == "plain":
        assert report["isRequest"] is False
        assert report["headersType"] == "object"
    else:
        assert report["isRequest"] is True
        assert report["url"] == f"{anonymous.base_url}".rstrip("/") + f"/{fname}?q=1"
    if "env" in report:
        assert report["env"] == "hello"
        assert report["ctx"] == "object"


def test_a_fetch_listener_that_never_responds_is_a_500_saying_so(admin, anonymous, fname):
    deploy(admin, fname, "addEventListener('fetch', () => {});")
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.status_code == 500
    assert "respondWith" in response.json()["message"]


def test_a_fetch_listener_that_throws_reports_its_error(admin, anonymous, fname):
    deploy(admin, fname, "addEventListener('fetch', () => { throw new RangeError('nope'); });")
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.status_code == 500
    assert response.json()["message"] == "RangeError: nope"


# ---- what the serve and module forms get besides the request -------------------------------------


def executions(admin: httpx.Client, name: str) -> list[dict]:
    """The function's execution records, once one is written."""
    return written_executions(admin, name, 1)


def test_deno_serve_gets_info_with_the_remote_address(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "Deno.serve((req: Request, info: Deno.ServeHandlerInfo) => Response.json(info.remoteAddr));",
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    address = response.json()
    assert address["transport"] == "tcp"
    assert address["hostname"] == "127.0.0.1"
    assert isinstance(address["port"], int)
    assert address["port"] > 0


def test_info_completed_settles_after_the_response_and_logs_into_the_record(
    admin, anonymous, fname
):
    deploy(
        admin,
        fname,
        "Deno.serve((req, info) => {\n"
        "  info.completed.then(() => console.log('completed'));\n"
        "  return new Response('sent');\n"
        "});",
    )
    assert anonymous.get(f"/api/v1/functions/{fname}/invoke").text == "sent"
    [row] = executions(admin, fname)
    assert row["status"] == "success"
    assert row["logs"] == "console.log: completed"


def test_the_fetch_object_gets_the_functions_variables_as_env(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default { fetch: (req, env) => Response.json(env) };",
        env={"API_URL": "https://api.example", "MODE": "test"},
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.json() == {"API_URL": "https://api.example", "MODE": "test"}


def test_the_fetch_object_gets_no_variables_without_allow_env(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default { fetch: (req, env) => Response.json(env) };",
        env={"SECRET": "x"},
        allow_env=False,
    )
    assert anonymous.get(f"/api/v1/functions/{fname}/invoke").json() == {}


WAIT_UNTIL_FORMS = {
    "ctx.waitUntil": (
        "export default { fetch(req, env, ctx) { ctx.waitUntil(WORK); return new Response('sent'); } };"
    ),
    "EdgeRuntime.waitUntil": (
        "Deno.serve(() => { EdgeRuntime.waitUntil(WORK); return new Response('sent'); });"
    ),
    "event.waitUntil": (
        "addEventListener('fetch', (event) => { event.waitUntil(WORK);"
        " event.respondWith(new Response('sent')); });"
    ),
}
SLOW_WORK = "new Promise((resolve) => setTimeout(() => { console.log('after'); resolve(); }, 2000))"


@pytest.mark.parametrize("form", sorted(WAIT_UNTIL_FORMS))
def test_work_passed_to_wait_until_goes_on_after_the_response_into_the_same_record(
    admin, anonymous, fname, form
):
    code = WAIT_UNTIL_FORMS[form].replace("WORK", SLOW_WORK)
    deploy(admin, fname, code, timeout_seconds=10)
    started = time.monotonic()
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    answered = time.monotonic() - started
    assert response.text == "sent"
    assert answered < 1.8  # the response did not wait for the work
    [row] = executions(admin, fname)
    assert row["id"] == response.headers["x-flux-execution-id"]
    assert row["status"] == "success"
    assert row["status_code"] == 200
    assert row["logs"] == "console.log: after"
    assert row["duration_ms"] >= 1900  # the record covers the work after the response


def test_a_failure_in_wait_until_work_lands_in_the_calls_record(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default { fetch(req, env, ctx) {\n"
        "  ctx.waitUntil((async () => {\n"
        "    await new Promise((r) => setTimeout(r, 50));\n"
        "    console.warn('about to fail');\n"
        "    throw new TypeError('background broke');\n"
        "  })());\n"
        "  return new Response('sent');\n"
        "} };",
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert (response.status_code, response.text) == (200, "sent")
    [row] = executions(admin, fname)
    assert row["status"] == "error"
    assert row["status_code"] == 200  # what the client got
    assert row["logs"] == "console.warn: about to fail"
    assert row["error_message"].startswith("waitUntil: TypeError: background broke")


def test_wait_until_work_is_cut_off_at_the_functions_timeout(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default { fetch(req, env, ctx) {\n"
        "  ctx.waitUntil(new Promise(() => { console.log('started'); }));\n"
        "  return new Response('sent');\n"
        "} };",
        timeout_seconds=1,
    )
    assert anonymous.get(f"/api/v1/functions/{fname}/invoke").text == "sent"
    [row] = executions(admin, fname)
    assert row["status"] == "timeout"
    assert row["status_code"] == 200
    assert row["logs"] == "console.log: started"
    assert "after the response" in row["error_message"]
    # The function still answers afterwards.
    assert anonymous.get(f"/api/v1/functions/{fname}/invoke").text == "sent"
