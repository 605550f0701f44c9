"""The one-file binary, copied alone to a temp dir, serves functions with no Python around it,
and unpacks itself once per build into a private cache directory (packaging/unpack.sh).

Building takes about a minute warm and two cold, so these run only with FLUX_EDGE_BINARY_TEST=1
(`.ci/run` sets it). dist/flux-edge is rebuilt by scripts/build-binary.sh unless it is newer than
every file it is made from.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import flux_edge
from tests.conftest import ADMIN_TOKEN, ServerProcess, database_rows, free_port

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist" / "flux-edge"
SOURCES = ("flux_edge", "packaging", "scripts/build-binary.sh", "pyproject.toml")
BUILD_SECONDS = 900

pytestmark = [
    pytest.mark.binary,
    pytest.mark.skipif(
        os.environ.get("FLUX_EDGE_BINARY_TEST") != "1",
        reason="builds the binary (1-2 minutes): set FLUX_EDGE_BINARY_TEST=1",
    ),
    # The first test also waits for the build.
    pytest.mark.timeout(BUILD_SECONDS + 120),
]

# Uses what the binary must carry: the web prelude (TextEncoder, crypto.subtle), V8's ICU data
# (a German number format needs it) and console capture.
GREETER = """
async function handler(req) {
  const name = JSON.parse(req.body).name;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
  console.log(`greeting ${name}`);
  return {
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      hello: name,
      first_byte: new Uint8Array(digest)[0],
      amount: new Intl.NumberFormat("de-DE").format(1234.5),
    }),
  };
}
"""


def newest_source_mtime() -> float:
    paths = [ROOT / s for s in SOURCES]
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return max(f.stat().st_mtime for f in files if "__pycache__" not in f.parts)


def build_binary() -> None:
    """Run scripts/build-binary.sh; its stderr shows each of its five stages, in order."""
    done = subprocess.run(
        ["bash", "scripts/build-binary.sh"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        timeout=BUILD_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    stages = re.findall(r"^build-binary \[(\d)/5\] \S.* \(\d+s\)$", done.stderr, re.MULTILINE)
    assert stages == ["1", "2", "3", "4", "5"], done.stderr
    assert re.search(r"^build-binary: built dist/flux-edge in \d+s$", done.stderr, re.MULTILINE)


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/flux-edge, built if stale, copied alone into an empty directory."""
    (ROOT / "build").mkdir(exist_ok=True)
    # One build at a time: a second test run waits, then finds dist/ fresh.
    with (ROOT / "build" / "binary.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not DIST.exists() or DIST.stat().st_mtime < newest_source_mtime():
            build_binary()
    copy = tmp_path_factory.mktemp("bin") / "flux-edge"
    shutil.copy2(DIST, copy)
    return copy


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An `env -i` environment: no PYTHONPATH, no virtualenv, nothing but HOME and PATH."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", **extra}


@pytest.fixture
def start_binary(binary: Path, tmp_path: Path) -> Iterator[object]:
    """Factory: start the binary from an unrelated cwd on a free port; all are stopped afterwards."""
    started: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(exist_ok=True)
        data_dir, port = tmp_path / "data", free_port()
        out, err = tmp_path / f"server-{len(started)}.out", tmp_path / f"server-{len(started)}.err"
        # TMPDIR: the binary unpacks itself there (90 MB); a killed one leaves that behind.
        (tmp_path / "tmp").mkdir(exist_ok=True)
        env = clean_env(
            tmp_path,
            TMPDIR=str(tmp_path / "tmp"),
            FLUX_EDGE_ADMIN_TOKEN=ADMIN_TOKEN,
            FLUX_EDGE_LOG_LEVEL="info",
        )
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [str(binary), "serve", "--port", str(port), "--data-dir", str(data_dir), *args],
                cwd=elsewhere, env=env, stdout=stdout, stderr=stderr, start_new_session=True,
            )  # fmt: skip
        server = ServerProcess(process, port, data_dir, out, err, ADMIN_TOKEN)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        # SIGTERM first: the server flushes its records and stops its workers and hosts.
        server.stop(signal.SIGTERM, timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)


def stopped_cleanly(server: ServerProcess) -> bool:
    """SIGTERM; True when the app's shutdown hook ran and the process ended by itself."""
    code = server.stop(signal.SIGTERM)
    events = [json.loads(line).get("event") for line in server.stdout().splitlines()]
    return code in (0, -signal.SIGTERM) and "stopped" in events


