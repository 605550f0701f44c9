"""Fixtures that start real flux-edge server processes on loopback ports with temp data dirs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import apsw
import httpx
import jwt
import pytest
from prometheus_client.parser import text_string_to_metric_families

ADMIN_TOKEN = "test-admin-token-0123456789"
JWT_SECRET = "test-jwt-secret-" + "s" * 64  # long enough for HS512 too (the wrong-alg test)
STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A `python -m flux_edge serve` child process and where to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    stdout_path: Path
    stderr_path: Path
    admin_token: str | None
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_path(self) -> Path:
        """The SQLite file the server uses."""
        return self.data_dir / "flux-edge.db"

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        """Everything the server wrote to stdout (its JSON log lines) so far."""
        return self.stdout_path.read_text(errors="replace")

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for this server, sending `Authorization: Bearer token` when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self.clients.append(client)
        return client

    def wait_ready(self) -> None:
        """Block until GET /health answers 200, or fail with the server's stderr."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}:\n{self.stderr()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {STARTUP_SECONDS}s:\n{self.stderr()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send `sig` to the server and wait for it to exit; returns its exit code.

        Whatever is left of its process group afterwards (worker processes of a server that did
        not stop them) is killed, so no test leaves processes behind.
        """
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


def spawn_server(
    data_dir: Path,
    *,
    admin_token: str | None = ADMIN_TOKEN,
    extra_env: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> ServerProcess:
    """Start a server on a free port; the caller stops it (see the `start_server` fixture)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    # Rate limits are off unless a test turns them on: shared module servers make more than
    # 60 management writes a minute, and limits have tests of their own. One worker unless a
    # test asks for more (`--workers`): the default follows the machine's CPUs (one per two), and
    # tests read one worker's processes and logs.
    env.update(
        {
            "FLUX_EDGE_JWT_SECRET": JWT_SECRET,
            "FLUX_EDGE_LOG_LEVEL": "info",
            "FLUX_EDGE_RATE_LIMITS": "off",
            "FLUX_EDGE_WORKERS": "1",
        }
    )
    if admin_token is not None:
        env["FLUX_EDGE_ADMIN_TOKEN"] = admin_token
    env.update(extra_env or {})
    logs = data_dir.parent
    name = uuid.uuid4().hex[:8]
    stdout_path, stderr_path = logs / f"server-{name}.out", logs / f"server-{name}.err"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "flux_edge", "serve", "--port", str(port),
             "--data-dir", str(data_dir), *(args or [])],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,  # its own process group, so stop() can sweep up its workers
        )  # fmt: skip
    return ServerProcess(process, port, data_dir, stdout_path, stderr_path, admin_token)


def launch_server(data_dir: Path, **kwargs: object) -> ServerProcess:
    """Spawn a server and wait until it is ready, on another port if the first was taken.

    Free ports are only probably free: other test runs on the machine may take one first.
    """
    for attempt in range(3):
        server = spawn_server(data_dir, **kwargs)  # type: ignore[arg-type]
        try:
            server.wait_ready()
            return server
        except RuntimeError:
            server.stop(signal.SIGKILL)
            if "address already in use" not in server.stderr().lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    """Factory: `start_server(data_dir=None, **kw)` starts and waits; all are stopped afterwards."""
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None, **kwargs: object) -> ServerProcess:
        server = launch_server(data_dir or tmp_path / "data", **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(timeout=10)


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per test module, with the admin token and JWT secret of this file.

    A module may set `SERVER_ENV = {...}` to start its server with extra FLUX_EDGE_* variables.
    """
    extra_env = getattr(request.module, "SERVER_ENV", None)
    srv = launch_server(tmp_path_factory.mktemp("server") / "data", extra_env=extra_env)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> httpx.Client:
    """A client of the module's server authenticated with the admin token."""
    return server.client(ADMIN_TOKEN)


@pytest.fixture(scope="module")
def anonymous(server: ServerProcess) -> httpx.Client:
    """A client of the module's server that sends no credential."""
    return server.client()


@pytest.fixture
def fname() -> str:
    """A fresh function name, so tests sharing a server never collide."""
    return f"fn-{uuid.uuid4().hex[:10]}"


def calls_in_flight(url: str, function: str) -> float:
    """The server's own count of `function`'s calls started and not yet ended (GET /metrics)."""
    with httpx.Client(base_url=url, timeout=10) as client:
        text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "flux_edge_invocations_in_flight"
        and sample.labels.get("function") == function
    )


def wait_for_calls_in_flight(url: str, function: str, count: int, timeout: float = 60) -> None:
    """Block until the server counts `count` calls of `function` in flight (fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while (seen := calls_in_flight(url, function)) != count:
        assert time.monotonic() < deadline, f"{seen} calls of {function} in flight, not {count}"
        time.sleep(0.02)


def written_executions(
    admin: httpx.Client, name: str, count: int, seconds: float = 10
) -> list[dict[str, object]]:
    """The function's execution records (newest first) once `count` of them are written, or what
    is there after `seconds`: a background writer stores them shortly after each call."""
    deadline = time.monotonic() + seconds
    while True:
        response = admin.get(f"/api/v1/functions/{name}/executions", params={"limit": 1000})
        assert response.status_code == 200, response.text
        rows: list[dict[str, object]] = response.json()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def database_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a flux-edge database, read directly with apsw."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}  # noqa: S608
    finally:
        conn.close()


@pytest.fixture(scope="module")
def db_rows(server: ServerProcess) -> object:
    """Callable returning every row of the module server's database (to prove nothing changed)."""
    return lambda: database_rows(server.database_path)


@pytest.fixture(scope="session")
def make_jwt() -> object:
    """Callable minting a JWT: `make_jwt(claims, secret=JWT_SECRET, algorithm="HS256")`."""

    def mint(claims: dict[str, object], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
        return jwt.encode(claims, secret, algorithm=algorithm)

    return mint
