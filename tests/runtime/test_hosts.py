"""Isolate hosts at the Runtime seam: real host processes forked from a real zygote.

A host that dies, freezes or is killed never leaves a caller waiting: its calls are answered at
once with a result that says what happened, and the function's next call gets a fresh host.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from flux_edge.runtime import CodeError, FunctionSpec, PoolLimits
from flux_edge.runtime.codeforms import compile_source
from flux_edge.runtime.hosting import HostedRuntime
from flux_edge.runtime.hosting.supervisor import IsolateHost
from flux_edge.runtime.hosting.wire import FrameReader, FromHost, Pong, Result, encode_frame
from flux_edge.runtime.types import InvokeResult

from .conftest import make_request


@pytest.fixture
async def hosted() -> AsyncIterator[HostedRuntime]:
    rt = HostedRuntime(PoolLimits(max_queue_per_function=64))
    await rt.start()
    yield rt
    await rt.close(grace=0.5)


def test_frames_decode_whatever_way_the_bytes_arrive():
    result = InvokeResult(
        outcome="success",
        status_code=200,
        headers=[("a", "b")],
        body=b"\x00\xff",
        logs="",
        duration_ms=1,
    )
    data = encode_frame([Pong(seq=1), Result(id=7, result=result)]) + encode_frame([Pong(seq=2)])
    expected = [Pong(seq=1), Result(id=7, result=result), Pong(seq=2)]
    reader = FrameReader(FromHost)
    assert [m for i in range(len(data)) for m in reader.feed(data[i : i + 1])] == expected
    for cut in range(len(data) + 1):  # whole frames, then the rest, from every point
        reader = FrameReader(FromHost)
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == expected
    with pytest.raises(msgspec.DecodeError):
        FrameReader(FromHost).feed(encode_frame([{"type": "Nope"}]))


async def test_calls_run_in_a_host_process_not_the_server(hosted, make_spec):
    spec = make_spec("function handler(req) { return {status: 201, body: 'got ' + req.body} }")
    await hosted.check(spec.compiled, spec)
    results = await asyncio.gather(*(hosted.invoke(spec, make_request(str(i))) for i in range(50)))
    assert [(r.status_code, r.body) for r in results] == [
        (201, f"got {i}".encode()) for i in range(50)
    ]
    (host,) = [h for h in hosted.hosts() if h.served]
    assert host.pid != os.getpid()
    assert hosted.pool.isolate_count >= 1


def private_kb_of(pid: int, library: str) -> int:
    """Private dirty memory of `library`'s mappings in process `pid` (/proc/PID/smaps)."""
    lines = Path(f"/proc/{pid}/smaps").read_text().split("\n")
    total = 0
    for n, line in enumerate(lines):
        if line.endswith(library):
            fields = dict(row.split(":", 1) for row in lines[n + 1 : n + 24] if ":" in row)
            total += int(fields["Private_Dirty"].split()[0])
    return total


def private_kb_total(pid: int) -> int:
    lines = Path(f"/proc/{pid}/smaps").read_text().split("\n")
    return sum(int(line.split()[1]) for line in lines if line.startswith("Private_Dirty:"))


def single_threaded_with(pid: int, library: str) -> bool:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return library in maps and len(os.listdir(f"/proc/{pid}/task")) == 1


async def test_hosts_share_the_v8_library_and_icu_data_the_zygote_loaded(hosted, make_spec):
    # Loaded before any fork, so hosts share them; V8 itself not initialised, which would start
    # threads (a fork after that is unsafe).
    spec = make_spec("function handler() { return 'ok' }")
    assert (await hosted.invoke(spec, make_request())).body == b"ok"
    zygote = hosted._zygote._process
    assert zygote is not None
    assert single_threaded_with(zygote.pid, "libmini_racer.so")
    (host,) = [h for h in hosted.hosts() if h.served]
    # Relocated in each host, the library's data would be ~1.1 MB private; shared, ~0.1-0.2 MB.
    assert private_kb_of(host.pid, "libmini_racer.so") < 600
    # V8's ICU data (10.3 MB) is the zygote's buffer, shared: the host's whole private memory
    # stays well under what one private copy of it would add (~23 MB then, ~13 MB now).
    assert private_kb_total(host.pid) < 18_000
    # ... and ICU works in the host (locale data comes from that buffer).
    formats = make_spec(
        "function handler() { return new Intl.NumberFormat('de-DE').format(1234.5) }"
    )
    assert (await hosted.invoke(formats, make_request())).body == b"1.234,5"