def test_version_names_the_package_and_v8(binary, tmp_path):
    result = subprocess.run(
        [str(binary), "--version"], cwd=tmp_path, env=clean_env(tmp_path),
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert re.fullmatch(
        rf"flux-edge {re.escape(flux_edge.__version__)} \(V8 \d+\.\d+\.\d+\.\d+\)\n", result.stdout
    )


def test_a_function_is_created_invoked_and_recorded_then_sigterm_stops_it(start_binary):
    server = start_binary()
    admin = server.client(ADMIN_TOKEN)
    created = admin.post(
        "/api/v1/functions", json={"name": "greeter", "code": GREETER, "enabled": True}
    )
    assert created.status_code == 201, created.text

    first = server.client().post("/api/v1/functions/greeter/invoke", json={"name": "Ada"})
    assert first.status_code == 200, first.text
    digest = hashlib.sha256(b"Ada").digest()
    assert first.json() == {"hello": "Ada", "first_byte": digest[0], "amount": "1.234,5"}

    executions = poll_executions(admin, "greeter")
    assert [(e["id"], e["status"]) for e in executions] == [
        (first.headers["x-flux-execution-id"], "success")
    ]
    assert "greeting Ada" in executions[0]["logs"]

    # The record of a call answered just before SIGTERM is written during the shutdown.
    last = server.client().post("/api/v1/functions/greeter/invoke", json={"name": "Bo"})
    assert stopped_cleanly(server)
    ids = {row[0] for row in database_rows(server.database_path)["executions"]}
    assert ids == {first.headers["x-flux-execution-id"], last.headers["x-flux-execution-id"]}


def test_two_worker_processes_run_from_the_binary(start_binary):
    server = start_binary("--workers", "2")
    admin = server.client(ADMIN_TOKEN)
    assert (
        admin.post(
            "/api/v1/functions", json={"name": "greeter", "code": GREETER, "enabled": True}
        ).status_code
        == 201
    )
    for _ in range(6):  # fresh connections land on either worker
        with httpx.Client(base_url=server.url, timeout=30) as fresh:
            assert (
                fresh.post("/api/v1/functions/greeter/invoke", json={"name": "Bo"}).status_code
                == 200
            )
    started = [line for line in server.stdout().splitlines() if '"event": "started"' in line]
    assert len(started) == 2
    assert stopped_cleanly(server)


def test_the_openapi_document_builds_in_the_binary(start_binary):
    server = start_binary()
    response = server.client().get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/functions" in response.json()["paths"]


def test_the_api_page_and_its_assets_are_served_by_the_binary(start_binary):
    # swagger_ui is found by name, not imported, so PyInstaller's analysis alone would leave it out.
    client = start_binary().client()
    page = client.get("/schema")
    assert page.status_code == 200
    # The spec ships only the files the page loads: every one of them must be there.
    assets = set(re.findall(r"/schema/assets/[\w.-]+", page.text))
    assert "/schema/assets/swagger-ui-bundle.js" in assets
    assert len(assets) >= 4  # bundle, preset, stylesheet, icon
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset


def test_the_client_commands_and_completion_work_from_the_binary(binary, start_binary, tmp_path):
    server = start_binary()
    env = clean_env(
        tmp_path,
        TMPDIR=str(tmp_path / "tmp"),
        FLUX_EDGE_URL=server.url,
        FLUX_EDGE_TOKEN=ADMIN_TOKEN,
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )

    def run(*args: str) -> str:
        done = subprocess.run(
            [str(binary), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("functions", "new", "greeter")
    assert "greeter: created, version 1" in run("functions", "deploy", "supabase/functions/greeter")
    assert json.loads(run("functions", "invoke", "greeter", "-d", '{"name": "Ada"}')) == {
        "message": "Hello Ada!"
    }
    assert [f["name"] for f in json.loads(run("functions", "list", "--json"))] == ["greeter"]
    assert "_FLUX_EDGE_COMPLETE" in run("completion", "bash")
    # The bench names the server's Python (from its /metrics), which the binary carries: its own
    # libpython, in its unpacked folder.
    report = json.loads(run("bench", "greeter", "--concurrency", "1", "--duration", "0.5",
                            "--cold-starts", "0", "--json"))  # fmt: skip
    assert report["interpreter_of"] == "server"
    python = report["interpreter"]
    assert python["frozen"] is True
    assert Path(python["libpython"]).parent == Path(python["executable"]).parent / "_internal"
    assert isinstance(python["calls_through_plt"], int)


def run_version(binary: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "--version"], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def unpacked_builds(root: Path) -> list[Path]:
    return sorted(root.iterdir()) if root.exists() else []


def test_the_first_start_unpacks_the_build_and_later_starts_run_it_from_there(binary, tmp_path):
    cache = tmp_path / ".cache" / "flux-edge"  # under HOME, as XDG says
    first = run_version(binary, tmp_path, clean_env(tmp_path))
    assert first.returncode == 0, first.stderr
    [build] = unpacked_builds(cache)  # no leftovers of the unpacking either
    assert re.fullmatch(r"[0-9a-f]{16}", build.name)
    assert (build / "flux-edge").is_file()
    assert (build / "_internal").is_dir()
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    marker = build / "_internal" / "unpacked-once"
    marker.touch()
    again = run_version(binary, tmp_path, clean_env(tmp_path))
    assert again.stdout == first.stdout
    assert marker.exists()  # ran from the same folder, not unpacked anew
    assert unpacked_builds(cache) == [build]


def test_a_new_build_removes_older_builds_nothing_runs_from(binary, tmp_path):
    cache = tmp_path / ".cache" / "flux-edge"
    cache.mkdir(parents=True, mode=0o700)
    hour_ago = time.time() - 3600

    def older_build(name: str, *, started: float = hour_ago) -> Path:
        build = cache / name
        (build / "_internal").mkdir(parents=True)
        shutil.copy2("/bin/sleep", build / "flux-edge")  # an executable a process can run
        os.utime(build, (started, started))
        return build

    idle = older_build("0123456789abcdef")
    running = older_build("fedcba9876543210")
    just_started = older_build("00000000deadbeef", started=time.time())
    other = cache / "notes"  # not a build folder: never touched
    other.mkdir()
    os.utime(other, (hour_ago, hour_ago))
    user = subprocess.Popen([str(running / "flux-edge"), "60"])
    try:
        assert run_version(binary, tmp_path, clean_env(tmp_path)).returncode == 0
        left = {p.name for p in unpacked_builds(cache)}
        assert idle.name not in left
        assert {running.name, just_started.name, other.name} < left
        assert len(left) == 4  # and the build just unpacked
        # A start of a build already unpacked removes nothing.
        os.utime(just_started, (hour_ago, hour_ago))
        assert run_version(binary, tmp_path, clean_env(tmp_path)).returncode == 0
        assert just_started.exists()
    finally:
        user.kill()
        user.wait()


def test_without_a_home_it_unpacks_into_a_private_folder_under_tmpdir(binary, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    assert run_version(binary, tmp_path, env).returncode == 0
    private = tmp_path / f"flux-edge-{os.geteuid()}"
    assert len(unpacked_builds(private)) == 1
    assert oct(private.stat().st_mode & 0o777) == "0o700"


def test_flux_edge_unpack_dir_chooses_the_folder(binary, tmp_path):
    env = clean_env(tmp_path, FLUX_EDGE_UNPACK_DIR=str(tmp_path / "opt"))
    assert run_version(binary, tmp_path, env).returncode == 0
    assert len(unpacked_builds(tmp_path / "opt")) == 1
    assert not (tmp_path / ".cache").exists()


def test_a_cache_folder_others_can_write_to_is_refused(binary, tmp_path):
    # Whoever can write there chooses the code the binary runs.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    done = run_version(binary, tmp_path, clean_env(tmp_path, FLUX_EDGE_UNPACK_DIR=str(shared)))
    assert done.returncode == 1
    assert "writable by another user" in done.stderr
    assert unpacked_builds(shared) == []
    if os.geteuid() == 0:  # a folder another user owns (only root can make one here)
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 65534, 65534)
        done = run_version(binary, tmp_path, clean_env(tmp_path, FLUX_EDGE_UNPACK_DIR=str(theirs)))
        assert done.returncode == 1, done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_a_root_owned_unpack_folder_serves_other_users(binary):
    # The container image's layout: unpacked at build time by root into /opt/flux-edge (755),
    # then run by an unprivileged user who can read it but not write it.
    shared = Path(tempfile.mkdtemp(prefix="flux-edge-shared-"))
    try:
        shared.chmod(0o755)
        installed = shared / "flux-edge"
        shutil.copy2(binary, installed)
        (shared / "opt").mkdir(mode=0o755)
        env = {"PATH": "/usr/bin:/bin", "FLUX_EDGE_UNPACK_DIR": str(shared / "opt")}
        assert run_version(installed, shared, env).returncode == 0
        as_nobody = subprocess.run(
            [str(installed), "--version"], cwd="/", env=env, capture_output=True, text=True,
            timeout=120, check=False, user=65534, group=65534,
        )  # fmt: skip
        assert as_nobody.returncode == 0, as_nobody.stderr
        assert as_nobody.stdout.startswith("flux-edge ")
    finally:
        shutil.rmtree(shared)


def test_starts_racing_to_unpack_the_same_build_all_run_it(binary, tmp_path):
    env = clean_env(tmp_path)
    command = [str(binary), "--version"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    starts = [subprocess.Popen(command, cwd=tmp_path, env=env, **pipes) for _ in range(4)]
    outputs = [start.communicate(timeout=120) for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0, 0], outputs
    [build] = unpacked_builds(tmp_path / ".cache" / "flux-edge")
    assert sorted(p.name for p in build.iterdir()) == ["_internal", "flux-edge"]


def poll_executions(admin: httpx.Client, name: str) -> list[dict[str, object]]:
    """The function's executions once the background writer has stored at least one."""
    deadline = time.monotonic() + 10
    while True:
        response = admin.get(f"/api/v1/functions/{name}/executions")
        assert response.status_code == 200, response.text
        if response.json() or time.monotonic() > deadline:
            return list(response.json())
        time.sleep(0.1)
