"""A web Request's body through `Runtime.invoke`: whether it crossed as text (short valid UTF-8)
or as base64 (anything else), every way of reading it gives the bytes that were sent."""

from __future__ import annotations

import base64
import json

import pytest

from flux_edge.runtime import Runtime
from flux_edge.runtime.codeforms import compile_source
from flux_edge.runtime.wire import TEXT_BODY_LIMIT, web_call

from .conftest import make_request

# Reads one body six ways (clones for all but the last), then reads it again.
READ_EVERY_WAY = compile_source(
    """Deno.serve(async (req) => {
      const [a, b, c, d, e] = [req.clone(), req.clone(), req.clone(), req.clone(), req.clone()];
      const streamed = [];
      for await (const chunk of c.body) for (const byte of chunk) streamed.push(byte);
      let json = null;
      try { json = await e.json(); } catch (error) { json = error.name; }
      const text = await req.text();
      let again = null;
      try { await req.text(); } catch (error) { again = error.name; }
      return Response.json({
        text, json, again, used: req.bodyUsed,
        bytes: (await a.bytes()).toBase64(),
        buffer: new Uint8Array(await b.arrayBuffer()).toBase64(),
        streamed: new Uint8Array(streamed).toBase64(),
        blob: (await d.blob()).size,
      });
    });"""
)

BODIES = {
    "short JSON": b'{"a": 1, "email": "user@example.com"}',
    "a BOM, accents and an emoji": '\ufeff{"name": "Jos\u00e9 \U0001f600"}'.encode(),
    "not UTF-8": b"\xff\x00\xc3(",
    "valid UTF-8 at the limit": ('"' + "\u00e9" * ((TEXT_BODY_LIMIT - 2) // 2) + '"').encode(),
    "valid UTF-8 past the limit": b'"' + b"x" * TEXT_BODY_LIMIT + b'"',
}


def decoded(body: bytes) -> str:
    """Encoding's UTF-8 decode: bad bytes as U+FFFD, a leading BOM dropped."""
    text = body.decode("utf-8", "replace")
    return text[1:] if text.startswith("\ufeff") else text


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_every_reader_gets_the_bytes_sent(runtime: Runtime, make_spec, body: bytes) -> None:
    result = await runtime.invoke(make_spec(READ_EVERY_WAY), make_request(body))
    assert result.status_code == 200, result.error_message
    seen = json.loads(result.body)
    sent = base64.b64encode(body).decode()
    assert (seen["bytes"], seen["buffer"], seen["streamed"]) == (sent, sent, sent)
    assert seen["blob"] == len(body)
    assert seen["text"] == decoded(body)
    try:
        expected_json = json.loads(decoded(body))
    except ValueError:
        expected_json = "SyntaxError"
    assert seen["json"] == expected_json
    assert (seen["again"], seen["used"]) == ("TypeError", True)


def test_short_valid_utf8_crosses_as_text_and_the_rest_as_base64() -> None:
    forms = {
        name: "text" if call.bodyText is not None else "base64"
        for name, body in BODIES.items()
        for call in [web_call(make_request(body))]
    }
    assert forms == {
        "short JSON": "text",
        "a BOM, accents and an emoji": "text",
        "not UTF-8": "base64",
        "valid UTF-8 at the limit": "text",
        "valid UTF-8 past the limit": "base64",
    }
    assert web_call(make_request(b"")).bodyText is None
    assert web_call(make_request(b"")).bodyBase64 is None