async def test_header_names_of_str_subclasses_cross_as_strings(hosted, make_spec):
    from multidict import istr  # what the web layer hands over for WebSocket headers

    spec = make_spec("function handler(req) { return req.headers }")
    await hosted.check(spec.compiled, spec)
    result = await hosted.invoke(spec, make_request(headers=[(istr("X-Name"), istr("v"))]))
    assert result.status_code == 200, result.body
    assert json.loads(result.body) == {"X-Name": "v"}


async def test_a_call_that_cannot_be_sent_fails_alone(hosted, make_spec):
    spec = make_spec("function handler(req) { return 'ok' }")
    await hosted.check(spec.compiled, spec)
    bad = make_request(headers=[("x", object())])
    results = await asyncio.gather(
        hosted.invoke(spec, make_request()),
        hosted.invoke(spec, bad),
        hosted.invoke(spec, make_request()),
    )
    assert [r.status_code for r in results] == [200, 500, 200]
    assert results[1].error_message.startswith("the call could not be sent to its isolate host")


async def test_code_errors_come_back_with_their_position(hosted, make_spec):
    spec = make_spec("function handler() {\n  return 1 +;\n}")
    with pytest.raises(CodeError) as error:
        await hosted.check(spec.compiled, spec)
    assert error.value.line == 2
    assert not [h for h in hosted.hosts() if h.served]  # the host that loaded it is gone


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("export default {\n  fetch() { return new Response('x') }\n}", 1),  # never compiled
        ("const x = 1;\nthrow new Error('top level');\nfunction handler() {}", 2),
    ],
)
async def test_code_that_does_not_load_fails_its_call_with_a_code_error(
    hosted, make_spec, code, line
):
    # As the in-process Runtime does: a CodeError with its position, at once, and the host stays.
    spec = make_spec(code)
    with pytest.raises(CodeError) as error:
        await asyncio.wait_for(hosted.invoke(spec, make_request()), 10)
    assert error.value.line == line
    good = make_spec("function handler() { return 'fine' }")
    assert (await hosted.invoke(good, make_request())).body == b"fine"


LOOP_WHEN_ASKED = "function handler(req) { if (req.body === 'loop') while (true) {} return 'fine' }"


@pytest.fixture
async def one_isolate() -> AsyncIterator[HostedRuntime]:
    """A hosted runtime with one isolate per function: a second call queues on a busy isolate."""
    rt = HostedRuntime(PoolLimits(max_isolates_per_function=1, max_queue_per_function=8))
    await rt.start()
    yield rt
    await rt.close(grace=0.5)


async def start_looping(rt: HostedRuntime, spec: FunctionSpec) -> asyncio.Future[InvokeResult]:
    """Warm the function's one isolate, then start a call that loops in it (for `spec`'s timeout)."""
    assert (await rt.invoke(spec, make_request("warm"))).body == b"fine"
    looping = asyncio.ensure_future(rt.invoke(spec, make_request("loop")))
    await asyncio.sleep(0.2)
    return looping


async def test_a_call_queued_on_a_looping_isolate_is_answered_from_a_fresh_one(
    one_isolate, make_spec
):
    # The host hands a call straight to the warm isolate (no task); when that isolate is stopped,
    # the call, never started, runs on a new one and its answer still finds its way back.
    spec = make_spec(LOOP_WHEN_ASKED, timeout_seconds=1.0)
    looping = await start_looping(one_isolate, spec)
    queued = await asyncio.wait_for(one_isolate.invoke(spec, make_request("ok")), 10)
    assert queued.body == b"fine"
    assert (await looping).status_code == 408


