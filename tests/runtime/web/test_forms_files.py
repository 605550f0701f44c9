"""Blob, File, FormData and formData() (blob.js, formdata.js, body.js) in a real isolate.

Multipart bodies are checked against Python's own email parser, and bodies Python builds are
parsed by formData(). FileReader needs timers: tests/api/test_web_forms_http.py runs it in a
served function.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import AsyncIterator

import pytest
from py_mini_racer import MiniRacer

from ._jsload import js, js_error, web_isolate


@pytest.fixture
async def mr() -> AsyncIterator[MiniRacer]:
    isolate = await web_isolate()
    yield isolate
    isolate.close()


# ---- Blob and File ----


async def test_blob_parts_options_and_reads(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const b = new Blob(['a\\r\\nb', new Uint8Array([0xc3, 0xa9]), new Blob(['!'])],
                              { type: 'Text/Plain', endings: 'native' });
        return [b.size, b.type, await b.text(), Array.from(await b.bytes()),
                (await b.arrayBuffer()).byteLength];""",
    )
    assert got == [6, "text/plain", "a\nb\u00e9!", [97, 10, 98, 0xC3, 0xA9, 33], 6]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", "hello world"),
        ("6", "world"),
        ("-5", "world"),
        ("0, -6", "hello"),
        ("2.5, 4.5", "ll"),  # [Clamp] rounds half to even: 2 and 4
        ("3.5, 100", "o world"),  # 3.5 rounds to 4
        ("8, 2", ""),
    ],
)
async def test_slice_takes_clamped_relative_positions(
    mr: MiniRacer, args: str, expected: str
) -> None:
    text = "hello world"
    got = await js(mr, f"return await new Blob(['{text}']).slice({args}).text();")
    assert got == expected


async def test_blob_options_are_validated(mr: MiniRacer) -> None:
    assert (await js_error(mr, "new Blob([], 123)")).constructor == "TypeError"
    assert (await js_error(mr, "new Blob([], { endings: 'bad' })")).constructor == "TypeError"
    assert (await js_error(mr, "new Blob('abc')")).constructor == "TypeError"
    assert await js(mr, "return new Blob([], { type: 'a\\u00e9' }).type;") == ""


async def test_file_has_a_name_and_last_modified(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const f = new File(['x'], 'a\\ud800.txt', { type: 'text/plain', lastModified: 42 });
        const now = new File([], 'n').lastModified;
        return [f.name, f.lastModified, f.type, f instanceof Blob, Object.prototype.toString.call(f),
                Math.abs(now - Date.now()) < 5000];""",
    )
    assert got == ["a\ufffd.txt", 42, "text/plain", True, "[object File]", True]
    assert (await js_error(mr, "new File(['x'])")).constructor == "TypeError"


async def test_structured_clone_copies_blobs_and_files(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const f = new File(['data'], 'd.bin', { type: 'a/b', lastModified: 7 });
        const [c, b] = structuredClone([f, new Blob(['x'], { type: 't/u' })]);
        return [c instanceof File, c.name, c.lastModified, c.type, await c.text(), c !== f,
                b instanceof File, b.type, await b.text()];""",
    )
    assert got == [True, "d.bin", 7, "a/b", "data", True, False, "t/u", "x"]


async def test_structured_clone_refuses_platform_objects(mr: MiniRacer) -> None:
    for code in ["new URL('http://a/')", "new Headers()", "new Response()", "new FormData()"]:
        error = await js_error(mr, f"structuredClone({code})")
        assert (error.name, error.is_dom_exception) == ("DataCloneError", True), code


# ---- FormData ----


async def test_formdata_entries_keep_order_and_wrap_blobs_in_files(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const fd = new FormData();
        fd.append('a', '1'); fd.append('b', new Blob(['x'], { type: 't/x' }));
        fd.append('a', '2'); fd.append('c', new Blob([]), 'named.txt');
        fd.set('a', '3');
        const b = fd.get('b');
        return [[...fd.keys()], fd.getAll('a'), b.name, b.type, fd.get('c').name, fd.has('z'),
                fd.get('z'), Object.prototype.toString.call(fd.entries())];""",
    )
    assert got == [
        ["a", "b", "c"],
        ["3"],
        "blob",
        "t/x",
        "named.txt",
        False,
        None,
        "[object FormData Iterator]",
    ]


async def test_formdata_iterators_are_live(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const fd = new FormData(); fd.append('a', '1');
        const seen = [];
        for (const [k] of fd) { seen.push(k); if (seen.length < 3) fd.append(k + k, 'v'); }
        return seen;""",
    )
    assert got == ["a", "aa", "aaaa"]


def _parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, str, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append(
            (
                part.get_param("name", header="content-disposition"),
                part.get_filename(),
                part.get_content_type(),
                payload,
            )
        )
    return parts


async def test_a_formdata_body_is_multipart_that_python_parses(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const fd = new FormData();
        fd.append('title', 'caf\\u00e9\\nbar');
        fd.append('upload', new File([new Uint8Array([0, 255, 13, 10])], 'data.bin',
                                     { type: 'application/x-thing' }));
        fd.append('plain', new Blob(['hi']));
        const r = new Response(fd);
        const type = r.headers.get('content-type');
        return [type, hex(await r.bytes())];""",
    )
    content_type, body_hex = got
    assert content_type.startswith("multipart/form-data; boundary=")
    parts = _parse_multipart(content_type, bytes.fromhex(body_hex))
    assert parts == [
        ("title", None, "text/plain", "caf\u00e9\r\nbar".encode()),
        ("upload", "data.bin", "application/x-thing", b"\x00\xff\r\n"),
        ("plain", "blob", "application/octet-stream", b"hi"),
    ]


async def test_form_data_parses_a_python_built_multipart_body(mr: MiniRacer) -> None:
    boundary = "XyZ--boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="field"\r\n\r\n'
        "value \u00e9\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/markdown\r\n\r\n"
        "# title\r\n\r\nbody\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    got = await js(
        mr,
        f"""const r = new Request('http://x/', {{ method: 'POST', body: unhex('{body.hex()}'),
              headers: {{ 'content-type': 'multipart/form-data; boundary="{boundary}"' }} }});
        const fd = await r.formData();
        const file = fd.get('file');
        return [fd.get('field'), file.name, file.type, await file.text(), r.bodyUsed];""",
    )
    assert got == ["value \u00e9", "a.txt", "text/markdown", "# title\r\n\r\nbody", True]


async def test_form_data_parses_urlencoded_bodies(mr: MiniRacer) -> None:
    got = await js(
        mr,
        """const r = new Response('a=1&b=x+y&a=%C3%A9',
            { headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' } });
        const fd = await r.formData();
        return [...fd];""",
    )
    assert got == [["a", "1"], ["b", "x y"], ["a", "\u00e9"]]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "a=1"),
        ("multipart/form-data", "--x--"),
        ("multipart/form-data; boundary=x", "no delimiter here"),
        ("multipart/form-data; boundary=x", "--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--"),
    ],
)
async def test_form_data_rejects_what_it_cannot_parse(
    mr: MiniRacer, content_type: str, body: str
) -> None:
    error = await js_error(
        mr,
        f"""await new Response({json.dumps(body)},
              {{ headers: {{ 'content-type': {json.dumps(content_type)} }} }}).formData();""",
    )
    assert error.constructor == "TypeError"
