"""How a call's answer reaches whoever waits for it: its caller (a future), its recorder
(`on_complete`) and, for a call that answered before its work ended, the end of that work.
Shared by in-process isolates and isolate hosts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from flux_edge.runtime.results import after_response
from flux_edge.runtime.types import InvokeResult, OnComplete

T = TypeVar("T")


def deliver_final(
    result: InvokeResult,
    *,
    response: InvokeResult | None,
    on_complete: OnComplete | None,
    future: asyncio.Future[Any],
    completed: asyncio.Future[None] | None,
) -> None:
    """A call has ended with `result`: record it (merged into `response` if the call answered
    earlier), answer the caller if it still waits, and mark the work after the response done."""
    if response is not None:
        result = after_response(response, result)
    if on_complete is not None:
        on_complete(result)
    if not future.done():
        future.set_result(result)
    if completed is not None and not completed.done():
        completed.set_result(None)


def answer_later(
    answer: asyncio.Future[T], work: Coroutine[Any, Any, T], tasks: set[asyncio.Task[None]]
) -> None:
    """Run `work` (a call run again elsewhere) and pass its result or error on to `answer`, which
    its caller awaits; the task is kept in `tasks` until it ends."""

    async def run() -> None:
        try:
            result = await work
        except Exception as error:
            if not answer.done():
                answer.set_exception(error)
        else:
            if not answer.done():
                answer.set_result(result)

    task = asyncio.get_running_loop().create_task(run())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
