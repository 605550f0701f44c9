"""Running `flux-edge` as a subprocess, as a user's shell would, for the CLI tests."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def flux_edge(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`flux-edge ARGS` with none of this shell's FLUX_EDGE_* variables, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_EDGE_", "_FLUX"))}
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean, **(env or {})},
        cwd=cwd,
        input=stdin if stdin is not None else "",
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must have succeeded."""
    assert done.returncode == 0, (
        f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    )
    return done.stdout


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The parsed JSON stdout of a command that must have succeeded."""
    return json.loads(ok(done))


def one_line_failure(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single stderr line of a command that must have failed with `code`."""
    assert done.returncode == code, f"exit {done.returncode}\nstderr: {done.stderr}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("flux-edge: "), lines[0]
    return lines[0]


def flux_edge_on_terminal(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[int, str, str]:
    """`flux-edge ARGS` with stderr on a pseudo-terminal (as in an interactive shell) and stdout
    on a pipe (as in `... > file`): returns (exit status, stdout, what the terminal showed)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_EDGE_", "_FLUX"))}
    main, side = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "flux_edge", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=side,
            env={**clean, "TERM": "xterm", **(env or {})},
        )
    finally:
        os.close(side)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: every writer closed the terminal (the command ended)
                break
            if not chunk:
                break
            shown += chunk
        assert process.stdout is not None
        out = process.stdout.read().decode()
        status = process.wait(timeout=10)
    finally:
        process.kill()
        os.close(main)
    return status, out, shown.decode(errors="replace")
