"""Where an isolate host's threads run: all on one CPU, unless their JavaScript is CPU-heavy.

Work crosses between a host's event loop thread and each isolate's V8 thread twice per step. A
hand-off to a thread that waits on an idle CPU wakes that CPU, which costs far more than a switch
on the same CPU: a thread ping-pong on this project's 2-core VM took 86-102 µs of wall time and
54-61 µs of CPU per round trip across CPUs and 14 µs on one (benchmarks/bench_handoff.py). So
when the server gives a host a function it also gives it a CPU, the one with the fewest such hosts,
and the host pins every thread it has (its event loop, its isolates' V8 threads, V8's workers) and
will start to it. An isolate whose steps take long is CPU-bound: hand-offs are a small share of
its time and it needs a CPU more (the pool starts more isolates for it, to run in parallel), so its
V8 thread is let go to every CPU; so is a step that runs long now, found at the server's pings.

A `flux-edge serve` worker whose workers are at most half the CPUs takes a CPU of its own for all
its threads, and its hosts go on the others (as many CPUs as the workers' at least: a call costs
its host about as much CPU as its worker). Left to the kernel, the server's event loop (and the
client's) was woken onto the CPU of the host that had just answered it, took turns there with
that host's threads, and left the other CPU a quarter idle (`perf sched`, docs/performance.md,
"The twenty-third pass"). docs/runtime.md, "CPU placement".

Linux only (elsewhere, on one CPU, and on CPUs of different capacities, nothing is pinned).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

# Steps this long (smoothed JavaScript time) are CPU-bound: trivial calls batch best on one
# isolate on the host's CPU, CPU-heavy ones need parallel isolates on any CPU.
HEAVY_STEP_SECONDS = 0.004

# Every CPU this process may use, once it has pinned its threads to one of them.
_released_to: frozenset[int] | None = None
_TASKS = "/proc/self/task"
_CPU_SYSFS = Path("/sys/devices/system/cpu")


def thread_ids() -> set[int]:
    """The ids of this process's threads now (empty where /proc is not there)."""
    try:
        return {int(tid) for tid in os.listdir(_TASKS)}
    except OSError:
        return set()


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (all of them, after `pin_process` put its threads on one),
    or [] where that cannot be set (not Linux)."""
    if _released_to is not None:
        return sorted(_released_to)
    if not hasattr(os, "sched_getaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def least_used(
    taken: Iterable[int | None], rank: int = 0, among: Sequence[int] | None = None
) -> int | None:
    """The CPU of `among` (default: every usable CPU) the fewest of `taken` (the CPUs of this
    process's live hosts) are on, ties going to the `rank`-th CPU and the ones after it; None if
    there is nothing to choose (one CPU, or not Linux). Server workers place their hosts without
    knowing of each other's: each starting from its own rank spreads them as one process would.
    None too on CPUs of different capacities (see `alike`): a host pinned to a little core would
    stay there however busy it is."""
    usable = usable_cpus()
    if len(usable) < 2 or not alike(usable):
        return None
    cpus = list(among) if among is not None else usable
    if not cpus:
        return None
    counts = Counter(cpu for cpu in taken if cpu is not None)
    index = min(range(len(cpus)), key=lambda i: (counts[cpus[i]], (i - rank) % len(cpus)))
    return cpus[index]


def split_for_server(workers: int, rank: int) -> tuple[int, list[int]] | None:
    """The CPU server worker `rank` of `workers` takes for itself and the CPUs left for the
    isolate hosts; None when the workers are more than half the CPUs (then the hosts would get
    fewer CPUs than the workers, so they all share every CPU, as the kernel places them), or when
    the CPUs are not all alike (see `alike`)."""
    cpus = usable_cpus()
    if len(cpus) < 2 or 2 * workers > len(cpus) or not alike(cpus):
        return None
    return cpus[rank % workers], cpus[workers:]


def alike(cpus: Sequence[int]) -> bool:
    """Whether `cpus` are of one capacity. ARM's big.LITTLE devices number their little cores
    first: a worker pinned by rank would get a little one, where the kernel, left alone, moves a
    busy thread to a big one. CPUs that do not report a capacity count as alike."""
    capacities = set()
    for cpu in cpus:
        with contextlib.suppress(OSError):
            capacities.add((_CPU_SYSFS / f"cpu{cpu}" / "cpu_capacity").read_text().strip())
    return len(capacities) <= 1


def worker_rank(not_workers: Iterable[int | None] = ()) -> int:
    """This process's place among its siblings when a process supervisor started it (a server
    worker: uvicorn starts them with multiprocessing), by process id, leaving out the siblings
    `not_workers`; 0 for a lone process."""
    # A process multiprocessing started has it imported; importing it here would cost the
    # server's start ~2 ms for nothing.
    multiprocessing = sys.modules.get("multiprocessing")
    parent = multiprocessing.parent_process() if multiprocessing is not None else None
    if parent is None or parent.pid is None:
        return 0
    try:
        children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
    except OSError:
        return 0
    siblings = sorted(set(map(int, children)) - set(not_workers))
    return siblings.index(os.getpid()) if os.getpid() in siblings else 0


def pin_process(cpu: int) -> bool:
    """Run every thread of this process on `cpu`, and the threads they start from now on; False
    if that CPU is not one this process may use (then nothing changes)."""
    allowed = frozenset(usable_cpus())
    if cpu not in allowed or len(allowed) < 2:
        return False
    global _released_to
    _released_to = allowed
    for tid in thread_ids():
        with contextlib.suppress(OSError):  # a thread that has just ended
            os.sched_setaffinity(tid, {cpu})
    return True


def release(task: int) -> None:
    """Let `task` run on every CPU this process could use before `pin_process`: a thread of this
    process, or a process it has just started (a child inherits the pin of the thread that
    started it)."""
    if _released_to is not None:
        with contextlib.suppress(OSError):  # it has ended
            os.sched_setaffinity(task, _released_to)
