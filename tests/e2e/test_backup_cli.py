"""`flux-edge backup` / `restore` as a user runs them: backup while serving, restore, invoke."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ADMIN_TOKEN
from tests.e2e.cli_run import flux_edge_on_terminal

HELLO = "export default { fetch: () => new Response('hello v' + 2) }"


def flux_edge(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_EDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "flux_edge", *args],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_a_backup_taken_while_serving_restores_into_a_fresh_data_dir(start_server, tmp_path):
    original = start_server(tmp_path / "original")
    admin = original.client(ADMIN_TOKEN)
    body = {"name": "kept", "code": "export default { fetch: () => new Response('v1') }"}
    assert admin.post("/api/v1/functions", json={**body, "enabled": True}).status_code == 201
    assert admin.put("/api/v1/functions/kept", json={"code": HELLO}).status_code == 200
    backup_file = tmp_path / "kept.db"

    saved = flux_edge("backup", "--data-dir", str(original.data_dir), str(backup_file))
    assert saved.returncode == 0, saved.stderr
    assert f"to {backup_file}" in saved.stderr
    again = flux_edge("backup", "--data-dir", str(original.data_dir), str(backup_file))
    assert again.returncode == 1
    assert again.stderr.strip().endswith("pass --force to overwrite it")

    # The running server's database is not replaced without --force.
    refused = flux_edge("restore", "--data-dir", str(original.data_dir), str(backup_file))
    assert refused.returncode == 1
    assert "is running on" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    fresh = tmp_path / "fresh"
    restored = flux_edge("restore", "--data-dir", str(fresh), str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert flux_edge("restore", "--data-dir", str(fresh), str(backup_file)).returncode == 1

    copy = start_server(fresh)
    assert copy.client().post("/api/v1/functions/kept/invoke").text == "hello v2"
    versions = copy.client(ADMIN_TOKEN).get("/api/v1/functions/kept/versions").json()
    assert len(versions) == 2


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    result = flux_edge("restore", "--data-dir", str(tmp_path / "d"), str(junk))
    assert result.returncode == 1
    assert "is not a SQLite database" in result.stderr
    missing = flux_edge("backup", "--data-dir", str(tmp_path / "none"), str(tmp_path / "b.db"))
    assert missing.returncode == 1
    assert "no flux-edge database" in missing.stderr


def test_backup_and_restore_show_page_progress_on_a_terminal_only(start_server, tmp_path):
    original = start_server(tmp_path / "original")
    body = {"name": "kept", "code": HELLO, "enabled": True}
    assert original.client(ADMIN_TOKEN).post("/api/v1/functions", json=body).status_code == 201
    data_dir = str(original.data_dir)

    status, out, shown = flux_edge_on_terminal(
        "backup", "--data-dir", data_dir, str(tmp_path / "t.db")
    )
    assert status == 0, shown
    assert out == ""  # progress never reaches stdout
    pages = re.search(r"\((\d+) pages\)", shown)
    assert pages, shown
    assert f"backup: 100% of {pages[1]} pages" in shown

    status, out, shown = flux_edge_on_terminal(
        "restore", "--data-dir", str(tmp_path / "fresh"), str(tmp_path / "t.db")
    )
    assert status == 0, shown
    assert out == ""
    assert f"restore: 100% of {pages[1]} pages" in shown

    piped = flux_edge("backup", "--data-dir", data_dir, str(tmp_path / "p.db"))
    assert piped.returncode == 0, piped.stderr
    assert "% of" not in piped.stderr  # a script's log gets the result line only
    assert piped.stderr.strip().splitlines() == [
        f"backed up {original.database_path} to {tmp_path / 'p.db'} ({pages[1]} pages)"
    ]
