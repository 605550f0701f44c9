"""Live logs shared between a server's workers (flux_edge/service/live_log_peers.py): hubs in one
loop over real Unix sockets in a shared directory, as a server's workers are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from flux_edge.runtime import InvokeResult
from flux_edge.service.live_logs import LiveEvent, LiveLogHub


def result(line: str) -> InvokeResult:
    return InvokeResult(
        outcome="success", status_code=200, headers=[], body=b"", logs=line, duration_ms=1.0
    )


@asynccontextmanager
async def hubs(directory: Path, count: int, size: int = 1000) -> AsyncIterator[list[LiveLogHub]]:
    started = [LiveLogHub(size, peers_dir=directory) for _ in range(count)]
    for hub in started:
        await hub.bind()
    try:
        yield started
    finally:
        for hub in started:
            hub.close()
        await asyncio.sleep(0.05)  # the connections' tasks end in the next turns


async def take(stream: AsyncIterator[LiveEvent | None], count: int) -> list[LiveEvent]:
    """The next `count` events of a followed stream (keep-alive ticks skipped)."""
    taken: list[LiveEvent] = []
    async with asyncio.timeout(5):
        while len(taken) < count:
            event = await anext(stream)
            if event is not None:
                taken.append(event)
    return taken


def messages(events: list[LiveEvent]) -> list[object]:
    return [e.data.get("message") for e in events if e.kind == "console"]


async def test_a_stream_takes_the_siblings_buffered_then_new_events_once(tmp_path):
    async with hubs(tmp_path, 2) as (mine, sibling):
        sibling.publish("f", "e1", result("console.log: before"))
        stream = mine.follow("f", None, keepalive=0.05)
        assert messages(await take(stream, 2)) == ["before"]
        sibling.publish("f", "e2", result("console.log: after"))
        mine.publish("f", "e3", result("console.log: here"))
        assert sorted(messages(await take(stream, 4))) == ["after", "here"]
        # Nothing comes twice, and the sibling got nothing back from `mine` (it follows nothing).
        assert await anext(stream) is None
        assert messages(await sibling.after("f", None)) == ["before", "after", "here"]
        await stream.aclose()


async def test_a_worker_forwards_only_its_own_calls_never_what_it_received(tmp_path):
    async with hubs(tmp_path, 3) as (a, b, c):
        streams = [hub.follow("f", None, keepalive=0.05) for hub in (a, b, c)]
        for stream in streams:
            assert await anext(stream) is None  # following, linked in the background
        await asyncio.sleep(0.1)
        a.publish("f", "e1", result("console.log: from a"))
        for stream in streams:
            assert messages(await take(stream, 2)) == ["from a"]
        await asyncio.sleep(0.1)
        for stream in streams:
            assert await anext(stream) is None  # no echo through the third worker
            await stream.aclose()


async def test_nothing_crosses_while_no_stream_follows(tmp_path):
    async with hubs(tmp_path, 2) as (mine, sibling):
        stream = mine.follow("f", None, keepalive=0.05)
        assert await anext(stream) is None
        await asyncio.sleep(0.1)
        assert sibling._peers is not None
        assert sibling._peers.followed("f")
        await stream.aclose()
        await asyncio.sleep(0.1)
        assert not sibling._peers.followed("f")
        sibling.publish("f", "e1", result("console.log: unseen"))
        await asyncio.sleep(0.1)
        assert list(mine._channels["f"].events) == []
        # A later read still finds it in the sibling's buffer.
        assert messages(await mine.after("f", None)) == ["unseen"]


async def test_a_worker_started_after_the_stream_is_linked_at_the_next_keepalive(tmp_path):
    async with hubs(tmp_path, 1) as (mine,):
        stream = mine.follow("f", None, keepalive=0.05)
        assert await anext(stream) is None
        async with hubs(tmp_path, 1) as (late,):
            late.publish("f", "e1", result("console.log: late"))
            assert messages(await take(stream, 2)) == ["late"]
        await stream.aclose()


async def test_a_sibling_that_is_gone_is_skipped(tmp_path):
    async with hubs(tmp_path, 1) as (mine,):
        (tmp_path / "live-gone.sock").touch()  # left by a worker that died
        mine.publish("f", "e1", result("console.log: still"))
        assert messages(await mine.after("f", None)) == ["still"]


async def test_a_sibling_that_does_not_read_is_cut_off(tmp_path):
    async with hubs(tmp_path, 1) as (mine,):
        (path,) = tmp_path.glob("live-*.sock")
        _reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(b'{"name": "f", "since": 0, "live": true}\n')  # then never reads
        await asyncio.sleep(0.1)
        assert mine._peers is not None
        assert mine._peers.followed("f")
        line = "x" * 64 * 1024
        for n in range(100):  # 6.4 MB of console lines
            mine.publish("f", f"e{n}", result(f"console.log: {line}"))
            await asyncio.sleep(0)
        assert not mine._peers.followed("f")
        writer.close()


async def test_a_read_waits_at_most_two_seconds_for_a_sibling_that_does_not_answer(tmp_path):
    done = asyncio.Event()

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    silent = await asyncio.start_unix_server(never_answer, path=str(tmp_path / "live-silent.sock"))
    try:
        async with hubs(tmp_path, 1) as (mine,):
            mine.publish("f", "e1", result("console.log: mine"))
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert messages(await mine.after("f", None)) == ["mine"]
            assert 1.9 <= loop.time() - started < 10
    finally:
        done.set()
        silent.close()
        await asyncio.sleep(0.05)


async def test_a_sibling_sending_what_is_not_an_event_is_dropped(tmp_path):
    async def garbled(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'[1, "evil", {}]\n[2, "console", {"message": "after it"}]\n')
        await writer.drain()
        writer.close()

    odd = await asyncio.start_unix_server(garbled, path=str(tmp_path / "live-odd.sock"))
    try:
        async with hubs(tmp_path, 1) as (mine,):
            assert await mine.after("f", None) == []
    finally:
        odd.close()
