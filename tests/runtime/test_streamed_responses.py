"""Streamed responses at the runtime seam: a Response with a ReadableStream body resolves with its
head and an async iterator of chunks (InvokeRequest.stream_response), pulled with back-pressure,
under the call's timeout and memory cap, with the final result when the stream ends."""

from __future__ import annotations

import asyncio
import time

import pytest

from flux_edge.runtime import Runtime
from flux_edge.runtime.streaming import WINDOW, ResponseStream, ResponseStreamError

from .conftest import make_request

TICKS = """
Deno.serve(() => {
  let n = 0;
  let timer;
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    start(controller) {
      timer = setInterval(() => {
        n += 1;
        controller.enqueue(encoder.encode(`data: ${n} ${Date.now()}\\n\\n`));
        console.log('sent', n);
        if (n === 3) { clearInterval(timer); controller.close(); }
      }, 150);
    },
    cancel() { clearInterval(timer); console.log('cancelled'); },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
});
"""


async def drain(stream: ResponseStream, into: list[bytes]) -> None:
    """Collects the chunks of `stream` into `into` until it ends (or raises)."""
    async for chunk in stream:
        into.append(chunk)


def streaming(**extra: object):
    return make_request(method="GET", stream_response=True, **extra)


async def test_chunks_arrive_one_by_one_as_the_function_writes_them(runtime: Runtime, make_spec):
    result = await runtime.invoke(make_spec(TICKS), streaming())
    assert (result.status_code, result.header("content-type")) == (200, "text/event-stream")
    assert result.stream is not None
    assert result.body == b""
    seen = []
    async for chunk in result.stream:
        # Each event was written by JavaScript before it got here, and not long before.
        n, written = chunk.decode().removeprefix("data: ").split()
        seen.append(int(n))
        assert time.time() * 1000 - int(written) < 140
    assert seen == [1, 2, 3]
    final = await result.stream.outcome()
    assert final.outcome == "success"
    assert final.logs == "console.log: sent 1\nconsole.log: sent 2\nconsole.log: sent 3"
    assert final.duration_ms >= 400


async def test_without_stream_response_the_stream_is_read_to_its_end(runtime: Runtime, make_spec):
    result = await runtime.invoke(make_spec(TICKS), make_request(method="GET"))
    assert result.stream is None
    assert [line.split()[1] for line in result.body.decode().split("\n\n") if line] == [
        "1",
        "2",
        "3",
    ]


async def test_a_consumer_that_does_not_read_holds_the_producer_back(runtime: Runtime, make_spec):
    # pull() is called only when the stream wants data; nobody reads, so it must stop early.
    spec = make_spec("""
    let pulls = 0;
    Deno.serve(() => new Response(new ReadableStream({
      pull(controller) { pulls += 1; controller.enqueue(new Uint8Array(65536)); },
      cancel() { console.log('pulls', pulls); },
    })));
    """)
    result = await runtime.invoke(spec, streaming())
    assert result.stream is not None
    await asyncio.sleep(0.5)
    await result.stream.aclose()
    final = await result.stream.outcome()
    # WINDOW chunks were asked for, plus the one the stream's queue (highWaterMark 1) holds.
    assert final.outcome == "success"
    assert final.logs == f"console.log: pulls {WINDOW + 1}"


async def test_the_timeout_still_applies_and_cuts_the_stream(runtime: Runtime, make_spec):
    spec = make_spec(
        """
        Deno.serve(() => new Response(new ReadableStream({
          async pull(controller) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            controller.enqueue(new TextEncoder().encode('tick\\n'));
          },
        })));
        """,
        timeout_seconds=2,  # room for two ticks even on a loaded machine
    )
    result = await runtime.invoke(spec, streaming())
    assert result.stream is not None
    received: list[bytes] = []
    with pytest.raises(ResponseStreamError) as failure:
        await drain(result.stream, received)
    assert b"".join(received).startswith(b"tick\ntick\n")
    assert failure.value.result.outcome == "timeout"
    assert (await result.stream.outcome()).outcome == "timeout"


async def test_an_error_in_the_stream_ends_the_call_with_that_error(runtime: Runtime, make_spec):
    spec = make_spec("""
    Deno.serve(() => new Response(new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('first'));
        setTimeout(() => controller.error(new RangeError('the feed broke')), 50);
      },
    })));
    """)
    result = await runtime.invoke(spec, streaming())
    assert result.stream is not None
    chunks: list[bytes] = []
    with pytest.raises(ResponseStreamError):
        await drain(result.stream, chunks)
    assert chunks == [b"first"]
    final = await result.stream.outcome()
    assert (final.outcome, final.error_message) == ("error", "RangeError: the feed broke")


async def test_a_chunk_that_is_not_bytes_fails_the_call(runtime: Runtime, make_spec):
    spec = make_spec("""
    Deno.serve(() => new Response(new ReadableStream({
      start(controller) { controller.enqueue('text is not a Uint8Array'); controller.close(); },
    })));
    """)
    result = await runtime.invoke(spec, streaming())
    assert result.stream is not None
    with pytest.raises(ResponseStreamError):
        await drain(result.stream, [])
    final = await result.stream.outcome()
    assert final.error_message == "TypeError: A response body chunk is not a Uint8Array"


async def test_the_memory_cap_applies_to_what_a_stream_queues(runtime: Runtime, make_spec):
    # This producer ignores back-pressure: its queue grows until the buffer budget stops it.
    spec = make_spec(
        """
        Deno.serve(() => new Response(new ReadableStream({
          start(controller) {
            const timer = setInterval(() => {
              for (let i = 0; i < 16; i++) controller.enqueue(new Uint8Array(1 << 20));
            }, 5);
          },
        })));
        """,
        memory_limit_mb=16,
    )
    result = await runtime.invoke(spec, streaming())
    assert result.stream is not None
    await asyncio.sleep(0.3)  # nobody reads
    final = await result.stream.outcome()
    assert (final.outcome, final.limit, final.status_code) == ("error", "memory", 500)


async def test_a_bytes_response_is_not_streamed(runtime: Runtime, make_spec):
    spec = make_spec("Deno.serve(() => new Response('whole'));")
    result = await runtime.invoke(spec, streaming())
    assert (result.stream, result.body) == (None, b"whole")


async def test_the_request_body_can_be_read_as_a_stream(runtime: Runtime, make_spec):
    spec = make_spec("""
    Deno.serve(async (req) => {
      let total = 0;
      let chunks = 0;
      for await (const chunk of req.body) { total += chunk.byteLength; chunks += 1; }
      return Response.json({ total, chunks, used: req.bodyUsed });
    });
    """)
    result = await runtime.invoke(spec, make_request("x" * 5000))
    assert result.body == b'{"total":5000,"chunks":1,"used":true}'
