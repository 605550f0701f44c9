"""The file jail holds: no way out by `..`, absolute paths or symlinks; flags and quota apply."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from flux_edge.runtime import Permissions
from tests.runtime.capabilities.conftest import RunFunction, answer

ENTRY = 4096  # what each file or directory costs in the quota besides its bytes
QUOTA = 3 * ENTRY + 1000

TRY = """
  try {{ const value = await {call}; return ["ok", value === undefined ? null : String(value)]; }}
  catch (e) {{ return [e.name, e.message]; }}
"""


def listing(directory: Path) -> list[str]:
    """Names in a directory, sorted (a sync helper: async tests must not block on pathlib)."""
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def bridge_options() -> dict[str, Any]:
    return {"file_quota_bytes": QUOTA}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the jail holding a secret file."""
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("server secret")
    (tmp_path / "jail").mkdir()
    return secret_dir


@pytest.mark.parametrize(
    "call",
    [
        'Deno.readTextFile("../outside/secret.txt")',
        'Deno.readTextFile("a/../../outside/secret.txt")',
        'Deno.readTextFile("/etc/passwd")',
        'Deno.writeTextFile("../outside/planted.txt", "x")',
        'Deno.mkdir("../outside/newdir")',
        'Deno.remove("../outside/secret.txt")',
        'Deno.stat("..")',
        'Deno.readDir("/")[Symbol.asyncIterator]().next()',
    ],
)
async def test_paths_outside_the_directory_are_refused(
    run_js: RunFunction, outside: Path, call: str
):
    name, message = answer(await run_js(TRY.format(call=call)))
    assert name == "PermissionDenied"
    assert "outside the function's directory" in message
    assert listing(outside) == ["secret.txt"]


async def test_an_absolute_path_to_another_directory_is_refused(run_js: RunFunction, outside: Path):
    name, _ = answer(await run_js(TRY.format(call=f'Deno.readTextFile("{outside}/secret.txt")')))
    assert name == "PermissionDenied"


@pytest.mark.parametrize(
    "call",
    [
        'Deno.readTextFile("link/secret.txt")',
        'Deno.readTextFile("file-link")',
        'Deno.writeTextFile("file-link", "overwritten")',
        'Deno.writeTextFile("link/planted.txt", "x")',
        'Deno.stat("file-link")',
        'Deno.mkdir("link/sub")',
        'Deno.remove("link/secret.txt")',
    ],
)
async def test_symlinks_planted_inside_pointing_outside_are_refused(
    run_js: RunFunction, tmp_path: Path, outside: Path, call: str
):
    jail = tmp_path / "jail"
    os.symlink(outside, jail / "link")
    os.symlink(outside / "secret.txt", jail / "file-link")
    name, message = answer(await run_js(TRY.format(call=call)))
    assert name == "PermissionDenied"
    assert "through a symlink" in message
    assert (outside / "secret.txt").read_text() == "server secret"
    assert listing(outside) == ["secret.txt"]


async def test_removing_a_planted_symlink_removes_only_the_link(
    run_js: RunFunction, tmp_path: Path, outside: Path
):
    jail = tmp_path / "jail"
    os.symlink(outside, jail / "link")
    assert answer(await run_js(TRY.format(call='Deno.remove("link", { recursive: true })'))) == [
        "ok",
        None,
    ]
    assert not (jail / "link").exists()
    assert (outside / "secret.txt").read_text() == "server secret"


async def test_a_symlink_that_stays_inside_is_followed(run_js: RunFunction, tmp_path: Path):
    jail = tmp_path / "jail"
    jail.mkdir()
    (jail / "real.txt").write_text("inside")
    os.symlink("real.txt", jail / "alias.txt")
    assert answer(await run_js(TRY.format(call='Deno.readTextFile("alias.txt")'))) == [
        "ok",
        "inside",
    ]


async def test_the_directory_itself_cannot_be_removed(run_js: RunFunction, tmp_path: Path):
    (tmp_path / "jail").mkdir()
    (tmp_path / "jail" / "kept.txt").write_text("x")
    name, _ = answer(await run_js(TRY.format(call='Deno.remove(".", { recursive: true })')))
    assert name == "PermissionDenied"
    assert listing(tmp_path / "jail") == ["kept.txt"]


async def test_writes_past_the_quota_are_refused(run_js: RunFunction, tmp_path: Path):
    result = await run_js(f"""
        await Deno.writeTextFile("a.txt", "x".repeat({QUOTA - ENTRY - 100}));
        // Replacing a file counts its new size, not both.
        await Deno.writeTextFile("a.txt", "y".repeat({QUOTA - ENTRY - 50}));
        const errors = [];
        for (const write of [
          () => Deno.writeTextFile("b.txt", "z".repeat(51)),
          () => Deno.writeTextFile("a.txt", "z".repeat(51), {{ append: true }}),
        ]) {{
          try {{ await write(); }} catch (e) {{ errors.push([e.name, e instanceof Deno.errors.QuotaExceeded]); }}
        }}
        await Deno.writeTextFile("a.txt", "z".repeat(50), {{ append: true }});  // exactly at it
        return errors;
    """)
    assert answer(result) == [["QuotaExceeded", True], ["QuotaExceeded", True]]
    jail = tmp_path / "jail"
    files = list(jail.iterdir())
    assert sum(p.stat().st_size for p in files) + ENTRY * len(files) == QUOTA


