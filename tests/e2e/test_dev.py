"""`flux-edge dev DIR` as a subprocess: it serves the folder's functions, redeploys an edited one,
and prints calls' console output and errors with the user's line numbers."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

FIRST = (
    "Deno.serve(async (req) => {\n"
    "  console.log('first saw', req.method);\n"
    "  return new Response('first');\n"
    "});\n"
)
SECOND = (
    "Deno.serve(async (req) => {\n"
    "  const body = await req.text();\n"
    "  console.log('second saw', body);\n"
    "  if (body === 'boom') throw new Error('dev boom');\n"
    "  return new Response('second ' + body);\n"
    "});\n"
)


class Output:
    """The dev command's stdout lines, read on a thread, waited for by pattern."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if found := re.search(pattern, line):
                return found
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.lines.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines))


def test_dev_serves_redeploys_on_edit_and_prints_console_and_errors(tmp_path: Path) -> None:
    functions = tmp_path / "supabase" / "functions"
    (functions / "greet").mkdir(parents=True)
    entry = functions / "greet" / "index.ts"
    entry.write_text(FIRST)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    dev = subprocess.Popen(
        [sys.executable, "-m", "flux_edge", "dev", str(tmp_path / "supabase"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    out = Output(dev.stdout)
    try:
        token = out.wait_for(r"^token: (\S+)").group(1)
        out.wait_for(r"^greet: deployed version 1 in \d+ ms")
        url = out.wait_for(r"^  (http://\S+/functions/v1/greet)$").group(1)
        out.wait_for("watching for changes")
        # One worker whatever the machine: the server's children are its isolate hosts' zygote.
        (server,) = Path(f"/proc/{dev.pid}/task/{dev.pid}/children").read_text().split()
        children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
        assert [b"zygote" in Path(f"/proc/{c}/cmdline").read_bytes() for c in children] == [True]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.post(url, headers=headers).text == "first"
        out.wait_for(r"^\[greet\] \[[0-9a-f]{8}\] log: first saw POST$")
        out.wait_for(r"^\[greet\] \[[0-9a-f]{8}\] success 200 in ")

        entry.write_text(SECOND)
        out.wait_for(r"^greet: redeployed version 2 in \d+ ms")
        assert httpx.post(url, headers=headers, content="x").text == "second x"
        out.wait_for(r"^\[greet\] \[[0-9a-f]{8}\] log: second saw x$")

        assert httpx.post(url, headers=headers, content="boom").status_code == 500
        out.wait_for(r"^\[greet\] \[[0-9a-f]{8}\] error 500 in ")
        # The stack points at the user's file and line (4: the throw).
        out.wait_for(r"^\[greet\] .*Error: dev boom")
        out.wait_for(r"index\.ts:4:\d+")

        # A syntax error is reported and the old version keeps answering.
        entry.write_text("Deno.serve(() => {\n")
        out.wait_for(r"^greet: deploy failed: ")
        assert httpx.post(url, headers=headers, content="y").text == "second y"

        # A function folder added while dev runs is deployed, its URL printed and its calls shown.
        (functions / "added").mkdir()
        (functions / "added" / "index.ts").write_text(FIRST.replace("first", "added"))
        out.wait_for(r"^added: deployed version 1 in \d+ ms")
        added = out.wait_for(r"^  (http://\S+/functions/v1/added)$").group(1)
        assert httpx.post(added, headers=headers).text == "added"
        out.wait_for(r"^\[added\] \[[0-9a-f]{8}\] log: added saw POST$")
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        code = dev.wait(30)
    assert code == 0
    scratch = out.wait_for(r"scratch data in (\S+)\)").group(1)
    assert not Path(scratch).exists()
