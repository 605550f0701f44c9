"""Prints the table of the latest results in benchmarks/results/ (written by each benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def rows() -> list[tuple[str, str, str, str]]:
    out = []
    runtime = load("runtime_invoke")
    if runtime:
        for isolates, row in runtime["isolates"].items():
            out.append(
                (
                    f"in-process invoke, {isolates} isolate(s), {runtime['callers']} callers",
                    f"{row['runtime_invoke_per_s']}/s vs raw eval_cancelable {row['raw_eval_cancelable_per_s']}/s",
                    f"ratio {row['ratio']} (>= {runtime['target_ratio']})",
                    verdict(row["ratio"] >= runtime["target_ratio"]),
                )
            )
            if "hosted_invoke_per_s" in row:
                out.append(
                    (
                        f"hosted invoke (isolate host process), {isolates} isolate(s)",
                        f"{row['hosted_invoke_per_s']}/s (ratio {row['hosted_ratio']})",
                        "(the process boundary's cost)",
                        "",
                    )
                )
    for name, label in (("http_invoke", ""), ("http_invoke_in_process", ", isolates in-process")):
        http = load(name)
        if not http:
            continue
        out.append(
            (
                f"HTTP invoke vs plain Litestar{label}, wrk -c{http['connections']}, "
                f"{http['workers']} worker",
                f"{http['invoke_rps']} vs {http['plain_rps']} req/s; p50 {http['invoke_p50_ms']:.2f} vs "
                f"{http['plain_p50_ms']:.2f} ms; p99 {http['invoke_p99_ms']:.1f} vs {http['plain_p99_ms']:.1f} ms",
                f"ratio {http['ratio']} (>= {http['target_ratio']})",
                verdict(http["ratio"] >= http["target_ratio"]),
            )
        )
    cold = load("cold_start")
    if cold:
        out.append(
            (
                "cold start: create -> first invoke response",
                f"p50 {cold['p50_ms']} ms, p90 {cold['p90_ms']} ms ({cold['samples']} samples)",
                f"p50 <= {cold['target_p50_ms']} ms",
                verdict(cold["p50_ms"] <= cold["target_p50_ms"]),
            )
        )
    memory = load("isolate_memory")
    if memory:
        out.append(
            (
                f"RSS per warm idle isolate ({memory['functions']} functions)",
                f"{memory['mb_per_isolate']} MB",
                f"<= {memory['target_mb_per_isolate']} MB",
                verdict(memory["mb_per_isolate"] <= memory["target_mb_per_isolate"]),
            )
        )
        if "host_private_mb" in memory:
            out.append(
                (
                    f"memory per idle isolate host ({memory['hosted_functions']} functions)",
                    f"private {memory['host_private_mb']} MB, PSS {memory['host_pss_mb']} MB, "
                    f"RSS {memory['host_rss_mb']} MB",
                    "(the process boundary's price)",
                    "",
                )
            )
    modules = load("modules")
    if modules:
        for label, row in modules["packages"].items():
            out.append(
                (
                    f"deploy importing {label} (warm package cache), then first call",
                    f"deploy p50 {row['deploy_p50_ms']} ms (max {row['deploy_max_ms']}); first call "
                    f"p50 {row['first_invoke_after_deploy_p50_ms']} ms",
                    f"deploy < {modules['target_deploy_ms']} ms",
                    verdict(row["deploy_max_ms"] < modules["target_deploy_ms"]),
                )
            )
        bundle = modules["bundle_1mib"]
        out.append(
            (
                f"1 MiB linked bundle ({bundle['bundle_bytes']} bytes)",
                f"link {bundle['link_ms']} ms; load + first call p50 "
                f"{bundle['load_and_first_call_p50_ms']} ms (plain script "
                f"{bundle['plain_script_load_and_first_call_p50_ms']} ms); "
                f"{bundle['rss_mb_per_isolate']} MB RSS per isolate",
                "reported",
                "",
            )
        )
    writer = load("execution_writer")
    if writer:
        out.append(
            (
                f"execution records: {writer['records']} through the writer",
                f"{writer['writer_seconds']} s of writer time, {writer['enqueue_us_per_record']} µs to enqueue",
                f"<= {writer['target_seconds']} s; no commit on the invoke path",
                verdict(writer["writer_seconds"] <= writer["target_seconds"]),
            )
        )
    handoff = load("handoff")
    if handoff:
        free, one = handoff["free"], handoff["one_cpu"]
        out.append(
            (
                "thread hand-off round trip (isolate hosts pin their threads: runtime/cpus.py)",
                f"free {free['wall_us']} µs wall / {free['cpu_us']} µs CPU, "
                f"one CPU {one['wall_us']} / {one['cpu_us']}",
                "(why hosts are pinned)",
                "",
            )
        )
    return out


def main() -> None:
    table = rows()
    header = ("benchmark", "measured", "target", "")
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *table]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    rate = RESULTS / "rate_limit.txt"
    if rate.exists():
        print("\nrate-limit check cost:\n" + rate.read_text().strip())


if __name__ == "__main__":
    main()
