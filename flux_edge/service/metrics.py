"""Prometheus metrics of the runtime: invocations by function and status, durations, pool state.

Each app owns its registry (tests start many apps in one process). With several worker processes
each worker serves its own numbers; scrape with a per-process label or run one worker per scrape
target.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class InvocationMetrics:
    """Counters and histograms for calls, and gauges read from the isolate pool on scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._invocations = Counter(
            "flux_edge_invocations",
            "Function invocations by function and execution status.",
            ["function", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "flux_edge_invocation_duration_seconds",
            "Wall-clock duration of invocations.",
            ["function"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._isolates = Gauge(
            "flux_edge_isolates", "Live V8 isolates in this worker.", registry=self.registry
        )
        self._queue = Gauge(
            "flux_edge_queue_depth", "Calls waiting for an isolate slot.", registry=self.registry
        )
        # Label lookups cost more than the increments; keep the children per function.
        self._children: dict[tuple[str, str], tuple[MetricWrapperBase, MetricWrapperBase]] = {}

    def watch_pool(self, isolates: Callable[[], float], queue_depth: Callable[[], float]) -> None:
        """Read the pool's gauges at scrape time."""
        self._isolates.set_function(isolates)
        self._queue.set_function(queue_depth)

    def observe(self, function: str, status: str, seconds: float) -> None:
        """Count one finished invocation."""
        children = self._children.get((function, status))
        if children is None:
            children = (
                self._invocations.labels(function, status),
                self._duration.labels(function),
            )
            self._children[(function, status)] = children
        counter, histogram = children
        counter.inc()  # type: ignore[attr-defined]
        histogram.observe(seconds)  # type: ignore[attr-defined]

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
