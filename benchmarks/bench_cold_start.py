"""Cold start through the real server (`flux-edge serve` as the README starts it): create a
function, then its first successful invoke.

Each sample is the wall time from sending the create request to receiving the first invoke
response; the create's and the first call's own times are reported too. Deploys are spaced a
little apart, as real deploys are. Target: p50 <= 15 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import PAYLOAD, TRIVIAL_HANDLER, p90, serve_as_readme, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between deploys")
    args = parser.parse_args()

    samples, creates, first_calls = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        server = serve_as_readme(Path(tmp) / "data")
        try:
            with server.admin() as client:
                client.get("/health")  # connection established before timing
                for n in range(args.samples):
                    name = f"cold-{n}"
                    started = time.perf_counter()
                    created = client.post(
                        "/api/v1/functions",
                        json={"name": name, "code": TRIVIAL_HANDLER, "enabled": True},
                    )
                    deployed = time.perf_counter()
                    response = client.post(f"/api/v1/functions/{name}/invoke", content=PAYLOAD)
                    answered = time.perf_counter()
                    assert created.status_code == 201, created.text
                    assert response.json() == {"ok": 1}, response.text
                    samples.append((answered - started) * 1000)
                    creates.append((deployed - started) * 1000)
                    first_calls.append((answered - deployed) * 1000)
                    time.sleep(args.gap)
        finally:
            server.stop()
    samples.sort()
    write_result(
        "cold_start",
        {
            "samples": len(samples),
            "p50_ms": round(statistics.median(samples), 2),
            "p90_ms": round(p90(samples), 2),
            "min_ms": round(samples[0], 2),
            "create_p50_ms": round(statistics.median(creates), 2),
            "first_call_p50_ms": round(statistics.median(first_calls), 2),
            "target_p50_ms": 15,
        },
    )


if __name__ == "__main__":
    main()
