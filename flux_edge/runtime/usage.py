"""What one call costs its isolate: JavaScript CPU time and the V8 heap left after it.

CPU time. mini-racer runs each isolate's JavaScript on one C++ thread of its own, which it starts
when the `MiniRacer` is made. That thread is found by comparing the process's thread list
(`/proc/self/task`) before and after; its CPU clock (Linux's per-thread CPU clock id, readable
from any thread of the process) is read before and after each step, about 0.5 µs a read. V8's
shared platform threads (concurrent GC marking, background compilation) are not counted: the
figure is the time JavaScript, and the GC work done on the isolate's own thread, took on a CPU.
Steps run one batch of calls: a step's CPU time goes to the calls it started, resumed or ended,
split evenly among them, so the figure is exact when an isolate runs one call at a time and an
even share when calls overlap on one isolate (docs/metrics.md).

Heap. mini-racer's `heap_stats()` is a synchronous round trip to the isolate's thread (0.4-1 ms:
it makes a new V8 context to write its JSON), too dear for every call; it is read after a step that
ended calls when the last reading is older than HEAP_SAMPLE_SECONDS, and a call reports the
isolate's latest reading. Calls spaced further apart than that (every call of a lightly used
function) get the heap right after they ended. The thread may still be running the microtask drain
that follows a step (a call spinning in `await null` keeps it for ever), and a blocking round trip
would then hold the event loop for as long, so a cancelable evaluation goes first and the reading
waits for a later step if it does not come back within HEAP_PROBE_SECONDS. A new isolate's first
reading is taken as soon as its code has loaded, so the first call after a deploy reports it
instead of waiting for one of its own (the cold start's path).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from py_mini_racer import MiniRacer

from flux_edge.runtime.cpus import thread_ids

# How old the isolate's heap reading may be before a step that ends calls takes a new one.
HEAP_SAMPLE_SECONDS = 0.5
# How long the isolate's thread may take to show it is free before a heap reading is put off.
HEAP_PROBE_SECONDS = 0.05

T = TypeVar("T")


def with_new_thread(make: Callable[[], T]) -> tuple[T, int | None]:
    """`make()` and the id of the one thread it started, or None if that is not clear (not
    Linux, or some other thread of the process started or ended meanwhile)."""
    if not sys.platform.startswith("linux"):
        return make(), None
    before = thread_ids()
    made = make()
    new = thread_ids() - before
    if len(new) != 1:
        return made, None
    return made, new.pop()


class ThreadClock:
    """The CPU clock of one thread of this process, in nanoseconds."""

    def __init__(self, tid: int) -> None:
        # Linux encodes a thread's CPU clock as a negative clock id: (~tid << 3) | CPUCLOCK_SCHED
        # (2) | CPUCLOCK_PERTHREAD (4); glibc's pthread_getcpuclockid builds the same number.
        self.clock_id = (~tid << 3) | 6
        self.tid = tid

    def read_ns(self) -> int | None:
        """The thread's CPU time so far; None once the thread has gone."""
        try:
            return time.clock_gettime_ns(self.clock_id)
        except OSError:
            return None


def isolate_clock(make: Callable[[], MiniRacer]) -> tuple[MiniRacer, ThreadClock | None]:
    """A new MiniRacer and the CPU clock of the thread that runs its JavaScript (None if unknown)."""
    racer, tid = with_new_thread(make)
    if tid is None:
        return racer, None
    clock = ThreadClock(tid)
    return (racer, clock) if clock.read_ns() is not None else (racer, None)


class HeapReading:
    """An isolate's latest used-heap reading, refreshed at most every HEAP_SAMPLE_SECONDS."""

    __slots__ = ("read_at", "used_bytes")

    def __init__(self) -> None:
        self.used_bytes: int | None = None
        self.read_at = -HEAP_SAMPLE_SECONDS

    def due(self, now: float) -> bool:
        """The last reading, or the last try (a busy thread is not probed at every step), is
        older than HEAP_SAMPLE_SECONDS."""
        return now - self.read_at >= HEAP_SAMPLE_SECONDS

    def read(self, racer: MiniRacer) -> None:
        """Read `racer`'s used heap (a blocking round trip: its thread must be free); the caller
        set `read_at` when it tried."""
        try:
            stats = racer.heap_stats()
        except Exception:  # a closing isolate: keep the last reading
            return
        used = stats.get("used_heap_size") if isinstance(stats, dict) else None
        if isinstance(used, int):
            self.used_bytes = used
