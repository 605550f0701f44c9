"""Every JavaScript/TypeScript function, curl and `flux-edge` example of README.md and docs/ runs.

Each markdown file gets a fresh server; its examples run in document order (a function block is
deployed, a curl block is run by bash, a node block by Node), so later examples can use what earlier
ones created, as a reader following the page would. The extraction rules are in docs/README.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import JWT_SECRET
from tests.e2e.doc_examples import (
    ROOT,
    Example,
    doc_files,
    expected_in_order,
    extract,
    node_program,
    shell_script,
)

CLIENTS_MODULES = ROOT / "tests" / "clients" / "node_modules"
FILES_WITH_EXAMPLES = [path for path in doc_files() if extract(path)]


def _run(argv: list[str], cwd: Path, example: Example, env: dict[str, str]) -> str:
    completed = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, (
        f"{example.where} ({example.kind} example) exited {completed.returncode}\n"
        f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    )
    missing = expected_in_order(example.expectations(), completed.stdout)
    assert missing is None, (
        f"{example.where}: expected output {missing!r} not found in:\n{completed.stdout}"
    )
    return completed.stdout


def _deploy(admin, example: Example) -> None:
    body = {"name": example.name, "code": example.text, "enabled": True, **example.settings}
    created = admin.post("/api/v1/functions", json=body)
    assert created.status_code == 201, f"{example.where}: deploy failed: {created.text}"


def _called_later(example: Example, examples: list[Example]) -> bool:
    later = examples[examples.index(example) + 1 :]
    # A URL path (curl, fetch) or a functions.invoke("name...") call.
    mentions = (f"/{example.name}", f'"{example.name}')
    return any(
        other.kind in ("shell", "node") and any(m in other.text for m in mentions)
        for other in later
    )


@pytest.mark.parametrize(
    "doc", FILES_WITH_EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in FILES_WITH_EXAMPLES]
)
def test_the_examples_of_a_doc_run(doc: Path, start_server, tmp_path):
    server = start_server()
    admin = server.client(server.admin_token)
    work = tmp_path / "work"
    work.mkdir()
    (work / "node_modules").symlink_to(CLIENTS_MODULES)
    # python3 in examples is this interpreter (it has PyJWT), however pytest was started.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "NODE_NO_WARNINGS": "1"}
    examples = extract(doc)
    for example in examples:
        if example.kind == "skip":
            continue
        if example.kind == "file":
            (work / example.name).write_text(example.text)
        elif example.kind == "function":
            _deploy(admin, example)
            if not _called_later(example, examples):
                # Nothing on the page calls it: it must at least answer a plain call.
                answer = server.client().post(f"/functions/v1/{example.name}", json={})
                assert answer.status_code < 500, f"{example.where}: {answer.text}"
        elif example.kind == "shell":
            script = shell_script(
                example,
                server.url,
                server.admin_token,
                JWT_SECRET,
                server.data_dir,
                work / ".config",
            )
            _run(["bash", "-c", script], work, example, env)
        else:
            node = shutil.which("node")
            assert node, "Node.js is not installed: .ci/run installs it"
            assert CLIENTS_MODULES.is_dir(), "run `npm ci` in tests/clients (.ci/run does)"
            program = work / f"example-{example.line}.mjs"
            program.write_text(node_program(example, server.url))
            _run([node, program.name], work, example, env)


def test_every_skipped_example_says_why():
    unexplained = [
        e.where for path in doc_files() for e in extract(path) if e.kind == "skip" and not e.reason
    ]
    assert unexplained == []


def test_the_extraction_finds_the_readme_quick_start():
    # Guards the rules themselves: if extraction broke, the test above would pass on nothing.
    kinds = [example.kind for example in extract(ROOT / "README.md")]
    assert {"file", "shell", "node"} <= set(kinds)
    daily_use = [e for e in extract(ROOT / "README.md") if "flux-edge functions invoke" in e.text]
    assert daily_use, "README's Daily use commands are no longer extracted"
