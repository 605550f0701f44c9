"""performance.now() and performance.timeOrigin."""

from __future__ import annotations

import asyncio
import time

from .conftest import WebIsolate


async def test_time_origin_is_the_wall_clock_when_the_prelude_ran(web: WebIsolate) -> None:
    origin = web.eval("performance.timeOrigin")
    assert abs(origin - time.time() * 1000) < 60_000


async def test_now_counts_milliseconds_from_the_time_origin(web: WebIsolate) -> None:
    now, origin = web.json("[performance.now(), performance.timeOrigin]")
    assert abs((origin + now) - time.time() * 1000) < 1_000


async def test_now_never_goes_backwards(web: WebIsolate) -> None:
    readings = web.json("Array.from({length: 2000}, () => performance.now())")
    assert readings == sorted(readings)


async def test_now_advances_with_time(web: WebIsolate) -> None:
    before = web.eval("performance.now()")
    await asyncio.sleep(0.03)
    assert web.eval("performance.now()") > before


async def test_to_json_reports_the_time_origin(web: WebIsolate) -> None:
    got = web.json(
        "[performance.toJSON().timeOrigin === performance.timeOrigin, String(performance)]"
    )
    assert got == [True, "[object Performance]"]
