"""The WHATWG Streams of the prelude, run in real isolates: readable (default and byte streams,
BYOB, tee, pipes, async iteration, from), writable, transform, strategies, text and compression
streams, bodies as streams, and loading on first use."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest

from flux_edge.runtime import Runtime

from .conftest import make_request


async def run_js(runtime: Runtime, make_spec, body: str, **spec: object) -> Any:
    """Runs `body` as the async body of a handler and returns its JSON result."""
    code = f"async function handler(req) {{\n{body}\n}}"
    result = await runtime.invoke(make_spec(code, **spec), make_request())
    assert result.outcome == "success", result.error_message
    return json.loads(result.body)


async def test_a_default_stream_is_read_in_order_and_closes(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      const stream = new ReadableStream({
        start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); },
      });
      const reader = stream.getReader();
      const out = [];
      for (;;) { const { value, done } = await reader.read(); if (done) break; out.push(value); }
      return { out, locked: stream.locked, tag: Object.prototype.toString.call(stream) };
    """,
    )
    assert got == {"out": ["a", "b"], "locked": True, "tag": "[object ReadableStream]"}


async def test_pull_is_driven_by_the_high_water_mark(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      let pulls = 0;
      const stream = new ReadableStream({ pull(c) { pulls += 1; c.enqueue(pulls); } },
        new CountQueuingStrategy({ highWaterMark: 3 }));
      await new Promise((resolve) => setTimeout(resolve, 10));
      const before = pulls;
      await stream.getReader().read();
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { before, after: pulls };
    """,
    )
    assert got == {"before": 3, "after": 4}


async def test_async_iteration_tee_and_from(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      const [left, right] = ReadableStream.from(['x', 'y', 'z']).tee();
      const a = []; for await (const v of left) a.push(v);
      const b = []; for await (const v of right) b.push(v);
      async function* gen() { yield 1; yield 2; }
      const c = []; for await (const v of ReadableStream.from(gen())) c.push(v);
      return { a, b, c };
    """,
    )
    assert got == {"a": ["x", "y", "z"], "b": ["x", "y", "z"], "c": [1, 2]}


async def test_a_byte_stream_fills_a_byob_reader_with_min(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      let n = 0;
      const stream = new ReadableStream({
        type: 'bytes',
        pull(c) {
          const view = c.byobRequest.view;
          view[0] = ++n; view[1] = ++n;
          c.byobRequest.respond(2);
          if (n >= 6) c.close();
        },
      });
      const reader = stream.getReader({ mode: 'byob' });
      const { value } = await reader.read(new Uint8Array(8), { min: 6 });
      const end = await reader.read(new Uint8Array(1));
      return { value: Array.from(value), done: end.done, kind: reader.constructor.name };
    """,
    )
    assert got == {"value": [1, 2, 3, 4, 5, 6], "done": True, "kind": "ReadableStreamBYOBReader"}


async def test_pipe_through_a_transform_into_a_writable(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      const written = [];
      const sink = new WritableStream({ write(chunk) { written.push(chunk); } });
      const double = new TransformStream({ transform(chunk, c) { c.enqueue(chunk * 2); } });
      await ReadableStream.from([1, 2, 3]).pipeThrough(double).pipeTo(sink);
      return written;
    """,
    )
    assert got == [2, 4, 6]


async def test_pipe_to_stops_on_abort_and_cancels_the_source(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      let cancelled = null;
      const source = new ReadableStream({ pull(c) { c.enqueue('tick'); }, cancel(r) { cancelled = r.name; } });
      const controller = new AbortController();
      const sink = new WritableStream({ write() { controller.abort(); } });
      const error = await source.pipeTo(sink, { signal: controller.signal }).catch((e) => e.name);
      return { error, cancelled };
    """,
    )
    assert got == {"error": "AbortError", "cancelled": "AbortError"}


async def test_a_writable_applies_back_pressure(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      let release;
      const stream = new WritableStream({ write() { return new Promise((r) => { release = r; }); } },
        new ByteLengthQueuingStrategy({ highWaterMark: 4 }));
      const writer = stream.getWriter();
      writer.write(new Uint8Array(3));
      await Promise.resolve();
      const first = writer.desiredSize;
      writer.write(new Uint8Array(3));
      const second = writer.desiredSize;
      release();
      return { first, second };
    """,
    )
    # A chunk counts against the high-water mark until its write() settles.
    assert got == {"first": 1, "second": -2}


