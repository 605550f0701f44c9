"""Running `flux-edge` as a subprocess, as a user's shell would, for the CLI tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
