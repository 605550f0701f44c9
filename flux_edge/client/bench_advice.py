"""Which setting limits a `flux-edge bench` run, and what to try: rules over its measured levels.

The rules read the level with the best throughput (the knee) and, in this order:
1. requests refused with 429: the invoke rate limit;
2. 503 answers (the function's wait queue was full, or the pool was): the queue, and behind it
   the isolates per function or the concurrency per isolate;
3. a bench client that used a whole core: the client itself (its figures are a floor);
4. isolates whose threads ran JavaScript most of the time (req/s x CPU per call over the isolates
   that can run at once, min(isolates, cores), >= 0.6):
   isolates per function when the function has as many as it may, else the machine's CPU;
5. more calls in flight per isolate than it may take: concurrency per isolate;
6. otherwise JavaScript leaves its isolates mostly idle and the time goes to the server's own
   request handling (HTTP, routing, records) in Python: workers, one per two cores, and a Python
   built with optimizations when this one calls its own functions through the PLT.
A run in process (`--in-process`: no server, the runtime called by the bench) reads rules 3 and 6
as the runtime's own: its calling event loop (what one worker's does for a call, HTTP aside), and
the isolate hosts' Python around the JavaScript.
The caps come from this shell's FLUX_EDGE_* settings, which are the server's when both run in
the same environment; the report says which values it assumed.
"""

from __future__ import annotations

import os
from typing import Any

from flux_edge.interpreter import InterpreterBuild
from flux_edge.machine import memory_mb, workers_for
from flux_edge.settings import Settings, load_settings

BUSY_ISOLATE = 0.6  # share of the time an isolate's thread runs JavaScript that counts as busy
BUSY_CLIENT = 0.9  # share of one core the bench client may use before it is the limit


def assumed_settings() -> Settings:
    """The server settings the advice assumes: this environment's, or the defaults."""
    try:
        return load_settings()
    except Exception:  # a bad FLUX_EDGE_* value here says nothing about the server's
        return Settings()


def _knee(levels: list[dict[str, Any]]) -> dict[str, Any]:
    return max(levels, key=lambda level: level["rps"])


def _scaling(levels: list[dict[str, Any]]) -> str:
    if len(levels) < 2:
        return ""
    first, last = levels[0], levels[-1]
    if first["rps"] <= 0:
        return ""
    return (
        f"; req/s x{last['rps'] / first['rps']:.2f} from c={first['concurrency']} "
        f"to c={last['concurrency']}"
    )


