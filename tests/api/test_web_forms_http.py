"""Forms, files and URLPattern through the real server: a multipart upload sent by httpx reaches
`request.formData()` byte for byte, a FormData response is multipart that Python parses, a
URLPattern router routes, and FileReader reads with the runtime's own timers."""

from __future__ import annotations

import email.parser
import email.policy
import os

import httpx

UPLOAD = """
export default async (request: Request) => {
  const form = await request.formData();
  const out: Record<string, unknown> = {};
  for (const [name, value] of form) {
    out[name] = typeof value === "string"
      ? value
      : { name: value.name, type: value.type, size: value.size,
          hex: Array.from(await value.bytes(), (b) => b.toString(16).padStart(2, "0")).join("") };
  }
  return Response.json(out);
};
"""

FORM_RESPONSE = """
export default () => {
  const form = new FormData();
  form.append("greeting", "hello");
  form.append("report", new File(["a,b\\n1,2\\n"], "report.csv", { type: "text/csv" }));
  return new Response(form);
};
"""

ROUTER = """
const routes = [
  [new URLPattern({ pathname: "*/books/:id(\\\\d+)" }), (m) => ({ book: Number(m.pathname.groups.id) })],
  [new URLPattern({ pathname: "*/files/:path+" }), (m) => ({ path: m.pathname.groups.path })],
];
export default (request: Request) => {
  for (const [pattern, handle] of routes) {
    const match = pattern.exec(request.url);
    if (match) return Response.json(handle(match));
  }
  return new Response("not found", { status: 404 });
};
"""

FILE_READER = """
export default async (request: Request) => {
  const blob = await request.blob();
  const read = (method: string) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    (reader as any)[method](blob);
  });
  return Response.json({ text: await read("readAsText"), url: await read("readAsDataURL") });
};
"""


def deploy(admin: httpx.Client, name: str, code: str) -> str:
    response = admin.post("/api/v1/functions", json={"name": name, "code": code, "enabled": True})
    assert response.status_code == 201, response.text
    return f"/api/v1/functions/{name}/invoke"


def test_a_multipart_upload_reaches_form_data_byte_for_byte(admin, anonymous, fname):
    path = deploy(admin, fname, UPLOAD)
    payload = os.urandom(3000) + b"\r\n--not-a-boundary\r\n" + bytes(range(256))
    response = anonymous.post(
        path,
        data={"title": "caf\u00e9 \u2615", "empty": ""},
        files={"upload": ("photo.jpg", payload, "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "title": "caf\u00e9 \u2615",
        "empty": "",
        "upload": {
            "name": "photo.jpg",
            "type": "image/jpeg",
            "size": len(payload),
            "hex": payload.hex(),
        },
    }


def test_an_urlencoded_form_reaches_form_data(admin, anonymous, fname):
    path = deploy(admin, fname, UPLOAD)
    response = anonymous.post(path, data={"q": "a b&c", "n": "\u00e9"})
    assert response.json() == {"q": "a b&c", "n": "\u00e9"}


def test_a_form_data_response_is_multipart_python_parses(admin, anonymous, fname):
    path = deploy(admin, fname, FORM_RESPONSE)
    response = anonymous.get(path)
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + response.content
    )
    parts = [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]
    assert parts == [
        ("greeting", None, "text/plain", b"hello"),
        ("report", "report.csv", "text/csv", b"a,b\n1,2\n"),  # file bytes are never rewritten
    ]


def test_a_urlpattern_router_routes_requests(admin, anonymous, fname):
    path = deploy(admin, fname, ROUTER)
    assert anonymous.get(f"{path}/books/42").json() == {"book": 42}
    assert anonymous.get(f"{path}/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}
    assert anonymous.get(f"{path}/books/abc").status_code == 404


def test_file_reader_reads_a_request_body(admin, anonymous, fname):
    path = deploy(admin, fname, FILE_READER)
    response = anonymous.post(
        path, content="h\u00e9".encode(), headers={"content-type": "text/plain"}
    )
    assert response.json() == {"text": "h\u00e9", "url": "data:text/plain;base64,aMOp"}
