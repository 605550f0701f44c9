"""`flux-edge dev [DIR]`: a local server on a scratch data dir that redeploys the functions of DIR
when their files change and prints every call's console output and errors.

It runs `flux-edge serve` as a child process (the same server as in production), deploys with
`flux_edge.client.deploy` and follows each function's live log (`flux_edge.client.logs`). No CLI
framework in here: the CLI module parses the arguments and calls `run_dev`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

import httpx
from watchfiles import watch

from flux_edge.client.api import ApiClient
from flux_edge.client.deploy import (
    DEPLOY_TIMEOUT_SECONDS,
    MAP_FILES,
    DeployError,
    DeployPlan,
    deploy,
    plan_deploys,
)
from flux_edge.client.logs import LogsError, format_event, stream_events

READY_SECONDS = 60.0


class DevSession:
    """One `flux-edge dev` run: the child server, what is deployed, the log followers."""

    def __init__(self, root: Path, *, api: ApiClient, token: str, out: TextIO) -> None:
        self.root = root
        self.api = api  # deploys run on the watching thread, one after another
        self.token = token
        self.out = out
        self._lock = threading.Lock()
        self._followed: set[str] = set()

    def say(self, text: str) -> None:
        """Print a line (followers print from their own threads)."""
        with self._lock:
            print(text, file=self.out, flush=True)

    def deploy_all(self) -> None:
        """Deploy every function of the folder (at start, and when shared files change)."""
        try:
            plans = plan_deploys(self.root)
        except DeployError as exc:
            self.say(f"flux-edge dev: {exc}")
            return
        for plan in plans:
            self._deploy(plan)

    def redeploy(self, changed: set[Path]) -> None:
        """Deploy the functions whose files changed: all of them when a shared file changed."""
        functions_root = self._functions_root()
        names: set[str] = set()
        for path in changed:
            try:
                first = path.relative_to(functions_root).parts[0]
            except (ValueError, IndexError):
                continue
            if first.startswith("_") or first in MAP_FILES or first == ".env":
                self.deploy_all()
                return
            if (functions_root / first).is_dir():
                names.add(first)
        for name in sorted(names):
            try:
                plans = plan_deploys(functions_root, name)
            except DeployError as exc:
                self.say(f"{name}: {exc}")
                continue
            for plan in plans:
                self._deploy(plan)

    def _functions_root(self) -> Path:
        return self.root / "functions" if (self.root / "functions").is_dir() else self.root

    def _deploy(self, plan: DeployPlan) -> None:
        started = time.perf_counter()
        try:
            done = deploy(plan, self.api)
        except DeployError as exc:
            self.say(f"{plan.name}: deploy failed: {exc}")
            return
        took = (time.perf_counter() - started) * 1000
        action = "deployed" if done.created else "redeployed"
        self.say(f"{plan.name}: {action} version {done.version} in {took:.0f} ms")
        if plan.name not in self._followed:
            self._followed.add(plan.name)
            self.say(f"  {self.api.url}/functions/v1/{plan.name}")
            threading.Thread(target=self._follow, args=(plan.name,), daemon=True).start()

    def _follow(self, name: str) -> None:
        last_id: str | None = None
        while True:
            try:
                for event in stream_events(
                    name, url=self.api.url, token=self.token, follow=True, last_id=last_id
                ):
                    last_id = event.id or last_id
                    for line in format_event(event).splitlines():
                        self.say(f"[{name}] {line}")
            except (httpx.HTTPError, LogsError):
                pass  # deleted, or the server is stopping
            time.sleep(0.5)


def run_dev(
    directory: Path, *, port: int, host: str = "127.0.0.1", out: TextIO = sys.stdout
) -> int:
    """Serve DIR's functions until interrupted; returns the exit code."""
    root = directory.resolve()
    if not root.is_dir():
        print(f"flux-edge: {directory} is not a folder", file=sys.stderr)
        return 1
    scratch = Path(tempfile.mkdtemp(prefix="flux-edge-dev-"))
    token = secrets.token_urlsafe(24)
    url = f"http://{host}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update(
        FLUX_EDGE_ADMIN_TOKEN=token,
        FLUX_EDGE_RATE_LIMITS="off",
        FLUX_EDGE_LOG_FORMAT="console",
        FLUX_EDGE_LOG_LEVEL="warning",
        FLUX_EDGE_WORKERS="1",  # a development loop: one process to watch, less memory
    )
    log_path = scratch / "server.log"
    with log_path.open("wb") as server_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "flux_edge", "serve", "--host", host, "--port", str(port),
             "--data-dir", str(scratch / "data")],
            stdout=server_log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if not _wait_ready(url, server):
            print(
                f"flux-edge: the dev server did not start:\n{log_path.read_text()}", file=sys.stderr
            )
            return 1
        with ApiClient(url, token, timeout=DEPLOY_TIMEOUT_SECONDS) as api:
            session = DevSession(root, api=api, token=token, out=out)
            session.say(f"flux-edge dev: serving {root} at {url} (scratch data in {scratch})")
            session.say(f"token: {token}")
            session.say(f'try: curl -H "Authorization: Bearer $TOKEN" {url}/functions/v1/NAME')
            session.deploy_all()
            session.say("watching for changes (Ctrl-C to stop)")
            for changes in watch(root, debounce=50, step=20, rust_timeout=0):
                session.redeploy({Path(path) for _, path in changes})
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False