async def test_a_queued_call_whose_rerun_cannot_load_fails_with_the_code_error(
    one_isolate, make_spec
):
    # The same, but meanwhile a new version that does not load replaced the function: the call
    # that was waiting gets that version's CodeError, as a call of it would.
    spec = make_spec(LOOP_WHEN_ASKED, timeout_seconds=1.0)
    looping = await start_looping(one_isolate, spec)
    queued = asyncio.ensure_future(one_isolate.invoke(spec, make_request("ok")))
    await asyncio.sleep(0.1)
    broken = msgspec.structs.replace(
        spec,
        version=2,
        compiled="const x = 1;\nthrow new Error('top level');\nfunction handler() {}",
    )
    with pytest.raises(CodeError):
        await asyncio.wait_for(one_isolate.invoke(broken, make_request()), 10)
    with pytest.raises(CodeError) as error:
        await asyncio.wait_for(queued, 10)
    assert error.value.line == 2
    assert (await looping).status_code == 408


async def taken_by_its_host(hosted: HostedRuntime, calls: int = 1) -> IsolateHost:
    """The function's host, once it has taken `calls` calls (their code may run from then on)."""
    while True:
        served = [h for h in hosted.hosts() if h.served]
        if served and served[0].taken == calls:
            return served[0]
        await asyncio.sleep(0.01)


async def test_a_host_that_dies_under_a_call_answers_it_and_is_replaced(hosted, make_spec):
    spec = make_spec(
        "async function handler() { await new Promise(r => setTimeout(r, 1500)); return 'late' }"
    )
    await hosted.check(spec.compiled, spec)
    call = asyncio.ensure_future(hosted.invoke(spec, make_request()))
    host = await asyncio.wait_for(taken_by_its_host(hosted), 30)
    os.kill(host.pid, signal.SIGKILL)
    result = await asyncio.wait_for(call, 2)
    assert (result.outcome, result.status_code) == ("error", 500)
    assert (
        result.error_message == "the function's isolate host stopped unexpectedly (exit status -9)"
    )
    again = await hosted.invoke(spec, make_request())
    assert (again.status_code, again.body) == (200, b"late")


async def test_calls_a_crashed_host_never_took_run_once_on_a_fresh_host(hosted, make_spec):
    spec = make_spec(
        "async function handler(req) {\n"
        "  if (req.body === 'wait') await new Promise(r => setTimeout(r, 1500));\n"
        "  return req.body;\n"
        "}"
    )
    await hosted.check(spec.compiled, spec)
    running = asyncio.ensure_future(hosted.invoke(spec, make_request("wait")))
    host = await asyncio.wait_for(taken_by_its_host(hosted), 30)
    os.kill(host.pid, signal.SIGSTOP)  # what is sent now stays unread in its socket
    waiting = [asyncio.ensure_future(hosted.invoke(spec, make_request(f"c{i}"))) for i in range(3)]
    await asyncio.sleep(0)  # one loop turn: each call is sent (or queued to send) to it
    assert host.load == 4
    os.kill(host.pid, signal.SIGKILL)  # a real crash: the socket closes by itself
    # The call that was running is answered with the crash, never replayed...
    result = await asyncio.wait_for(running, 5)
    assert (result.outcome, result.status_code) == ("error", 500)
    assert "isolate host stopped unexpectedly" in (result.error_message or "")
    # ...the three it never took run on a fresh host.
    retried = await asyncio.wait_for(asyncio.gather(*waiting), 60)
    assert [(r.status_code, r.body) for r in retried] == [(200, b"c0"), (200, b"c1"), (200, b"c2")]
    assert host.gone
    (fresh,) = [h for h in hosted.hosts() if h.served]
    assert fresh.pid != host.pid


