"""The dev loop: from saving a function's file to the new version answering.

Starts `flux-edge dev DIR` as a user does (a subprocess, its own scratch server), then edits the
function's entry file `--edits` times. For each edit it reports the time from the write to the
first call answering with the new text (polled every 2 ms over HTTP: the watcher's debounce,
the upload, linking and the first call of the new version together) and the deploy time `dev`
itself prints. Edits are `--pause` seconds apart (a person saving); with `--pause 0` some deploys
wait for the spare V8 engine the previous one used to boot again (p90 131 ms against 21 ms, load 2).
Results: benchmarks/results/dev_redeploy.json.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import free_port, median, p90, write_result

SOURCE = "Deno.serve(() => new Response({text}));\n"
POLL_SECONDS = 0.002


class Lines:
    """`dev`'s output, written to a file and searched from where the last match ended."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen = 0

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._path.read_text()
            if found := re.compile(pattern, re.MULTILINE).search(text, self._seen):
                self._seen = found.end()
                return found
            time.sleep(POLL_SECONDS)
        raise RuntimeError(f"flux-edge dev printed no line matching {pattern!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--pause", type=float, default=1.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        entry = project / "functions" / "hello" / "index.ts"
        entry.parent.mkdir(parents=True)
        entry.write_text(SOURCE.format(text='"v0"'))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
        output = Path(folder) / "dev.log"  # outside the watched project
        with output.open("w") as log:
            dev = subprocess.Popen(
                [sys.executable, "-m", "flux_edge", "dev", str(project), "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        lines = Lines(output)
        try:
            token = lines.wait_for(r"^token: (\S+)").group(1)
            url = lines.wait_for(r"^  (http://\S+/functions/v1/hello)$").group(1)
            lines.wait_for("watching for changes")
            to_answer, deploys = [], []
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
                assert client.post(url).text == "v0"
                for edit in range(1, args.edits + 1):
                    time.sleep(args.pause)
                    wanted = f"v{edit}"
                    started = time.monotonic()
                    entry.write_text(SOURCE.format(text=f'"{wanted}"'))
                    while client.post(url).text != wanted:
                        time.sleep(POLL_SECONDS)
                    to_answer.append((time.monotonic() - started) * 1000)
                    printed = lines.wait_for(rf"^hello: redeployed version {edit + 1} in (\d+) ms")
                    deploys.append(float(printed.group(1)))
        finally:
            os.killpg(dev.pid, signal.SIGTERM)
            dev.wait(30)

    result = {
        "edits": args.edits,
        "pause_seconds": args.pause,
        "save_to_new_answer_ms": {
            "median": round(median(to_answer), 1),
            "p90": round(p90(to_answer), 1),
            "min": round(min(to_answer), 1),
        },
        "deploy_printed_ms": {
            "median": median(deploys),
            "p90": p90(deploys),
            "min": min(deploys),
        },
    }
    write_result("dev_redeploy", result)


if __name__ == "__main__":
    main()