def diagnose(
    levels: list[dict[str, Any]],
    settings: Settings | None = None,
    interpreter: InterpreterBuild | None = None,
    *,
    in_process: bool = False,
) -> dict[str, Any]:
    """`{"setting", "reason", "suggestion", "assumed"}` for the measured `levels`; `interpreter`,
    the Python the calls' Python work ran on, for the last rule; `in_process`, a run without a
    server (the bench called the runtime itself)."""
    settings = settings or assumed_settings()
    cores = os.cpu_count() or 1
    assumed = {
        "workers": settings.workers,
        "max_isolates_per_function": settings.max_isolates_per_function,
        "max_concurrency_per_isolate": settings.max_concurrency_per_isolate,
        "max_queue_per_function": settings.max_queue_per_function,
        "cores": cores,
    }
    if not levels:
        return _verdict("nothing", "no level ran", "give --concurrency", assumed)
    knee = _knee(levels)
    scaling = _scaling(levels)
    refused = sum(level["errors"].get("429", 0) for level in levels)
    unavailable = sum(level["errors"].get("503", 0) for level in levels)
    isolates = max(knee["isolates_max"] or 1, 1)
    cpu_ms = knee["cpu_ms_per_call"]
    # Isolates beyond the cores cannot run at once: the busy share is of what could run.
    busy = knee["rps"] * cpu_ms / 1000 / min(isolates, cores) if cpu_ms is not None else None
    busy_text = f"{busy:.0%}" if busy is not None else "unknown (no /metrics)"
    if refused:
        return _verdict(
            "rate limits",
            f"{refused} requests were refused with 429",
            "raise FLUX_EDGE_RATE_LIMIT_INVOKE (now "
            f"{settings.rate_limit_invoke}), or set FLUX_EDGE_RATE_LIMITS=off while benchmarking",
            assumed,
        )
    if unavailable:
        cause = f"{unavailable} calls answered 503 (no isolate slot, and the wait queue was full)"
        if busy is not None and busy >= BUSY_ISOLATE:
            return _verdict(
                "isolates per function",
                f"{cause}; its {isolates} isolates ran JavaScript {busy_text} of the time",
                f"raise FLUX_EDGE_MAX_ISOLATES_PER_FUNCTION (now "
                f"{settings.max_isolates_per_function}) towards the {cores} cores",
                assumed,
            )
        return _verdict(
            "queue",
            cause,
            "raise FLUX_EDGE_MAX_CONCURRENCY_PER_ISOLATE (now "
            f"{settings.max_concurrency_per_isolate}) or FLUX_EDGE_MAX_QUEUE_PER_FUNCTION (now "
            f"{settings.max_queue_per_function})",
            assumed,
        )
    if knee["client_cpu"] >= BUSY_CLIENT and in_process:
        return _verdict(
            "the calling event loop",
            f"the event loop calling the runtime used {knee['client_cpu']:.0%} of a core at "
            f"c={knee['concurrency']}" + scaling,
            "that loop does for each call what a server worker's does, HTTP aside: about the "
            f"most one worker serves on this machine; more workers (one per two cores, {cores} "
            "cores here) serve more",
            assumed,
        )
    if knee["client_cpu"] >= BUSY_CLIENT:
        return _verdict(
            "the bench client",
            f"the client used {knee['client_cpu']:.0%} of a core at c={knee['concurrency']}"
            + scaling,
            "run flux-edge bench from another machine: these figures are a floor",
            assumed,
        )
    if busy is not None and busy >= BUSY_ISOLATE:
        if isolates >= settings.max_isolates_per_function and isolates < cores:
            return _verdict(
                "isolates per function",
                f"all {isolates} isolates ran JavaScript {busy_text} of the time" + scaling,
                f"raise FLUX_EDGE_MAX_ISOLATES_PER_FUNCTION (now "
                f"{settings.max_isolates_per_function}) towards the {cores} cores",
                assumed,
            )
        return _verdict(
            "CPU",
            f"{isolates} isolates ran JavaScript {busy_text} of the time on {cores} cores"
            + scaling,
            f"the function's JavaScript ({cpu_ms:.3f} ms CPU per call) is the cost: make it cheaper",
            assumed,
        )
    in_flight = knee["concurrency"] / isolates
    if in_flight >= settings.max_concurrency_per_isolate:
        return _verdict(
            "concurrency per isolate",
            f"{in_flight:.0f} calls in flight per isolate at c={knee['concurrency']}" + scaling,
            "raise FLUX_EDGE_MAX_CONCURRENCY_PER_ISOLATE (now "
            f"{settings.max_concurrency_per_isolate})",
            assumed,
        )
    python = ""
    if interpreter is not None and interpreter.slow_calls:
        # That work is Python: how the interpreter was built counts (docs/install.md).
        run_it = "rebuild the binary from" if interpreter.frozen else "run it on"
        python = (
            f"{run_it} a Python built with --enable-optimizations (Debian's python3, the "
            f"python:3.11 images): this one calls {interpreter.calls_through_plt} of its own "
            "functions through the PLT, which cost flux-edge 10-15 % of its requests per second "
            '(docs/install.md, "Which Python")'
        )
    if in_process:
        where = "the isolate hosts' event loops" if settings.isolate_hosts else "this process"
        return _verdict(
            "the runtime's Python",
            f"JavaScript kept its isolates busy only {busy_text} of the time at "
            f"c={knee['concurrency']}, and the calling event loop {knee['client_cpu']:.0%} of a "
            f"core: the time goes to the Python around the JavaScript ({where})" + scaling,
            "more calls at once share the hosts' steps (a higher --concurrency)"
            + (f"; {python}" if python else ""),
            assumed,
        )
    # What `flux-edge serve` starts by default on such a machine (flux_edge/machine.py): a
    # worker's event loop takes about a core and its isolate hosts most of another.
    useful = workers_for(cores, memory_mb())
    suggestion = (
        f"serve with --workers {useful} (one per two cores; now {settings.workers})"
        if settings.workers < useful
        else "the server's own request handling is the cost on this machine: more cores help"
    )
    if python:
        suggestion += f"; also {python}"
    return _verdict(
        "workers",
        f"JavaScript kept its isolates busy only {busy_text} of the time at "
        f"c={knee['concurrency']}, so the server's request handling is the bottleneck" + scaling,
        suggestion,
        assumed,
    )


def _verdict(setting: str, reason: str, suggestion: str, assumed: dict[str, Any]) -> dict[str, Any]:
    return {"setting": setting, "reason": reason, "suggestion": suggestion, "assumed": assumed}
