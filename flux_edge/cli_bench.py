"""The `flux-edge bench NAME` command (logic: client/bench.py, advice: client/bench_advice.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from flux_edge.client.deploy import DeployError, find_credentials


def add_bench_parser(commands: Any) -> None:
    """`bench` under the top-level command parser."""
    bench = commands.add_parser(
        "bench",
        help="a bounded load run of a deployed function at a few concurrency levels",
        epilog="example: flux-edge bench hello --concurrency 1,4,16 --duration 10 --json",
    )
    bench.add_argument("name", metavar="NAME", help="the deployed function to call")
    bench.add_argument("--url", help="the server (FLUX_EDGE_URL, the login config, or local)")
    bench.add_argument(
        "--concurrency",
        default="1,4,16",
        help="comma-separated concurrency levels (default 1,4,16)",
    )
    bench.add_argument(
        "--duration", type=float, default=10.0, help="seconds per level (default 10)"
    )
    bench.add_argument("--data", default="{}", help="the request body each call sends (default {})")
    bench.add_argument(
        "--cold-starts",
        type=int,
        default=3,
        help="version bumps timed with their first call (default 3; 0 leaves the function as is)",
    )
    bench.add_argument("--json", action="store_true", help="print the report as JSON")


def parse_levels(text: str) -> list[int]:
    """`1,4,16` as [1, 4, 16]; raises ValueError for anything but positive integers."""
    message = f"concurrency levels must be integers from 1 to 1024, like 1,4,16 (not {text!r})"
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(message) from None
    if not levels or any(level < 1 or level > 1024 for level in levels):
        raise ValueError(message)
    return levels


def run_bench_command(args: argparse.Namespace) -> int:
    """Run `bench`; one line on stderr and exit status 1 (2 for bad options) on failure."""
    # Imported here: the other commands (serve above all) should not pay for the bench's imports.
    from flux_edge.client.bench import BenchError, BenchOptions, format_report, run_bench

    try:
        levels = parse_levels(args.concurrency)
        if not 0 < args.duration <= 3600 or not 0 <= args.cold_starts <= 100:
            raise ValueError("--duration must be in (0, 3600] and --cold-starts in [0, 100]")
    except ValueError as exc:
        print(f"flux-edge bench: {exc}", file=sys.stderr)
        return 2
    try:
        url, token = find_credentials(args.url)
    except DeployError as exc:
        print(f"flux-edge bench: {exc}", file=sys.stderr)
        return 1
    options = BenchOptions(
        name=args.name,
        url=url.rstrip("/"),
        token=token,
        concurrency=levels,
        duration=args.duration,
        body=args.data.encode(),
        cold_starts=args.cold_starts,
        metrics_token=os.environ.get("FLUX_EDGE_METRICS_TOKEN") or None,
    )
    progress = _terminal_progress() if sys.stderr.isatty() else None
    try:
        report = asyncio.run(run_bench(options, progress))
    except BenchError as exc:
        print(f"flux-edge bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _terminal_progress() -> Any:
    def show(line: str) -> None:
        sys.stderr.write(f"\r\x1b[K{line}")
        sys.stderr.flush()

    return show
