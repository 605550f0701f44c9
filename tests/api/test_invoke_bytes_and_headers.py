"""Bytes and headers end to end, against a real server: what the client sends is what the function
reads, and what the function answers is what the client gets."""

from __future__ import annotations

import hashlib
import os
import time

import httpx
import pytest

SERVER_ENV = {"FLUX_EDGE_MAX_BODY_BYTES": str(6 * 1024 * 1024)}

ECHO_BYTES = {
    "arrayBuffer": "new Uint8Array(await req.arrayBuffer())",
    "bytes": "await req.bytes()",
    "blob": "new Uint8Array(await (await req.blob()).arrayBuffer())",
}

DIGEST = """
export default {
  async fetch(req) {
    const bytes = %s;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
    return new Response(bytes, { headers: { "x-sha256": hex, "x-length": String(bytes.length),
      "content-type": "application/octet-stream" } });
  },
};
"""


def deploy(admin: httpx.Client, name: str, code: str, **fields: object) -> None:
    response = admin.post(
        "/api/v1/functions", json={"name": name, "code": code, "enabled": True, **fields}
    )
    assert response.status_code == 201, response.text


def executions(admin: httpx.Client, name: str) -> list[dict]:
    deadline = time.monotonic() + 5
    while True:
        rows = admin.get(f"/api/v1/functions/{name}/executions").json()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


