"""One Python thread state for an isolate's thread, kept across its callbacks.

mini-racer reports every result and notification through a ctypes callback on the isolate's own
thread, which Python did not start. For such a thread ctypes makes a thread state per callback
and deletes it after, and a new thread state's first frame maps a fresh 16 KiB stack chunk that
the deletion unmaps: an mmap, an munmap and a TLB shoot-down across the process's CPUs on every
step. Measured on the project's VM (docs/performance.md, "The seventh pass"): 47-77 µs of the
isolate thread's CPU per round trip with it, 20-33 µs without.

The first callback takes one more reference on its thread state (`PyGILState_Ensure`, the
matching release held back), so every later callback finds it and only takes the GIL. `give_back`
asks the next callback on that thread to drop the reference, and ctypes then deletes the state as
it did before; an engine closed without that last round trip (JavaScript still running) leaves
~4 KB behind.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

_ensure = ctypes.pythonapi.PyGILState_Ensure
_ensure.restype = ctypes.c_int
_release = ctypes.pythonapi.PyGILState_Release
_release.argtypes = (ctypes.c_int,)
_release.restype = None
_LOCKED = 0  # PyGILState_LOCKED: what Ensure returned for the reference kept (the GIL was held)

_HOOK = "handle_callback_from_v8"  # mini-racer's per-callback entry, looked up per call


class KeptThreadState:
    """Installed on a mini-racer context: its callbacks keep their thread's state."""

    __slots__ = ("_deliver", "_giving_back", "_loop", "_thread")

    def __init__(self, context: Any) -> None:
        self._deliver = getattr(context, _HOOK)
        self._loop = context.event_loop
        self._thread: int | None = None  # the native id of the thread holding the reference
        self._giving_back = False
        # mini-racer's Context is a frozen dataclass; the instance attribute shadows the method.
        object.__setattr__(context, _HOOK, self._on_callback)

    @property
    def kept(self) -> bool:
        """A thread holds the extra reference (it is given back by a later callback)."""
        return self._thread is not None

    def give_back(self) -> None:
        """Have the next callback on the thread drop the reference, and keep none after."""
        self._giving_back = True

    def _on_callback(self, callback_id: int, raw_handle: Any) -> None:
        thread = self._thread
        if thread is None:
            if not self._giving_back:
                _ensure()
                self._thread = threading.get_native_id()
        elif self._giving_back and thread == threading.get_native_id():
            self._thread = None
            _release(_LOCKED)  # ctypes' own release, after this callback, deletes the state
        try:
            self._deliver(callback_id, raw_handle)
        except RuntimeError:
            # The loop that awaited it is closed (a process or test shutting down, the engine's
            # last round trip still under way): nobody is left to take the answer.
            if not self._loop.is_closed():
                raise
