"""The step's call into V8: mini-racer's cancelable `call_function`, with less Python per call.

Every step of every isolate goes through here, and the isolate host's event loop spends more of
its time per call on the crossing's Python than on anything else it does for a call. mini-racer's
own path (`Context._run_cancelable_mr_task`, mini-racer 0.14) wraps each handle in an object,
registers the result's callback through a context manager and cancels the task after it has
completed; this makes the same C calls without those layers. Measured on one CPU, as a host runs:
a trivial step cost the calling thread 17.7 µs of CPU that way and 13.9 µs this way
(docs/performance.md, "The nineteenth pass").

The task is cancelled only when the await is cut short (the step's deadline): a task that has run
leaves mini-racer's registry by itself, and cancelling it then does nothing. The `this` value is
freed once the call has returned or been cancelled, as mini-racer frees it when its handle object
goes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from py_mini_racer import JSEvalException, JSFunction
from py_mini_racer._objects import _MiniRacerTypes

_UTF8 = _MiniRacerTypes.str_utf8


class StepCall:
    """Calls one function with a string as `this` and fixed arguments, cancelably."""

    __slots__ = ("_arguments", "_callbacks", "_context", "_dll", "_function", "_ids", "_raw")

    def __init__(self, context: Any, function: JSFunction, arguments: object) -> None:
        self._context = context
        self._dll = context._dll
        self._raw = context._ctx
        # The handles stay alive with the objects kept here.
        self._function = context._python_to_value_handle(function)
        self._arguments = context._python_to_value_handle(arguments)
        self._callbacks: dict[int, Any] = context._active_cancelable_mr_task_callbacks
        self._ids = context._next_async_callback_id

    async def __call__(self, this: str) -> object:
        """The function's result; JSEvalException if it threw or was terminated."""
        context, dll, raw = self._context, self._dll, self._raw
        encoded = this.encode()
        this_handle = dll.mr_alloc_string_val(raw, encoded, len(encoded), _UTF8)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()

        def answered(value_handle: Any) -> None:
            if future.done():
                return
            try:
                future.set_result(context._value_handle_to_python(value_handle))
            except JSEvalException as error:
                future.set_exception(error)

        callback_id = next(self._ids)
        self._callbacks[callback_id] = answered
        try:
            task_id = dll.mr_call_function(
                raw, self._function.raw, this_handle, self._arguments.raw, callback_id
            )
            try:
                return await future
            except BaseException:
                dll.mr_cancel_task(raw, task_id)
                raise
        finally:
            del self._callbacks[callback_id]
            dll.mr_free_value(raw, this_handle)
