"""Prometheus metrics that add up across worker processes.

Each worker writes its numbers into its own files in one directory per server, in the file format
of prometheus-client's multiprocess mode (`<kind>_<pid>.db`, read with `MultiProcessCollector`), so
whichever worker answers a scrape reports the sum over all of them and counters never go back.
prometheus-client chooses multiprocess mode process-wide from an environment variable, while one
test process runs many apps; so the values are written here with the library's own `MmapedDict`,
into the directory this app was given, instead of through its global value class.

A call adds to its function's tallies (a count by outcome, a histogram bucket, a sum); they are
added to the values, about ten a call, when the values are written (`_fold`). With several
workers that is once per event-loop turn (see `_mark`), so calls that end together share the
work and the writes, and a scrape answered by another worker sees them as soon as this worker's
loop has finished the turn that ended them. A worker that is the whole server (one worker, or an
app made without `flux-edge serve`) has no other reader: it writes its values when it answers a
scrape and when it stops, not every turn (the per-turn writes were ~4 % of a call's server CPU;
the tallies took a call's metrics from 2.3 to 1.2 µs, docs/performance.md).

Counters and histograms of a worker that has exited stay (they are part of the totals); the gauges
(isolates, queue, calls in flight) are "live sums": a worker removes its gauge file when it stops. The directory is
made fresh by `flux-edge serve` at each start.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from flux_edge.runtime.types import InvokeResult

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric
    from prometheus_client.mmap_dict import MmapedDict

# Where `flux-edge serve` tells its workers the server's metrics directory.
METRICS_DIR_ENV = "FLUX_EDGE_SERVER_METRICS_DIR"

# The classic text format, which every Prometheus version accepts (`generate_latest` writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# JavaScript CPU time per call: from 50 µs (a trivial handler) to the 300 s timeout.
_CPU_BUCKETS: tuple[float, ...] = (0.00005, 0.0001, 0.00025, 0.0005, *_BUCKETS)

_INVOCATIONS = ("flux_edge_invocations", "Function invocations by function and execution status.")
_ERRORS = (
    "flux_edge_invocation_errors",
    "Failed invocations by function and kind (timeout, memory, exception).",
)
_DURATION = ("flux_edge_invocation_duration_seconds", "Wall-clock duration of invocations.")
_CPU = (
    "flux_edge_invocation_cpu_seconds",
    "JavaScript CPU time of invocations (the isolate thread's CPU clock; docs/metrics.md).",
)
_HEAP = (
    "flux_edge_isolate_heap_bytes",
    "Used V8 heap of the function's isolate after its latest call (largest over workers).",
)
_REFUSALS = (
    "flux_edge_rate_limited_requests",
    "Requests refused with 429 by the rate limits, by limit kind.",
)
_ISOLATES = ("flux_edge_isolates", "Live V8 isolates over all workers.")
_QUEUE = (
    "flux_edge_queue_depth",
    "Calls not answered yet by isolate hosts (in-process: waiting for an isolate slot), all workers.",
)
_IN_FLIGHT = (
    "flux_edge_invocations_in_flight",
    "Calls started and not yet ended (waitUntil work included), by function, over all workers.",
)
_PYTHON = (
    "flux_edge_python",
    "The Python the answering worker runs on, and how its libpython was built (docs/install.md).",
)


@cache
def _labels(buckets: tuple[float, ...]) -> tuple[str, ...]:
    """The `le` label of each bucket, as prometheus-client writes it (imported when first used)."""
    from prometheus_client.utils import floatToGoString

    return (*(floatToGoString(b) for b in buckets), "+Inf")  # type: ignore[no-untyped-call]


def metrics_root(data_dir: Path) -> Path:
    """Where the servers of `data_dir` keep their metrics files: in memory (/dev/shm, else the
    temp dir), named after the data dir.

    Never in the data dir itself: the files are written through shared memory maps on every call,
    and a page fault on a map of a file the disk can no longer write (read-only remount, immutable
    file, full disk) is a SIGBUS that ends the process, where a refused write is an error a
    request can answer.
    """
    shm = Path("/dev/shm")  # noqa: S108  (the name carries the uid; _own_dir checks the owner)
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return base / f"flux-edge-metrics-{os.getuid()}-{key}"


def _own_dir(path: Path) -> None:
    """Create `path` private to this user, refusing one another user (or a symlink) put there."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a directory of this user: refusing to use it")