async def test_entries_count_in_the_quota_and_removing_gives_it_back(
    run_js: RunFunction, tmp_path: Path
):
    result = await run_js("""
        const seen = [];
        const attempt = async (f) => {
          try { await f(); seen.push("ok") } catch (e) { seen.push(e.name) }
        };
        await attempt(() => Deno.mkdir("a/b/c", { recursive: true }));  // three entries: full
        await attempt(() => Deno.writeTextFile("empty", ""));  // an empty file is an entry too
        await attempt(() => Deno.mkdir("d"));
        await attempt(() => Deno.remove("a", { recursive: true }));
        await attempt(() => Deno.writeTextFile("f", "x".repeat(1000)));
        await attempt(() => Deno.mkdir("d"));
        await attempt(() => Deno.mkdir("e"));
        return seen;
    """)
    assert answer(result) == [
        "ok", "QuotaExceeded", "QuotaExceeded", "ok", "ok", "ok", "ok"
    ]  # fmt: skip
    assert (tmp_path / "jail.usage").read_text() == str(3 * ENTRY + 1000)


async def test_reading_needs_allow_read(run_js: RunFunction, tmp_path: Path):
    (tmp_path / "jail").mkdir()
    (tmp_path / "jail" / "f.txt").write_text("x")
    for call in ('Deno.readTextFile("f.txt")', 'Deno.stat("f.txt")', 'Deno.readFile("f.txt")'):
        name, message = answer(
            await run_js(
                TRY.format(call=call), permissions=Permissions(allow_read=False, allow_write=True)
            )
        )
        assert (name, "allow_read is false" in message) == ("PermissionDenied", True)


async def test_writing_needs_allow_write(run_js: RunFunction, tmp_path: Path):
    for call in (
        'Deno.writeTextFile("f.txt", "x")',
        'Deno.mkdir("d")',
        'Deno.remove("f.txt")',
    ):
        name, message = answer(
            await run_js(
                TRY.format(call=call), permissions=Permissions(allow_read=True, allow_write=False)
            )
        )
        assert (name, "allow_write is false" in message) == ("PermissionDenied", True)
    assert not (tmp_path / "jail" / "f.txt").exists()
    assert not (tmp_path / "jail" / "d").exists()


async def test_python_refuses_file_operations_the_flags_do_not_grant(tmp_path: Path):
    # Drives the bridge directly: its checks do not depend on the JavaScript ones.
    from flux_edge.runtime import FunctionSpec, HostOpError
    from flux_edge.runtime.capabilities import CapabilityBridge
    from tests.runtime.conftest import make_request

    bridge = CapabilityBridge()
    spec = FunctionSpec(
        function_id="f",
        name="f",
        version=1,
        compiled="",
        permissions=Permissions(allow_read=False, allow_write=False),
        files_dir=str(tmp_path),
    )
    for kind, payload in (
        ("fs.readTextFile", {"path": "x"}),
        ("fs.writeFile", {"path": "x", "base64": "eA=="}),
        ("fs.mkdir", {"path": "d"}),
    ):
        with pytest.raises(HostOpError) as raised:
            await bridge.run(kind, payload, make_request(), spec, deadline=1e18)
        assert raised.value.type == "PermissionDenied"
    assert listing(tmp_path) == []


@pytest.mark.parametrize("operation", ["read", "stat", "write"])
def test_a_symlink_swapped_in_after_the_check_is_not_followed(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, operation: str
):
    # Stand in for the race: the path check saw a plain directory, then "link" became a symlink.
    from flux_edge.runtime import HostOpError
    from flux_edge.runtime.capabilities.files import FileJail

    jail = FileJail(str(tmp_path / "jail"), quota_bytes=QUOTA, max_read_bytes=QUOTA)
    os.symlink(outside, tmp_path / "jail" / "link")
    monkeypatch.setattr(FileJail, "_canonical", lambda self, path, op, follow_last: path.split("/"))
    run = {
        "read": lambda: jail.read("link/secret.txt"),
        "stat": lambda: jail.stat("link/secret.txt"),
        "write": lambda: jail.write(
            "link/secret.txt", b"x", append=False, create=True, create_new=False
        ),
    }[operation]
    with pytest.raises(HostOpError) as raised:
        run()
    assert raised.value.type == "PermissionDenied"
    assert (outside / "secret.txt").read_text() == "server secret"
