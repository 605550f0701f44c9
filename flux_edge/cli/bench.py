"""`flux-edge bench NAME` (logic: client/bench.py, client/bench_local.py for `--in-process`;
which setting limits it: client/bench_advice.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from flux_edge.cli.output import json_option, print_json, url_option

if TYPE_CHECKING:
    from flux_edge.client.bench import BenchOptions


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
    '  flux-edge bench hello --cold-starts 0 -d \'{"name": "Ada"}\'\n'
    "  flux-edge bench hello --in-process --data-dir /var/lib/flux-edge"
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
@click.option(
    "--in-process",
    is_flag=True,
    help="No server: call the function from the data dir in this process, through the runtime "
    "a server uses (isolate hosts, this shell's FLUX_EDGE_* settings), without HTTP.",
)
@click.option(
    "--data-dir",
    help="With --in-process: the server's data dir [default: FLUX_EDGE_DATA_DIR or "
    "./flux-edge-data].",
)
@url_option
@json_option
def bench(
    name: str,
    concurrency: str,
    duration: float,
    data: str,
    cold_starts: int,
    in_process: bool,
    data_dir: str | None,
    url: str | None,
    as_json: bool,
) -> int:
    """A bounded load run of a deployed function at a few concurrency levels.

    Reports req/s, p50/p90/p99, errors, cold start, JavaScript CPU time per call, the isolate's
    heap, and which setting limits the function, with a suggestion. Needs a manage token (it
    reads the function and bumps its version for the cold starts) and a server whose invoke rate
    limit lets the load through (FLUX_EDGE_RATE_LIMITS=off while benchmarking). With
    --in-process it needs neither: it runs the calls itself, from the data dir.
    """
    from flux_edge.client.bench import BenchOptions, format_report, run_bench
    from flux_edge.client.config import find_credentials

    levels = parse_levels(concurrency)
    if in_process and url is not None:
        raise click.UsageError("--in-process runs without a server: drop --url")
    if data_dir is not None and not in_process:
        raise click.UsageError("--data-dir is for --in-process")
    found, token = ("", None) if in_process else find_credentials(url)
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
        if in_process:
            report = asyncio.run(_in_process(options, data_dir, progress))
        else:
            report = asyncio.run(run_bench(options, progress))
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")
    if as_json:
        print_json(report)
    else:
        click.echo(format_report(report))
    return 0


async def _in_process(
    options: BenchOptions, data_dir: str | None, progress: Callable[[str], None] | None
) -> dict[str, Any]:
    from flux_edge.client.bench import with_verdict
    from flux_edge.client.bench_local import run_in_process
    from flux_edge.interpreter import interpreter_build
    from flux_edge.logging import configure_logging
    from flux_edge.settings import load_settings

    settings = load_settings({"data_dir": data_dir})
    # stdout carries the report; the runtime's own log lines (warnings) go to stderr.
    configure_logging("console", "warning", stream=sys.stderr)
    report = await run_in_process(options, settings, progress)
    # The calls' Python ran here, and in the isolate hosts forked from here.
    return with_verdict(report, interpreter_build(), "in-process")


def _terminal_progress() -> Callable[[str], None]:
    def show(line: str) -> None:
        sys.stderr.write(f"\r\x1b[K{line}")
        sys.stderr.flush()

    return show