def fresh_metrics_dir(data_dir: Path) -> Path:
    """An empty metrics directory for a server starting now (`<metrics root>/server-<pid>`).

    Directories left by servers that no longer run are removed; a live server's are kept.
    """
    root = metrics_root(data_dir)
    _own_dir(root)
    for old in root.iterdir():
        owner = old.name.rsplit("-", 1)[-1] if old.name.startswith("server-") else ""
        if owner.isdigit() and int(owner) != os.getpid() and _alive(int(owner)):
            continue
        shutil.rmtree(old, ignore_errors=True)
    mine = root / f"server-{os.getpid()}"
    mine.mkdir()
    return mine


def running_server_pids(data_dir: Path) -> list[int]:
    """The pids of `flux-edge serve` processes running on `data_dir` (from their metrics dirs)."""
    root = metrics_root(data_dir)
    if not root.is_dir():
        return []
    owners = (
        d.name.removeprefix("server-") for d in root.iterdir() if d.name.startswith("server-")
    )
    return sorted(int(p) for p in owners if p.isdigit() and _alive(int(p)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def error_kind(result: InvokeResult) -> str | None:
    """ "timeout", "memory" or "exception" for a failed call; None for a success."""
    if result.outcome == "success":
        return None
    if result.outcome == "timeout" or result.limit == "timeout":
        return "timeout"
    return "memory" if result.limit == "memory" else "exception"


@dataclass(slots=True)
class _Histogram:
    """One function's histogram: its bucket and sum slots, and what its calls have tallied since
    the values were last brought up to date."""

    bounds: tuple[float, ...]
    buckets: tuple[tuple[str, str], ...]  # a slot per bound, then +Inf
    sum: tuple[str, str]
    counts: list[int]  # by bucket, since the last fold
    total: float = 0.0  # since the last fold
    shown: bool = False  # its buckets are written (every one from the first call on)


@dataclass(slots=True)
class _Series:
    """One function's values, as (file kind, key) slots worked out once, and what its calls have
    tallied since the values were last brought up to date: a call only adds to the tallies."""

    name: str
    duration: _Histogram
    cpu: _Histogram
    heap: tuple[str, str]
    in_flight: tuple[str, str]
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Tallied by the calls since the last fold (`_fold`).
    counted: bool = False  # in `_counted`
    calls: dict[str, int] = field(default_factory=dict)  # by outcome
    failures: dict[str, int] = field(default_factory=dict)  # by error kind
    flying: int = 0  # started less ended
    flew: bool = False  # started or ended since the fold
    latest_heap: float | None = None


class InvocationMetrics:
    """Counters, duration histograms and pool gauges of one worker, shared through `directory`.

    prometheus-client (15-35 ms of imports) is loaded with the files, after a server's start:
    `open` makes the directory, and the files are made by `open_files`, which the HTTP API's
    build thread calls once the server answers, or else by the first `write`. Values counted
    before then wait in memory.
    """

    def __init__(self, directory: Path, *, shared: bool = True) -> None:
        self.directory = directory
        # Other workers read these files, so every loop turn's values are written at its end.
        self._shared = shared
        self._lock = threading.Lock()
        self._opened = False
        self._files: dict[str, MmapedDict] = {}
        self._values: dict[tuple[str, str], float] = {}  # (file kind, key) -> this worker's value
        self._dirty: set[tuple[str, str]] = set()  # values changed since the last write
        self._write_scheduled = False
        # (metric name, suffix, label values) -> its key in the files: `mmap_key` is a sorted JSON
        # dump (~3 µs), and a call writes about ten values (what `.labels()` children cache).
        self._keys: dict[tuple[str, str, tuple[str, ...]], str] = {}
        self._series: dict[str, _Series] = {}
        self._counted: list[_Series] = []  # series with calls not folded into the values yet
        self._gauges: tuple[tuple[str, str], tuple[str, str]] | None = None  # isolates, queue
        self._pid = os.getpid()
        self._isolates: Callable[[], float] = lambda: 0.0
        self._queue: Callable[[], float] = lambda: 0.0
        self.registry: CollectorRegistry | None = None  # made with the files

    def open(self) -> None:
        """Create the directory (in the serving process, at startup); the files come later."""
        _own_dir(self.directory.parent)
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self._pid = os.getpid()
        self._opened = True

    def open_files(self) -> None:
        """Create this worker's files, once `open` has made the directory (from any thread)."""
        from prometheus_client import CollectorRegistry
        from prometheus_client.mmap_dict import MmapedDict
        from prometheus_client.multiprocess import MultiProcessCollector

        with self._lock:
            if self._files or not self._opened:
                return
            for kind in ("counter", "histogram", "gauge_livesum", "gauge_livemax"):
                self._files[kind] = MmapedDict(str(self.directory / f"{kind}_{self._pid}.db"))  # type: ignore[no-untyped-call]
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry, path=str(self.directory))  # type: ignore[no-untyped-call]
            self.registry.register(_PythonCollector())

    def close(self) -> None:
        """Close this worker's files and withdraw its gauges from the totals."""
        from prometheus_client.multiprocess import mark_process_dead

        self.write()
        with self._lock:
            for file in self._files.values():
                file.close()  # type: ignore[no-untyped-call]
            self._files.clear()
            self._opened = False
        mark_process_dead(self._pid, str(self.directory))  # type: ignore[no-untyped-call]

    def watch_pool(self, isolates: Callable[[], float], queue_depth: Callable[[], float]) -> None:
        """Where the pool gauges are read (at each call and each scrape)."""
        self._isolates, self._queue = isolates, queue_depth

    def observe(self, function: str, result: InvokeResult, *, ended: bool = False) -> None:
        """Count one finished invocation: status, error kind, duration, CPU time and heap;
        `ended` also counts it as no longer in flight (what `ended` does, in the same write)."""
        series = self._series.get(function) or self._series_of(function)
        seconds = result.duration_ms / 1000
        outcome = result.outcome
        kind = error_kind(result)
        cpu_ms = result.cpu_time_ms
        heap = result.heap_used_bytes
        with self._lock:
            calls = series.calls
            calls[outcome] = calls.get(outcome, 0) + 1
            if kind is not None:
                failures = series.failures
                failures[kind] = failures.get(kind, 0) + 1
            duration = series.duration
            duration.counts[bisect_left(duration.bounds, seconds)] += 1
            duration.total += seconds
            if cpu_ms is not None:
                cpu, seconds = series.cpu, cpu_ms / 1000
                cpu.counts[bisect_left(cpu.bounds, seconds)] += 1
                cpu.total += seconds
            if ended:
                series.flying -= 1
                series.flew = True
            if heap is not None:
                series.latest_heap = float(heap)
            if not series.counted:
                series.counted = True
                self._counted.append(series)
        self._mark()

    def prepare(self, function: str) -> None:
        """Work out `function`'s value slots now (~0.3 ms for its 43 keys), after a deploy has
        been answered, instead of on its first call: the cold start's path."""
        self._series_of(function)

    def started(self, function: str) -> None:
        """Count one call of `function` as in flight (until `ended`)."""
        self._fly(function, 1)

    def ended(self, function: str) -> None:
        """Count one call of `function` as no longer in flight."""
        self._fly(function, -1)

    def _fly(self, function: str, change: int) -> None:
        series = self._series.get(function) or self._series_of(function)
        with self._lock:
            series.flying += change
            series.flew = True
            if not series.counted:
                series.counted = True
                self._counted.append(series)
        self._mark()

    def _fold(self) -> None:
        """Add what the calls have tallied to the values (the caller holds the lock): once per
        function and write, not once per call."""
        for series in self._counted:
            series.counted = False
            self._fold_counter(series, series.calls, series.outcomes, _INVOCATIONS, "status")
            self._fold_counter(series, series.failures, series.errors, _ERRORS, "kind")
            self._fold_histogram(series.duration)
            self._fold_histogram(series.cpu)
            if series.flew:  # at 0 when the calls started have ended in the same turn
                self._bump(series.in_flight, float(series.flying))
                series.flying = 0
                series.flew = False
            if series.latest_heap is not None:
                self._values[series.heap] = series.latest_heap
                self._dirty.add(series.heap)
                series.latest_heap = None
        self._counted.clear()

    def _fold_counter(
        self,
        series: _Series,
        tallies: dict[str, int],
        slots: dict[str, tuple[str, str]],
        metric: tuple[str, str],
        label: str,
    ) -> None:
        for value, count in tallies.items():
            slot = slots.get(value)
            if slot is None:
                slot = slots[value] = self._slot(
                    "counter", metric, "_total", ("function", label), (series.name, value)
                )
            self._bump(slot, float(count))
        tallies.clear()

    def _fold_histogram(self, histogram: _Histogram) -> None:
        counts = histogram.counts
        if not any(counts):
            return
        if not histogram.shown:
            histogram.shown = True
            self._reveal(histogram.buckets)
        for index, count in enumerate(counts):
            if count:
                self._bump(histogram.buckets[index], float(count))
                counts[index] = 0
        self._bump(histogram.sum, histogram.total)
        histogram.total = 0.0

    def _series_of(self, function: str) -> _Series:
        series = self._series.get(function)
        if series is None:
            one = ("function",)
            named = (function,)
            series = self._series[function] = _Series(
                name=function,
                duration=self._histogram(_DURATION, _BUCKETS, function),
                cpu=self._histogram(_CPU, _CPU_BUCKETS, function),
                heap=self._slot("gauge_livemax", _HEAP, "", one, named),
                in_flight=self._slot("gauge_livesum", _IN_FLIGHT, "", one, named),
            )
        return series

    def _histogram(
        self, metric: tuple[str, str], bounds: tuple[float, ...], function: str
    ) -> _Histogram:
        by_le = ("function", "le")
        return _Histogram(
            bounds,
            tuple(
                self._slot("histogram", metric, "_bucket", by_le, (function, le))
                for le in _labels(bounds)
            ),
            self._slot("histogram", metric, "_sum", ("function",), (function,)),
            [0] * (len(bounds) + 1),
        )

    def _slot(
        self,
        kind: str,
        metric: tuple[str, str],
        suffix: str,
        label_names: tuple[str, ...],
        label_values: tuple[str, ...],
    ) -> tuple[str, str]:
        """(file kind, key in the files) of one value of `metric`."""
        name, help_text = metric
        # A metric's label names are fixed, so the values (and the suffix) tell its keys apart.
        memo = (name, suffix, label_values)
        key = self._keys.get(memo)
        if key is None:
            from prometheus_client.mmap_dict import mmap_key

            key = mmap_key(name, name + suffix, list(label_names), list(label_values), help_text)
            self._keys[memo] = key
        return (kind, key)

    def _add(self, slot: tuple[str, str], amount: float) -> None:
        with self._lock:
            self._bump(slot, amount)
        self._mark()

    def _bump(self, slot: tuple[str, str], amount: float) -> None:
        """Add to a value (the caller holds the lock and marks)."""
        self._values[slot] = self._values.get(slot, 0.0) + amount
        self._dirty.add(slot)

    def _reveal(self, slots: tuple[tuple[str, str], ...]) -> None:
        """Have values appear at 0 until counted (the caller holds the lock and marks)."""
        for slot in slots:
            self._values.setdefault(slot, 0.0)
            self._dirty.add(slot)

    def refused(self, limit_kind: str) -> None:
        """Count one request refused by a rate limit (`write`, `invoke`, ...)."""
        self._add(self._slot("counter", _REFUSALS, "_total", ("limit",), (limit_kind,)), 1.0)

    def render(self) -> bytes:
        """The text exposition of the totals over all workers of this server."""
        from prometheus_client import generate_latest

        self.write()
        assert self.registry is not None, "render() before open()"
        return generate_latest(self.registry)

    def write(self) -> None:
        """Write the changed values, and the pool gauges, into this worker's files now (making the
        files first if they are not yet made)."""
        if not self._files:
            self.open_files()
        if self._gauges is None:
            self._gauges = (
                self._slot("gauge_livesum", _ISOLATES, "", (), ()),
                self._slot("gauge_livesum", _QUEUE, "", (), ()),
            )
        isolates, queue = self._gauges
        gauges = ((isolates, float(self._isolates())), (queue, float(self._queue())))
        with self._lock:
            self._fold()
            for slot, value in gauges:
                if self._values.get(slot) != value:
                    self._values[slot] = value
                    self._dirty.add(slot)
            self._write_scheduled = False
            if not self._files:
                return  # not opened, or closed at shutdown: the values wait
            dirty, self._dirty = self._dirty, set()
            for kind, key in dirty:
                self._files[kind].write_value(key, self._values[(kind, key)], 0.0)  # type: ignore[no-untyped-call]

    def _mark(self) -> None:
        """Have the changed values written at the end of this loop turn (at once off the loop),
        if other workers read them; else they wait for the next scrape (or the close)."""
        if self._write_scheduled or not self._shared:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.write()
            return
        self._write_scheduled = True
        loop.call_soon(self.write)


class _PythonCollector:
    """`flux_edge_python_info`: the answering worker's Python, for `flux-edge bench`, which may run
    elsewhere. Every worker of a server runs the same one, so one worker's answer is the server's.
    The build is read once (boot.py reads it in the HTTP API's build thread, off the event loop)."""

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import InfoMetricFamily

        from flux_edge.interpreter import as_labels, running_interpreter

        yield InfoMetricFamily(*_PYTHON, value=as_labels(running_interpreter()))
