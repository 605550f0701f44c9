"""The step's call into V8 (flux_edge/runtime/step_call.py): answers, errors, a cut-short await
that stops the JavaScript, and nothing left registered behind any of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from py_mini_racer import JSEvalException, JSFunction, MiniRacer

from flux_edge.runtime.step_call import StepCall


@pytest.fixture
async def mr() -> AsyncIterator[MiniRacer]:
    """An isolate made in the test's running loop (mini-racer answers on it)."""
    racer = MiniRacer()
    yield racer
    racer.close()


def _caller(mr: MiniRacer, body: str) -> StepCall:
    function = mr.eval(f'(function () {{ "use strict"; {body} }})')
    assert isinstance(function, JSFunction)
    return StepCall(mr._ctx, function, mr.eval("[]"))


def _registered(mr: MiniRacer) -> dict[int, object]:
    """The result callbacks mini-racer holds for the isolate's calls in flight."""
    assert mr._ctx is not None
    return dict(mr._ctx._active_cancelable_mr_task_callbacks)


async def test_the_string_arrives_as_this_and_the_result_comes_back(mr: MiniRacer) -> None:
    call = _caller(mr, "return `got ${this.length}: ${this}`;")
    assert await call("héllo ✓") == "got 7: héllo ✓"
    # Many in a row: each one's callback is gone once it has answered.
    answers = [await call(str(n)) for n in range(200)]
    assert answers[-1] == "got 3: 199"
    assert _registered(mr) == {}


async def test_a_throw_is_a_js_error(mr: MiniRacer) -> None:
    call = _caller(mr, 'throw new TypeError("no " + this);')
    with pytest.raises(JSEvalException, match="TypeError: no step"):
        await call("step")
    assert _registered(mr) == {}


async def test_an_await_cut_short_stops_the_javascript(mr: MiniRacer) -> None:
    spin = _caller(mr, "for (;;) {}")
    quick = _caller(mr, "return this + '!';")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(spin("x"), 0.2)
    # The loop was terminated: the isolate answers the next call at once, and no callback
    # of the cancelled call is left registered.
    began = time.monotonic()
    assert await asyncio.wait_for(quick("back"), 5) == "back!"
    assert time.monotonic() - began < 2
    assert _registered(mr) == {}
