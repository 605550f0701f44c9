"""`flux-edge bench NAME` (logic: client/bench.py; which setting limits it: client/bench_advice.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

import click

from flux_edge.cli.output import json_option, print_json, url_option


def parse_levels(text: str) -> list[int]:
    """`1,4,16` as [1, 4, 16]; raises click.BadParameter for anything but integers 1..1024."""
    message = f"concurrency levels must be integers from 1 to 1024, like 1,4,16 (not {text!r})"
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(message) from None
    if not levels or any(level < 1 or level > 1024 for level in levels):
        raise click.BadParameter(message)
    return levels


@click.command(
    epilog="\b\nExamples:\n  flux-edge bench hello\n"
    "  flux-edge bench hello --concurrency 1,8,64 --duration 5 --json\n"
    '  flux-edge bench hello --cold-starts 0 -d \'{"name": "Ada"}\''
)
@click.argument("name")
@click.option(
    "--concurrency", default="1,4,16", help="Comma-separated concurrency levels, run in turn."
)
@click.option(
    "--duration",
    type=click.FloatRange(0, 3600, min_open=True),
    default=10.0,
    help="Seconds per level.",
)
@click.option("-d", "--data", default="{}", help="The request body of every call.")
@click.option(
    "--cold-starts",
    type=click.IntRange(0, 100),
    default=3,
    help="Version bumps, each timed with its first call (0 leaves the function as it is).",
)
@url_option
@json_option
def bench(
    name: str,
    concurrency: str,
    duration: float,
    data: str,
    cold_starts: int,
    url: str | None,
    as_json: bool,
) -> int:
    """A bounded load run of a deployed function at a few concurrency levels.

    Reports req/s, p50/p90/p99, errors, cold start, JavaScript CPU time per call, the isolate's
    heap, and which setting limits the function, with a suggestion. Needs a manage token (it
    reads the function and bumps its version for the cold starts) and a server whose invoke rate
    limit lets the load through (FLUX_EDGE_RATE_LIMITS=off while benchmarking).
    """
    from flux_edge.client.bench import BenchOptions, format_report, run_bench
    from flux_edge.client.config import find_credentials

    levels = parse_levels(concurrency)
    found, token = find_credentials(url)
    options = BenchOptions(
        name=name,
        url=found.rstrip("/"),
        token=token,
        concurrency=levels,
        duration=duration,
        body=data.encode(),
        cold_starts=cold_starts,
        metrics_token=os.environ.get("FLUX_EDGE_METRICS_TOKEN") or None,
    )
    progress = _terminal_progress() if sys.stderr.isatty() else None
    try:
        report = asyncio.run(run_bench(options, progress))
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")
    if as_json:
        print_json(report)
    else:
        click.echo(format_report(report))
    return 0


def _terminal_progress() -> Callable[[str], None]:
    def show(line: str) -> None:
        sys.stderr.write(f"\r\x1b[K{line}")
        sys.stderr.flush()

    return show
