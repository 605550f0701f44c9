"""`flux-edge bench NAME`: a bounded load run of a deployed function against a running server.

Per concurrency level it runs `concurrency` client loops for `duration` seconds, each sending one
invoke request after another (closed loop), and reports throughput, latency percentiles, errors by
status, the calls the server counted, and from `/metrics` the JavaScript CPU time per call, the
isolate's heap and how many isolates ran (the most any sample saw, over all functions). Before the
levels it measures the cold start: the function's version is bumped (a PUT that rewrites its own
`timeout_seconds`, so its behaviour is unchanged) and the first call after it is timed, as a
user's first call after a deploy.
flux_edge/client/bench_advice.py reads the figures and names the setting that limits them; the
server's Python, which it may name too, comes from `/metrics` (`flux_edge_python_info`), since the
bench may run on another machine or Python than the server.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from flux_edge.client.bench_advice import diagnose
from flux_edge.client.config import ClientError
from flux_edge.client.load import post_target, run_loops
from flux_edge.interpreter import InterpreterBuild, describe, from_labels, interpreter_build

Progress = Callable[[str], None]
# How often a level samples /metrics (live isolates) and redraws the progress line.
SAMPLE_SECONDS = 1.0


class BenchError(ClientError):
    """The run could not be made (no such function, server unreachable, bad credential)."""


@dataclass
class BenchOptions:
    """What to run: the function, the server, the levels and the request each loop sends."""

    name: str
    url: str
    token: str | None
    concurrency: list[int] = field(default_factory=lambda: [1, 4, 16])
    duration: float = 10.0
    body: bytes = b"{}"
    cold_starts: int = 3
    metrics_token: str | None = None


@dataclass
class _Metrics:
    """The series of one /metrics scrape that the bench reads."""

    available: bool = False
    calls: float = 0.0  # flux_edge_invocations_total of the function, all statuses
    cpu_sum: float = 0.0
    cpu_count: float = 0.0
    heap: float | None = None
    isolates: float = 0.0
    refused: float = 0.0
    python: InterpreterBuild | None = None  # the server's, if it says


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def parse_metrics(text: str, function: str) -> _Metrics:
    """The bench's series out of a Prometheus exposition."""
    found = _Metrics(available=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            mine = sample.labels.get("function") == function
            if sample.name == "flux_edge_invocations_total" and mine:
                found.calls += sample.value
            elif sample.name == "flux_edge_invocation_cpu_seconds_sum" and mine:
                found.cpu_sum = sample.value
            elif sample.name == "flux_edge_invocation_cpu_seconds_count" and mine:
                found.cpu_count = sample.value
            elif sample.name == "flux_edge_isolate_heap_bytes" and mine:
                found.heap = sample.value
            elif sample.name == "flux_edge_isolates":
                found.isolates = sample.value
            elif sample.name == "flux_edge_rate_limited_requests_total":
                found.refused += sample.value
            elif sample.name == "flux_edge_python_info":
                found.python = from_labels(sample.labels)
    return found


class _Server:
    """The management, invoke and metrics calls the bench makes."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        auth = {"Authorization": f"Bearer {options.token}"} if options.token else {}
        self.invoke_headers = {"Content-Type": "application/json", **auth}
        self.invoke_path = f"/api/v1/functions/{options.name}/invoke"
        self.admin = httpx.AsyncClient(base_url=options.url, headers=auth, timeout=30)
        metrics_auth = options.metrics_token and {
            "Authorization": f"Bearer {options.metrics_token}"
        }
        self.metrics_client = httpx.AsyncClient(
            base_url=options.url, headers=metrics_auth or {}, timeout=10
        )

    async def close(self) -> None:
        await self.admin.aclose()
        await self.metrics_client.aclose()

    async def function(self) -> dict[str, Any]:
        try:
            response = await self.admin.get(f"/api/v1/functions/{self.options.name}")
        except httpx.HTTPError as exc:
            raise BenchError(f"cannot reach {self.options.url}: {exc}") from None
        if response.status_code == 404:
            raise BenchError(f"no function named {self.options.name!r} on {self.options.url}")
        if response.status_code in (401, 403):
            raise BenchError(
                "the server refused the credential: set FLUX_EDGE_TOKEN to a manage token"
            )
        if response.status_code != 200:
            raise BenchError(f"GET the function answered {response.status_code}: {response.text}")
        found: dict[str, Any] = response.json()
        if not found.get("enabled"):
            raise BenchError(f"{self.options.name!r} is disabled: enable it first")
        return found

    async def metrics(self) -> _Metrics:
        try:
            response = await self.metrics_client.get("/metrics")
        except httpx.HTTPError:
            return _Metrics()
        if response.status_code != 200:
            return _Metrics()
        return parse_metrics(response.text, self.options.name)

    async def bump_version(self, timeout_seconds: int) -> None:
        path = f"/api/v1/functions/{self.options.name}"
        response = await self.admin.put(path, json={"timeout_seconds": timeout_seconds})
        if response.status_code != 200:
            raise BenchError(f"the version bump (PUT) answered {response.status_code}")


async def _cold_starts(server: _Server, function: dict[str, Any], runs: int) -> dict[str, Any]:
    firsts: list[float] = []
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=server.options.url, timeout=60) as client:
        for _ in range(runs):
            await server.bump_version(int(function["timeout_seconds"]))
            started = time.perf_counter()
            response = await client.post(
                server.invoke_path, content=server.options.body, headers=server.invoke_headers
            )
            firsts.append((time.perf_counter() - started) * 1000)
            statuses.append(response.status_code)
    return cold_report(firsts, statuses)


def cold_report(firsts: list[float], statuses: Sequence[int | str]) -> dict[str, Any]:
    """The cold starts' figures: each first call's milliseconds and status, and their median."""
    return {
        "runs": len(firsts),
        "first_call_ms": [round(ms, 2) for ms in firsts],
        "median_ms": round(statistics.median(firsts), 2) if firsts else None,
        "statuses": list(statuses),
    }


class LevelTally:
    """A level as it runs: each answer's status and latency; every SAMPLE_SECONDS the most
    isolates seen (from `isolates`) and a progress line."""

    def __init__(
        self,
        concurrency: int,
        end: float,
        isolates: Callable[[], Awaitable[float]],
        progress: Progress | None,
        noun: str,
    ) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.isolates_max = 0.0
        self._concurrency = concurrency
        self._end = end
        self._isolates = isolates
        self._progress = progress
        self._noun = noun

    def answered(self, status: str, seconds: float) -> None:
        """One answer (or failure, by name) and how long it took."""
        self.statuses[status] += 1
        self.latencies.append(seconds)

    async def run(self, loops: Awaitable[object]) -> None:
        """Await the level's loops, sampling meanwhile."""
        sampler = asyncio.create_task(self._sample())
        try:
            await loops
        finally:
            sampler.cancel()

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            self.isolates_max = max(self.isolates_max, await self._isolates())
            if self._progress is not None:
                left = max(0.0, self._end - time.monotonic())
                failed = sum(n for s, n in self.statuses.items() if s != "200")
                self._progress(
                    f"c={self._concurrency}: {len(self.latencies)} {self._noun}, {failed} errors, "
                    f"{left:.0f} s left"
                )


async def _level(
    server: _Server, concurrency: int, duration: float, progress: Progress | None
) -> dict[str, Any]:
    options = server.options
    before = await server.metrics()
    target = post_target(options.url, server.invoke_path, server.invoke_headers, options.body)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    end = time.monotonic() + duration

    async def isolates() -> float:
        return (await server.metrics()).isolates

    tally = LevelTally(concurrency, end, isolates, progress, "requests")
    await tally.run(run_loops(target, concurrency, end, tally.answered))
    wall = time.perf_counter() - wall_started
    after = await server.metrics()
    calls = after.cpu_count - before.cpu_count
    return level_report(
        concurrency,
        wall,
        tally.latencies,
        tally.statuses,
        server_calls=int(after.calls - before.calls) if after.available else None,
        rate_limited=int(after.refused - before.refused) if after.available else None,
        cpu_ms=(after.cpu_sum - before.cpu_sum) / calls * 1000 if calls > 0 else None,
        heap_bytes=int(after.heap) if after.heap is not None else None,
        isolates_max=int(max(tally.isolates_max, after.isolates)) if after.available else None,
        client_cpu=(time.process_time() - cpu_started) / wall,
    )


def level_report(
    concurrency: int,
    wall: float,
    latencies: list[float],
    statuses: Counter[str],
    *,
    server_calls: int | None,
    rate_limited: int | None,
    cpu_ms: float | None,
    heap_bytes: int | None,
    isolates_max: int | None,
    client_cpu: float,
) -> dict[str, Any]:
    """One level's figures, as the report and the advice read them."""
    ordered = sorted(latencies)
    return {
        "concurrency": concurrency,
        "seconds": round(wall, 3),
        "requests": len(latencies),
        "ok": statuses.get("200", 0),
        "errors": {status: n for status, n in sorted(statuses.items()) if status != "200"},
        "rps": round(len(latencies) / wall, 1),
        "latency_ms": {
            name: round(percentile(ordered, q) * 1000, 3)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "server_calls": server_calls,
        "rate_limited": rate_limited,
        "cpu_ms_per_call": round(cpu_ms, 4) if cpu_ms is not None else None,
        "heap_bytes": heap_bytes,
        "isolates_max": isolates_max,
        "client_cpu": round(client_cpu, 3),
    }


async def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run the cold starts and every level; the report as a JSON-ready dict."""
    server = _Server(options)
    try:
        function = await server.function()
        version_before = function["version"]
        if progress is not None and options.cold_starts:
            progress(f"cold start: {options.cold_starts} version bumps and first calls")
        cold = await _cold_starts(server, function, options.cold_starts)
        levels = []
        for concurrency in options.concurrency:
            levels.append(await _level(server, concurrency, options.duration, progress))
        last = await server.metrics()
    finally:
        await server.close()
    report: dict[str, Any] = {
        "function": options.name,
        "url": options.url,
        "version_before": version_before,
        "version_after": version_before + options.cold_starts,
        "duration_s": options.duration,
        "metrics_available": last.available,
        "cold_start": cold,
        "levels": levels,
        "requests": cold["runs"] + sum(level["requests"] for level in levels),
    }
    # The advice names a Python only when it is the server's.
    return with_verdict(report, last.python, "server" if last.python is not None else "bench")


def with_verdict(
    report: dict[str, Any], python: InterpreterBuild | None, python_of: str
) -> dict[str, Any]:
    """`report` with the Python named (`python`, else this process's) and the limit's verdict,
    which names `python` when it is given."""
    report["interpreter"] = asdict(python or interpreter_build())
    report["interpreter_of"] = python_of
    report["limit"] = diagnose(
        report["levels"], interpreter=python, in_process=python_of == "in-process"
    )
    return report


_OF = {
    "server": ", the server's",
    "bench": ", this bench's own: the server's /metrics did not say which it runs on",
    "in-process": ", this process's, which ran the calls",
}


def format_report(report: dict[str, Any]) -> str:
    """The report as a table for a terminal."""
    cold = report["cold_start"]
    in_process = report["url"] is None
    where = f"in process ({report['in_process']})" if in_process else f"at {report['url']}"
    lines = [
        f"flux-edge bench {report['function']} {where}",
        f"python: {describe(InterpreterBuild(**report['interpreter']))}"
        + _OF[report["interpreter_of"]],
    ]
    if cold["runs"]:
        after = "of a new version" if in_process else "after a version bump"
        lines.append(
            f"cold start (first call {after}, {cold['runs']} runs): median {cold['median_ms']} ms"
        )
    lines.append(
        f"{'conc':>5} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'cpu ms/call':>11} {'heap MB':>8} {'isolates':>8}"
    )
    for level in report["levels"]:
        latency = level["latency_ms"]
        cpu = level["cpu_ms_per_call"]
        heap = level["heap_bytes"]
        lines.append(
            f"{level['concurrency']:>5} {level['rps']:>9,.1f} {latency['p50']:>8.2f} "
            f"{latency['p90']:>8.2f} {latency['p99']:>8.2f} {sum(level['errors'].values()):>7} "
            f"{'-' if cpu is None else f'{cpu:.3f}':>11} "
            f"{'-' if heap is None else f'{heap / 2**20:.1f}':>8} "
            f"{_dash(level['isolates_max']):>8}"
        )
    limit = report["limit"]
    lines.append(f"limited by: {limit['setting']} ({limit['reason']})")
    lines.append(f"suggestion: {limit['suggestion']}")
    return "\n".join(lines)


def _dash(value: object) -> str:
    return "-" if value is None else str(value)
