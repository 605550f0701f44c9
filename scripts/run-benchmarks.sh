#!/usr/bin/env bash
# Runs every benchmark in benchmarks/ and prints one table. Results land in benchmarks/results/*.json.
# Each benchmark compares ratios measured within its own run, because this machine is shared and
# noisy; run on a quiet machine for absolute figures. Needs `wrk` (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
export PYTHONPATH="benchmarks${PYTHONPATH:+:$PYTHONPATH}"

# flux-edge as the README starts it, beside standalone plain Litestar and workerd (npm, pinned).
python benchmarks/bench_peers.py --readme README.md >/dev/null
python benchmarks/bench_startup.py >/dev/null
python benchmarks/bench_runtime.py "$@" >/dev/null
python benchmarks/bench_http.py >/dev/null
python benchmarks/bench_cold_start.py >/dev/null
python benchmarks/bench_memory.py >/dev/null 2>&1
python benchmarks/bench_modules.py >/dev/null
python benchmarks/bench_call_usage.py >/dev/null
python benchmarks/bench_dev.py >/dev/null
python benchmarks/bench_handoff.py >/dev/null
# These two print their JSON line last; keep it beside the others.
python benchmarks/bench_execution_writer.py | tail -n 1 > benchmarks/results/execution_writer.json
python benchmarks/bench_rate_limit.py > benchmarks/results/rate_limit.txt
python benchmarks/report.py