async def test_text_streams_handle_characters_split_across_chunks(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      const bytes = new TextEncoder().encode('h\\u00e9\\u{1F600}!');
      const parts = [bytes.slice(0, 2), bytes.slice(2, 5), bytes.slice(5)];
      let text = '';
      for await (const piece of ReadableStream.from(parts).pipeThrough(new TextDecoderStream())) text += piece;
      const encoded = [];
      const surrogates = ReadableStream.from(['a\\ud83d', '\\ude00']).pipeThrough(new TextEncoderStream());
      for await (const chunk of surrogates) encoded.push(...chunk);
      return { text, encoded };
    """,
    )
    assert got == {"text": "hé😀!", "encoded": list("a😀".encode())}


@pytest.mark.parametrize("fmt", ["gzip", "deflate", "deflate-raw", "brotli"])
async def test_compression_round_trips_and_matches_the_format(runtime: Runtime, make_spec, fmt):
    got = await run_js(
        runtime,
        make_spec,
        f"""
      const input = new TextEncoder().encode('edge '.repeat(2000));
      const packed = new Uint8Array(await new Response(
        new Blob([input]).stream().pipeThrough(new CompressionStream('{fmt}'))).arrayBuffer());
      const unpacked = await new Response(
        new Blob([packed]).stream().pipeThrough(new DecompressionStream('{fmt}'))).text();
      return {{ packed: packed.toBase64(), same: unpacked === 'edge '.repeat(2000) }};
    """,
    )
    assert got["same"] is True
    packed = __import__("base64").b64decode(got["packed"])
    assert len(packed) < 200
    decoders = {
        "gzip": gzip.decompress,
        "deflate": zlib.decompress,
        "deflate-raw": lambda data: zlib.decompress(data, -15),
        "brotli": brotli.decompress,
    }
    assert decoders[fmt](packed) == b"edge " * 2000


async def test_corrupt_or_trailing_compressed_data_is_a_type_error(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      const read = (bytes) => new Response(new Blob([bytes]).stream()
        .pipeThrough(new DecompressionStream('gzip'))).text().then(() => 'ok', (e) => e.name);
      const good = new Uint8Array(await new Response(new Blob(['hi']).stream()
        .pipeThrough(new CompressionStream('gzip'))).arrayBuffer());
      return {
        corrupt: await read(new Uint8Array([1, 2, 3, 4])),
        truncated: await read(good.slice(0, 10)),
        trailing: await read(new Uint8Array([...good, 0])),
        good: await read(good),
        badFormat: (() => { try { new CompressionStream('zip'); } catch (e) { return e.name; } })(),
      };
    """,
    )
    assert got == {
        "corrupt": "TypeError",
        "truncated": "TypeError",
        "trailing": "TypeError",
        "good": "ok",
        "badFormat": "TypeError",
    }


async def test_a_decompression_bomb_hits_the_memory_limit(runtime: Runtime, make_spec):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    code = (
        "async function handler(req) {\n"
        f"  const bomb = Uint8Array.fromBase64('{__import__('base64').b64encode(bomb).decode()}');\n"
        "  const out = new Blob([bomb]).stream().pipeThrough(new DecompressionStream('gzip'));\n"
        "  return new Response(out).arrayBuffer().then((b) => String(b.byteLength));\n"
        "}"
    )
    result = await runtime.invoke(make_spec(code, memory_limit_mb=16), make_request())
    assert result.status_code == 500
    assert "Memory limit exceeded" in (result.error_message or "")


async def test_bodies_are_streams_and_streams_are_bodies(runtime: Runtime, make_spec):
    got = await run_js(
        runtime,
        make_spec,
        """
      const response = new Response('body text');
      const isStream = response.body instanceof ReadableStream;
      const text = await new Response(response.body.pipeThrough(new TextDecoderStream())
        .pipeThrough(new TextEncoderStream())).text();
      const request = new Request('https://example.com/', {
        method: 'POST', body: ReadableStream.from([new Uint8Array([104, 105])]), duplex: 'half' });
      const clone = request.clone();
      let noDuplex;
      try { new Request('https://example.com/', { method: 'POST', body: new ReadableStream() }); }
      catch (e) { noDuplex = e.name; }
      return { isStream, text, used: response.bodyUsed, request: await request.text(),
        clone: await clone.text(), noDuplex, blob: await new Response(new Blob(['b']).stream()).text() };
    """,
    )
    assert got == {
        "isStream": True,
        "text": "body text",
        "used": True,
        "request": "hi",
        "clone": "hi",
        "noDuplex": "TypeError",
        "blob": "b",
    }


async def test_streams_load_on_first_use_and_their_internals_stay_hidden(
    runtime: Runtime, make_spec
):
    spec = make_spec("""
      const before = Object.getOwnPropertyDescriptor(globalThis, 'ReadableStream');
      function handler(req) {
        const loadedAtStart = 'value' in before;
        const text = new Response('x').body instanceof ReadableStream;
        const now = Object.getOwnPropertyDescriptor(globalThis, 'ReadableStream');
        const hidden = ['__flux_streams', '__flux_abort', '__flux_webutil'].filter((n) => n in globalThis);
        return { loadedAtStart, getter: typeof before.get, text, loaded: 'value' in now,
          enumerable: now.enumerable, hidden };
      }
    """)
    result = await runtime.invoke(spec, make_request())
    assert json.loads(result.body) == {
        "loadedAtStart": False,
        "getter": "function",
        "text": True,
        "loaded": True,
        "enumerable": False,
        "hidden": [],
    }


async def test_replacing_globals_before_first_use_does_not_change_streams(
    runtime: Runtime, make_spec
):
    got = await run_js(
        runtime,
        make_spec,
        """
      const original = Uint8Array;
      globalThis.Uint8Array = function () { throw new Error('patched Uint8Array'); };
      Object.defineProperty(Object.prototype, 'highWaterMark', {
        set() { throw new Error('setter called'); }, configurable: true });
      try {
        const stream = new ReadableStream({
          type: 'bytes', start(c) { c.enqueue(new original([1, 2])); c.close(); } });
        const { value } = await stream.getReader().read();
        return Array.from(value);
      } finally {
        globalThis.Uint8Array = original;
        delete Object.prototype.highWaterMark;
      }
    """,
    )
    assert got == [1, 2]
