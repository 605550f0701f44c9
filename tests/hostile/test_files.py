"""Hostile file use: descriptor leaks on error paths, host errors that leak Python internals, and
a disk quota that directories and empty files must not bypass (issue 12, cases 5 and 8)."""

from __future__ import annotations

import httpx

from tests.conftest import ServerProcess

from .support import (
    SERVER_ENV,
    assert_record,
    assert_resources_back,
    baseline,
    delete_function,
    deploy,
    disk_bytes,
    function_dir,
    invoke,
    measured_attack,
)

# A small quota keeps the floods below quick; the accounting is the same at any size.
QUOTA = 4 * 1024 * 1024
SERVER_ENV = {**SERVER_ENV, "FLUX_EDGE_FILE_QUOTA_BYTES": str(QUOTA)}

READ_DIRECTORY = """
async function handler() {
  const kinds = new Set();
  let message = '';
  for (let i = 0; i < 500; i++) {
    try { await Deno.readFile('.') } catch (e) { kinds.add(e.constructor.name); message = e.message }
  }
  return {kinds: [...kinds], message};
}
"""


def test_reading_a_directory_leaks_no_descriptor_and_throws_a_clean_is_a_directory(
    server: ServerProcess, admin: httpx.Client, control: str
) -> None:
    name = deploy(admin, READ_DIRECTORY, timeout_seconds=20, allow_read=True)
    before = baseline(server)
    with measured_attack(server, admin, control):
        outcomes = [invoke(admin, name) for _ in range(4)]  # 2,000 failed reads
    for outcome in outcomes:
        assert_record(outcome, "success", 200)
        assert outcome.response.json() == {
            "kinds": ["IsADirectory"],
            "message": "Is a directory: read '.'",
        }
    delete_function(admin, name)
    assert_resources_back(server, before, rss_slack=256 * 1024 * 1024)


HOST_ERRORS = """
async function handler() {
  const out = {};
  const attempt = async (label, f) => {
    try { await f(); out[label] = 'ok' } catch (e) { out[label] = e.constructor.name + ': ' + e.message }
  };
  await Deno.writeTextFile('f', 'x');
  await attempt('readdir-of-file', async () => { for await (const e of Deno.readDir('f')) {} });
  await attempt('mkdir-under-file', () => Deno.mkdir('f/sub'));
  await attempt('write-to-dir', () => Deno.writeTextFile('.', 'x'));
  await attempt('long-name', () => Deno.writeTextFile('n'.repeat(300), 'x'));
  await attempt('deep', () => Deno.mkdir('d/'.repeat(200), {recursive: true}));
  return out;
}
"""


def test_host_errors_reach_javascript_as_deno_errors_without_python_internals(
    admin: httpx.Client, unharmed
) -> None:
    name = deploy(admin, HOST_ERRORS, allow_read=True, allow_write=True, timeout_seconds=5)
    outcome = invoke(admin, name)
    assert_record(outcome, "success", 200)
    seen = outcome.response.json()
    assert seen == {
        "readdir-of-file": "NotADirectory: Not a directory: readdir 'f'",
        "mkdir-under-file": "NotADirectory: Not a directory: mkdir 'f/sub'",
        "write-to-dir": "IsADirectory: Is a directory: write '.'",
        "long-name": f"TypeError: File name too long: write '{'n' * 300}'",
        "deep": "NotSupported: mkdir '" + "d/" * 100 + "': paths may be at most 128 levels deep",
    }
    for text in seen.values():
        assert "Errno" not in text
        assert "failed:" not in text
    unharmed()


MKDIR_FLOOD = """
async function handler(req) {
  const start = Number(req.body);
  for (let i = start; i < start + 4000; i++) {
    try { await Deno.mkdir('d' + i) }
    catch (e) { return {stopped: i, kind: e.constructor.name, message: e.message} }
  }
  return {stopped: null};
}
"""


def test_directories_count_in_the_quota_and_a_write_does_not_walk_the_tree(
    server: ServerProcess, admin: httpx.Client, control: str
) -> None:
    name = deploy(admin, MKDIR_FLOOD, allow_read=True, allow_write=True, timeout_seconds=30)
    answers = []
    with measured_attack(server, admin, control):
        for start in range(0, 8000, 4000):
            outcome = invoke(admin, name, str(start), timeout=60)
            assert_record(outcome, "success", 200)
            answers.append(outcome.response.json())
            if answers[-1]["stopped"] is not None:
                break
    stopped = answers[-1]
    # 4 KiB per directory: 1,024 fit in 4 MiB, none more.
    assert stopped["stopped"] == QUOTA // 4096
    assert stopped["kind"] == "QuotaExceeded"
    assert stopped["message"].startswith(f"mkdir 'd{QUOTA // 4096}': the function's files")
    jail = function_dir(server, admin, name)
    assert disk_bytes(jail) <= QUOTA + 4096

    delete_function(admin, name)
    assert not jail.exists()


def test_empty_files_count_in_the_quota(admin: httpx.Client, unharmed) -> None:
    name = deploy(
        admin,
        "async function handler() { for (let i = 0; ; i++) { try { await Deno.writeTextFile('f' + i, '') }"
        " catch (e) { return [i, e.constructor.name] } } }",
        allow_write=True,
        timeout_seconds=30,
    )
    outcome = invoke(admin, name, timeout=60)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == [QUOTA // 4096, "QuotaExceeded"]
    unharmed()
