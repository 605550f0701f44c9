"""`flux-edge bench NAME` as a user runs it: a subprocess against a real server, --json parsed and
checked against what the server itself counted. No timings are asserted, only consistency."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import httpx

from flux_edge.interpreter import interpreter_build
from tests.conftest import ADMIN_TOKEN, written_executions

TRIVIAL = (
    "export default { async fetch(req) { await req.json(); return Response.json({ ok: 1 }); } }"
)
BUSY = """
export default {
  fetch() {
    const end = Date.now() + 15; let n = 0;
    while (Date.now() < end) n += Math.sqrt(n + 1);
    return Response.json({ n: n > 0 });
  },
};
"""
LEVELS = ["--concurrency", "1,3", "--duration", "1"]


def bench(server, tmp_path: Path, *args: str, token: str | None = ADMIN_TOKEN):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no login config: the token is the env's
    if token is not None:
        env["FLUX_EDGE_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", "bench", *args, "--url", server.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def deploy(admin: httpx.Client, name: str, code: str, enabled: bool = True) -> None:
    body = {"name": name, "code": code, "enabled": enabled}
    assert admin.post("/api/v1/functions", json=body).status_code == 201


def invocations(server, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(f'flux_edge_invocations_total{{function="{name}"')
    )


def test_a_bench_run_counts_what_the_server_counted(start_server, tmp_path):
    server = start_server()
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "triv", TRIVIAL)
    done = bench(server, tmp_path, "triv", *LEVELS, "--cold-starts", "2", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    levels = report["levels"]
    assert [level["concurrency"] for level in levels] == [1, 3]
    assert report["cold_start"]["runs"] == 2
    assert report["cold_start"]["statuses"] == [200, 200]
    assert report["requests"] == 2 + sum(level["requests"] for level in levels)
    # The server's Python, as its /metrics says (the server runs on this test's interpreter).
    assert report["interpreter_of"] == "server"
    assert report["interpreter"] == asdict(interpreter_build())
    for level in levels:
        assert level["requests"] > 0, level
        assert level["ok"] == level["requests"], level
        assert level["errors"] == {}, level
        assert level["server_calls"] == level["requests"], level
        latency = level["latency_ms"]
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"], latency
        assert level["cpu_ms_per_call"] > 0, level
        assert level["heap_bytes"] > 0, level
        assert level["isolates_max"] >= 1, level
    # The server saw exactly the bench's calls: in its metrics and in its execution history.
    assert invocations(server, "triv") == report["requests"]
    records = written_executions(admin, "triv", min(report["requests"], 1000))
    assert len(records) == min(report["requests"], 1000)
    # Each cold start bumped the version once.
    assert report["version_after"] == report["version_before"] + 2
    assert admin.get("/api/v1/functions/triv").json()["version"] == report["version_after"]
    assert report["limit"]["setting"] in {
        "workers", "CPU", "isolates per function", "the bench client", "concurrency per isolate",
    }  # fmt: skip
    assert report["limit"]["suggestion"]


def test_cpu_time_per_call_tells_a_busy_function_from_a_trivial_one(start_server, tmp_path):
    server = start_server()
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "triv", TRIVIAL)
    deploy(admin, "busy", BUSY)
    cpu = {}
    for name in ("triv", "busy"):
        done = bench(server, tmp_path, name, "--concurrency", "1", "--duration", "1",
                     "--cold-starts", "0", "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["version_after"] == report["version_before"]  # left as it was
        cpu[name] = report["levels"][0]["cpu_ms_per_call"]
    assert cpu["busy"] > 5 * cpu["triv"], cpu


def test_the_table_names_the_limit_and_a_suggestion(start_server, tmp_path):
    server = start_server()
    deploy(server.client(ADMIN_TOKEN), "triv", TRIVIAL)
    done = bench(server, tmp_path, "triv", "--concurrency", "2", "--duration", "0.5",
                 "--cold-starts", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"flux-edge bench triv at {server.url}"
    assert lines[1].startswith(f"python: {platform.python_version()} (")
    assert lines[1].endswith("), the server's")
    assert lines[2].startswith("cold start (first call after a version bump, 1 runs): median ")
    assert lines[3].split() == [
        "conc", "req/s", "p50", "ms", "p90", "ms", "p99", "ms", "errors", "cpu", "ms/call",
        "heap", "MB", "isolates",
    ]  # fmt: skip
    assert lines[4].split()[0] == "2"
    assert lines[-2].startswith("limited by: ")
    assert lines[-1].startswith("suggestion: ")
    assert done.stderr == ""  # no progress line when stderr is not a terminal


def test_without_the_servers_metrics_the_python_named_is_the_benchs_own(start_server, tmp_path):
    # The server wants a scrape token the bench is not given: its Python is not known, so the
    # report names the bench's own as such, and the advice names none.
    server = start_server(extra_env={"FLUX_EDGE_METRICS_TOKEN": "scrape-secret"})
    deploy(server.client(ADMIN_TOKEN), "triv", TRIVIAL)
    options = ("triv", "--concurrency", "2", "--duration", "0.5", "--cold-starts", "0")
    done = bench(server, tmp_path, *options, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["metrics_available"] is False
    assert report["interpreter_of"] == "bench"
    assert report["interpreter"] == asdict(interpreter_build())
    assert "PLT" not in report["limit"]["suggestion"]
    table = bench(server, tmp_path, *options)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].endswith(
        "), this bench's own: the server's /metrics did not say which it runs on"
    )


def bench_in_process(data_dir: Path, tmp_path: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no login config, no token: none needed
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", "bench", *args, "--in-process",
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


THROWS = "export default { fetch() { throw new TypeError('no') } }"


def test_an_in_process_run_calls_the_stored_function_and_leaves_the_server_alone(
    start_server, tmp_path
):
    server = start_server()
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "triv", TRIVIAL)
    deploy(admin, "fails", THROWS)
    version = admin.get("/api/v1/functions/triv").json()["version"]
    done = bench_in_process(server.data_dir, tmp_path, "triv", *LEVELS, "--cold-starts", "2",
                            "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["url"], report["in_process"]) == (None, str(server.data_dir))
    assert report["interpreter_of"] == "in-process"
    assert report["interpreter"] == asdict(interpreter_build())
    assert report["cold_start"]["statuses"] == [200, 200]
    assert report["version_after"] == report["version_before"] == version
    for level in report["levels"]:
        assert level["requests"] > 0, level
        assert level["ok"] == level["requests"], level
        assert level["errors"] == {}, level
        assert level["server_calls"] is None, level
        assert level["cpu_ms_per_call"] > 0, level
        assert level["heap_bytes"] > 0, level
        assert level["isolates_max"] >= 1, level
    assert report["limit"]["setting"] in {
        "the runtime's Python", "the calling event loop", "CPU", "isolates per function",
        "concurrency per isolate",
    }  # fmt: skip
    # Nothing of it reached the server: no calls counted, no records, no new version.
    assert invocations(server, "triv") == 0
    assert admin.get("/api/v1/functions/triv/executions").json() == []
    assert admin.get("/api/v1/functions/triv").json()["version"] == version
    # A function that throws answers 500, counted as errors.
    failing = bench_in_process(server.data_dir, tmp_path, "fails", "--concurrency", "1",
                               "--duration", "0.5", "--cold-starts", "0", "--json")  # fmt: skip
    assert failing.returncode == 0, failing.stderr
    level = json.loads(failing.stdout)["levels"][0]
    assert level["ok"] == 0, level
    assert level["errors"] == {"500": level["requests"]}, level
    table = bench_in_process(server.data_dir, tmp_path, "triv", "--concurrency", "2",
                             "--duration", "0.5", "--cold-starts", "1")  # fmt: skip
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == f"flux-edge bench triv in process ({server.data_dir})"
    assert lines[1].endswith("), this process's, which ran the calls")
    assert lines[2].startswith("cold start (first call of a new version, 1 runs): median ")


def test_an_in_process_run_explains_what_it_cannot_do(start_server, tmp_path):
    server = start_server()
    deploy(server.client(ADMIN_TOKEN), "off", TRIVIAL, enabled=False)
    cases = [
        (server.data_dir, ("nope",), 1, "no function named 'nope' in "),
        (server.data_dir, ("off",), 1, "'off' is disabled"),
        (tmp_path / "empty", ("off",), 1, "no database at "),
        (server.data_dir, ("off", "--url", server.url), 2, "--in-process runs without a server"),
    ]
    for data_dir, args, status, message in cases:
        done = bench_in_process(data_dir, tmp_path, *args, "--duration", "0.5")
        assert done.returncode == status, (args, done.stderr)
        assert message in done.stderr, done.stderr
    assert not (tmp_path / "empty").exists()  # no database made where none was
    no_flag = bench(server, tmp_path, "off", "--data-dir", str(server.data_dir))
    assert no_flag.returncode == 2
    assert "--data-dir is for --in-process" in no_flag.stderr


def test_errors_are_one_clear_line(start_server, tmp_path):
    server = start_server()
    admin = server.client(ADMIN_TOKEN)
    deploy(admin, "off", TRIVIAL, enabled=False)
    cases = [
        (("nope", *LEVELS), ADMIN_TOKEN, 1, "no function named 'nope'"),
        (("off", *LEVELS), ADMIN_TOKEN, 1, "'off' is disabled"),
        (("off", *LEVELS), None, 1, "refused the credential"),
        (("off", "--concurrency", "0"), ADMIN_TOKEN, 2, "concurrency levels must be"),
        (("off", "--concurrency", "a,b"), ADMIN_TOKEN, 2, "concurrency levels must be"),
        (("off", "--duration", "0"), ADMIN_TOKEN, 2, "Invalid value for '--duration'"),
    ]
    for args, token, status, message in cases:
        done = bench(server, tmp_path, *args, token=token)
        assert done.returncode == status, (args, done.stderr)
        assert done.stderr.startswith("flux-edge: "), done.stderr
        assert message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_terminal_gets_a_progress_line(start_server, tmp_path):
    import pty

    server = start_server()
    deploy(server.client(ADMIN_TOKEN), "triv", TRIVIAL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    env.update({"XDG_CONFIG_HOME": str(tmp_path / "config"), "FLUX_EDGE_TOKEN": ADMIN_TOKEN})
    primary, secondary = pty.openpty()  # stderr is a terminal, stdout a pipe
    with subprocess.Popen(
        [sys.executable, "-m", "flux_edge", "bench", "triv", "--url", server.url,
         "--concurrency", "2", "--duration", "2.5", "--cold-starts", "1", "--json"],
        stdout=subprocess.PIPE, stderr=secondary, env=env,
    ) as process:  # fmt: skip
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        stdout = process.stdout.read() if process.stdout else b""
        assert process.wait(timeout=60) == 0
    os.close(primary)
    text = shown.decode()
    assert "cold start: 1 version bumps and first calls" in text, text
    assert "c=2: " in text, text
    assert " requests, 0 errors, " in text, text
    assert text.endswith("\r\x1b[K"), text  # the line is cleared at the end
    assert json.loads(stdout)["levels"][0]["concurrency"] == 2