# ---- bytes in ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", sorted(ECHO_BYTES))
def test_a_5_mib_random_upload_round_trips_byte_exact(admin, anonymous, fname, reader):
    deploy(admin, fname, DIGEST % ECHO_BYTES[reader], memory_limit_mb=256)
    payload = os.urandom(5 * 1024 * 1024)
    response = anonymous.post(
        f"/api/v1/functions/{fname}/invoke",
        content=payload,
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text[:500]
    expected = hashlib.sha256(payload).hexdigest()
    assert response.headers["x-sha256"] == expected  # what the function read
    assert response.headers["x-length"] == str(len(payload))
    assert hashlib.sha256(response.content).hexdigest() == expected  # what came back


def test_bytes_that_are_not_utf8_reach_a_request_intact(admin, anonymous, fname):
    deploy(admin, fname, DIGEST % ECHO_BYTES["bytes"])
    payload = bytes(range(256)) + b"\xef\xbb\xbf\xff\xfe\x00"
    response = anonymous.put(f"/api/v1/functions/{fname}/invoke/x", content=payload)
    assert response.content == payload


def test_the_reference_handler_still_gets_the_body_as_a_string(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "function handler(req) { return { status: 200, body: JSON.stringify([req.body]) }; }",
    )
    text = anonymous.post(f"/api/v1/functions/{fname}/invoke", content="héllo ✓".encode())
    assert text.json() == ["héllo ✓"]
    binary = anonymous.post(f"/api/v1/functions/{fname}/invoke", content=b"a\xffb")
    assert binary.json() == ["a\ufffdb"]  # as before: invalid UTF-8 becomes U+FFFD


# ---- bytes out -----------------------------------------------------------------------------------

RESPONSE_BODIES = {
    "ArrayBuffer": "new Uint8Array([0, 255, 128, 10, 13]).buffer",
    "Uint8Array": "new Uint8Array([0, 255, 128, 10, 13])",
    "DataView": "new DataView(new Uint8Array([9, 0, 255, 128, 10, 13]).buffer, 1)",
    "Int16Array": "new Uint8Array(new Int16Array([0xff00 - 0x10000, 0x0a80, 0x000d]).buffer)"
    ".subarray(0, 5)",
    "Blob": "new Blob([new Uint8Array([0, 255]), new Uint8Array([128, 10, 13])])",
}


@pytest.mark.parametrize("kind", sorted(RESPONSE_BODIES))
@pytest.mark.parametrize("form", ["response", "reference-object"])
def test_a_binary_response_body_is_byte_exact(admin, anonymous, fname, kind, form):
    body = RESPONSE_BODIES[kind]
    if form == "response":
        code = f"export default () => new Response({body});"
    else:
        code = f"function handler() {{ return {{ status: 200, body: {body} }}; }}"
    deploy(admin, fname, code)
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.status_code == 200, response.text
    assert response.content == b"\x00\xff\x80\n\r"


def test_a_binary_result_is_described_in_the_execution_record(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default () => new Response(new Uint8Array([0xff, 0xfe, 0, 1]),"
        " { headers: { 'content-type': 'image/png' } });",
    )
    assert anonymous.get(f"/api/v1/functions/{fname}/invoke").content == b"\xff\xfe\x00\x01"
    [row] = executions(admin, fname)
    assert row["result"] == "[binary body: 4 bytes, image/png]"


def test_a_text_result_is_kept_as_text_in_the_execution_record(admin, anonymous, fname):
    deploy(admin, fname, "export default () => new Response('naïve ✓');")
    anonymous.get(f"/api/v1/functions/{fname}/invoke")
    [row] = executions(admin, fname)
    assert row["result"] == "naïve ✓"


# ---- headers -------------------------------------------------------------------------------------


def test_several_set_cookie_headers_stay_separate_on_the_wire(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default () => {\n"
        "  const headers = new Headers();\n"
        "  headers.append('Set-Cookie', 'a=1; Path=/; HttpOnly');\n"
        "  headers.append('Set-Cookie', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT');\n"
        "  return new Response(String(headers.getSetCookie().length), { headers });\n"
        "};",
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.text == "2"
    cookies = [value for name, value in response.headers.multi_items() if name == "set-cookie"]
    assert cookies == ["a=1; Path=/; HttpOnly", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]


def test_the_reference_form_may_send_several_set_cookie_as_pairs(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "function handler() { return { status: 200, body: 'ok', headers: "
        "[['set-cookie', 'a=1'], ['set-cookie', 'b=2']] }; }",
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


@pytest.mark.parametrize(
    "content_type", ["text/event-stream", "text/html", "text/csv; header=present", "text/plain"]
)
def test_a_content_type_set_by_the_function_is_sent_as_written(
    admin, anonymous, fname, content_type
):
    deploy(
        admin,
        fname,
        f"export default () => new Response('data: 1\\n\\n', "
        f"{{ headers: {{ 'content-type': '{content_type}' }} }});",
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.headers.get_list("content-type") == [content_type]


def test_a_content_type_of_the_reference_form_is_sent_as_written(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "function handler() { return { status: 200, headers: { 'Content-Type': 'text/html' },"
        " body: '<p>hi</p>' }; }",
    )
    response = anonymous.get(f"/api/v1/functions/{fname}/invoke")
    assert response.headers.get_list("content-type") == ["text/html"]


def test_repeated_request_headers_keep_their_order(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "export default (req) => Response.json({ multi: req.headers.get('x-multi'),"
        " all: [...req.headers].filter(([n]) => n.startsWith('x-')) });",
    )
    response = anonymous.get(
        f"/api/v1/functions/{fname}/invoke",
        headers=[("X-Multi", "first"), ("X-Other", "o"), ("X-Multi", "second"), ("X-Multi", "3")],
    )
    assert response.json() == {
        "multi": "first, second, 3",
        "all": [["x-multi", "first, second, 3"], ["x-other", "o"]],
    }


def test_the_reference_handler_gets_repeated_headers_combined_in_order(admin, anonymous, fname):
    deploy(
        admin,
        fname,
        "function handler(req) { return { status: 200, body: JSON.stringify(req.headers) }; }",
    )
    response = anonymous.get(
        f"/api/v1/functions/{fname}/invoke", headers=[("X-Multi", "a"), ("X-Multi", "b")]
    )
    assert response.json()["x-multi"] == "a, b"
