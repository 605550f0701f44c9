#!/usr/bin/env bash
# Soak test: bounded loopback load (fast, slow, failing and timing-out functions, mixed with hostile
# ones that end their isolate hosts) against a fresh flux-edge server, sampling RSS, open fds,
# isolate count and queue depth; fails on unbounded growth, on the fast function's p99 passing a
# bound, or when execution records differ from the invocations answered. See scripts/soak.py --help.
#
#   scripts/soak.sh                      # 10 minutes, 8 clients
#   SOAK_SECONDS=60 scripts/soak.sh      # a quick run
#   scripts/soak.sh --concurrency 16     # extra flags go to scripts/soak.py
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" scripts/soak.py --duration "${SOAK_SECONDS:-600}" "$@"
