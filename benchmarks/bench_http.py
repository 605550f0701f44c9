"""HTTP invoke through the real server vs a plain Litestar endpoint doing the same JSON work.

Both endpoints live in one server process (benchmarks/_server.py) and are measured alternately in
one run (A B A B ...), so the ratio holds even on a noisy shared machine. Target: ratio >= 0.7.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import PAYLOAD, TRIVIAL_HANDLER, median, start_server, write_result, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--isolate-hosts",
        choices=("on", "off"),
        default="on",
        help="off: isolates in the server process, to measure what the process boundary costs",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            Path(tmp) / "data",
            workers=args.workers,
            extra_env={"FLUX_EDGE_ISOLATE_HOSTS": args.isolate_hosts},
        )
        try:
            with server.admin() as admin:
                created = admin.post(
                    "/api/v1/functions",
                    json={"name": "bench", "code": TRIVIAL_HANDLER, "enabled": True},
                )
                created.raise_for_status()
                check = admin.post("/api/v1/functions/bench/invoke", content=PAYLOAD)
                assert check.json() == {"ok": 1}, check.text
            plain_url = f"{server.url}/bench/plain"
            invoke_url = f"{server.url}/api/v1/functions/bench/invoke"
            wrk(plain_url, body=PAYLOAD, seconds=2, connections=args.connections)  # warm-up
            wrk(invoke_url, body=PAYLOAD, seconds=2, connections=args.connections)
            plain, invoke = [], []
            for _ in range(args.rounds):
                plain.append(
                    wrk(plain_url, body=PAYLOAD, seconds=args.seconds, connections=args.connections)
                )
                invoke.append(
                    wrk(
                        invoke_url, body=PAYLOAD, seconds=args.seconds, connections=args.connections
                    )
                )
        finally:
            server.stop()

    plain_rps = median([r.requests_per_second for r in plain])
    invoke_rps = median([r.requests_per_second for r in invoke])
    write_result(
        "http_invoke" if args.isolate_hosts == "on" else "http_invoke_in_process",
        {
            "isolate_hosts": args.isolate_hosts,
            "workers": args.workers,
            "connections": args.connections,
            "plain_rps": round(plain_rps),
            "invoke_rps": round(invoke_rps),
            "ratio": round(invoke_rps / plain_rps, 3),
            "target_ratio": 0.7,
            "plain_p50_ms": median([r.p50_ms for r in plain]),
            "plain_p99_ms": median([r.p99_ms for r in plain]),
            "invoke_p50_ms": median([r.p50_ms for r in invoke]),
            "invoke_p99_ms": median([r.p99_ms for r in invoke]),
            "invoke_errors": sum(r.errors for r in invoke),
        },
    )


if __name__ == "__main__":
    main()