async def test_a_frozen_host_is_killed_and_its_calls_answered(hosted, make_spec):
    spec = make_spec(
        "async function handler() { await new Promise(r => setTimeout(r, 5000)); return 1 }"
    )
    await hosted.check(spec.compiled, spec)
    call = asyncio.ensure_future(hosted.invoke(spec, make_request()))
    host = await asyncio.wait_for(taken_by_its_host(hosted), 30)
    os.kill(host.pid, signal.SIGSTOP)  # its event loop stops answering pings
    started = time.monotonic()
    result = await asyncio.wait_for(call, 5)
    assert time.monotonic() - started < 3
    assert (result.outcome, result.status_code) == ("error", 500)
    assert result.error_message.startswith("the call was interrupted")
    assert host.gone


async def test_a_builtin_that_cannot_be_stopped_recycles_the_host_without_blocking(
    hosted, make_spec
):
    code = (
        "function handler(req) { if (req.body !== 'attack') return 'fine';"
        " let s = 'ab'; for (let i = 0; i < 24; i++) s += s; for (;;) s.toUpperCase(); }"
    )
    spec = make_spec(code, timeout_seconds=1.0)
    await hosted.check(spec.compiled, spec)
    worst = 0.0

    async def tick() -> None:
        nonlocal worst
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - before - 0.01)

    ticker = asyncio.ensure_future(tick())
    (host,) = [h for h in hosted.hosts() if h.served]
    recycled = asyncio.Event()
    hosted.on_host_gone = lambda gone: recycled.set() if gone is host else None
    result = await hosted.invoke(spec, make_request("attack"))
    ticker.cancel()
    assert (result.outcome, result.status_code, result.limit) == ("timeout", 408, "timeout")
    assert result.duration_ms < 3000
    # Waiting on the stuck host would stall the loop for the whole attack (past the 1 s timeout);
    # a loaded 2-core machine alone delays a 10 ms sleep by up to ~150 ms.
    assert worst < 0.5, f"the server's event loop stalled {worst * 1000:.0f} ms"
    await asyncio.wait_for(recycled.wait(), 30)  # once its calls were answered
    assert host.gone
    assert (await hosted.invoke(spec, make_request())).body == b"fine"


async def test_work_after_the_response_crosses_the_host_boundary(hosted, make_spec):
    spec = make_spec(
        compile_source(
            "export default { fetch(req, env, ctx) {\n"
            "  ctx.waitUntil(new Promise((r) => setTimeout(() => { console.log('late'); r(); }, 200)));\n"
            "  return new Response('sent');\n"
            "} };"
        )
    )
    await hosted.check(spec.compiled, spec)
    loop = asyncio.get_running_loop()
    completed: asyncio.Future[InvokeResult] = loop.create_future()
    response = await hosted.invoke(spec, make_request(), completed.set_result)
    assert not completed.done()  # the response came first
    assert response.body == b"sent"
    final = await asyncio.wait_for(completed, 5)
    assert (final.outcome, final.body, final.logs) == ("success", b"sent", "console.log: late")


async def test_a_host_that_dies_after_a_response_ends_the_work_after_it(hosted, make_spec):
    spec = make_spec(
        compile_source(
            "export default { fetch(req, env, ctx) {\n"
            "  ctx.waitUntil(new Promise(() => {}));\n"
            "  return new Response('sent');\n"
            "} };"
        ),
        timeout_seconds=30,
    )
    await hosted.check(spec.compiled, spec)
    loop = asyncio.get_running_loop()
    completed: asyncio.Future[InvokeResult] = loop.create_future()
    response = await hosted.invoke(spec, make_request(), completed.set_result)
    assert response.body == b"sent"
    (host,) = [h for h in hosted.hosts() if h.served]
    os.kill(host.pid, signal.SIGKILL)
    final = await asyncio.wait_for(completed, 5)
    assert (final.outcome, final.status_code, final.body) == ("error", 200, b"sent")
    assert "isolate host stopped" in (final.error_message or "")
