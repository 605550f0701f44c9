"""How the running Python was built (flux_edge/interpreter.py): a shared library's calls to its own
`Py*` functions through its PLT, counted in real ELF files built here with gcc, and this process's
own interpreter."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from flux_edge.interpreter import (
    InterpreterBuild,
    as_labels,
    calls_through_plt,
    describe,
    from_labels,
    interpreter_build,
    running_interpreter,
)

# Two exported Py* functions called from a third, an exported function of another name, and libc.
SOURCE = """
#include <string.h>
int Py_One(int x) { return x + 1; }
int _Py_Two(int x) { return x * 2; }
int other(int x) { return x - 3; }
int Py_All(const char *s) { return Py_One((int)strlen(s)) + _Py_Two(1) + other(5); }
"""


def shared_library(folder: Path, name: str, *flags: str) -> Path:
    source = folder / "lib.c"
    source.write_text(SOURCE)
    library = folder / name
    subprocess.run(
        ["gcc", "-O2", "-fPIC", "-shared", *flags, "-o", str(library), str(source)], check=True
    )
    return library


def test_calls_to_its_own_py_functions_through_the_plt_are_counted(tmp_path):
    # Exported functions of a shared library may be interposed, so gcc calls them through the
    # PLT (pyenv's default libpython); other() and strlen() are not Python's.
    library = shared_library(tmp_path, "libpython3.99.so.1.0")
    assert calls_through_plt(library) == 2


def test_calls_bound_inside_the_library_are_not(tmp_path):
    # -Bsymbolic-functions binds them at link time, as -fno-semantic-interposition does at
    # compile time (--enable-optimizations; Debian's libpython3.11).
    library = shared_library(tmp_path, "libpython3.99.so.1.0", "-Wl,-Bsymbolic-functions")
    assert calls_through_plt(library) == 0


def test_a_file_that_is_not_a_shared_library_is_not_counted(tmp_path):
    text = tmp_path / "libpython3.99.so.1.0"
    text.write_text("not an ELF file\n")
    assert calls_through_plt(text) is None
    assert calls_through_plt(tmp_path / "missing.so") is None


def test_the_libpython_a_process_maps_is_the_one_examined(tmp_path):
    library = shared_library(tmp_path, "libpython3.99.so.1.0")
    maps = tmp_path / "maps"
    maps.write_text(
        "55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1 /usr/bin/python3.99\n"
        f"7f0000000000-7f0000001000 r-xp 00001000 fe:00 2 {library}\n"
        "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n"
    )
    found = interpreter_build(maps)
    assert (found.libpython, found.calls_through_plt, found.slow_calls) == (str(library), 2, True)
    assert (found.version, found.executable) == (platform.python_version(), sys.executable)


def test_an_executable_with_libpython_linked_in_has_none(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text("55d0c0a00000-55d0c0a01000 r-xp 00000000 fe:00 1 /usr/bin/python3.99\n")
    found = interpreter_build(maps)
    assert (found.libpython, found.calls_through_plt, found.slow_calls) == (None, None, False)
    assert interpreter_build(tmp_path / "no-maps").libpython is None  # not Linux


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/maps")
def test_this_process_is_described_by_the_libpython_it_runs_on():
    found = interpreter_build()
    mapped = {
        line.rpartition(" ")[2]
        for line in Path("/proc/self/maps").read_text().splitlines()
        if "/libpython" in line
    }
    assert found.libpython in (mapped or {None})
    if found.libpython is not None:
        assert isinstance(found.calls_through_plt, int)


def test_the_description_says_how_libpython_is_linked():
    def build(libpython: str | None, calls: int | None) -> str:
        return describe(InterpreterBuild("3.11.7", "/opt/py/bin/python3", libpython, calls))

    lib = "/opt/py/lib/libpython3.11.so.1.0"
    assert build(lib, 1042) == (
        f"3.11.7 (/opt/py/bin/python3; shared {lib}, 1042 of its own functions called through "
        "the PLT)"
    )
    assert build(lib, None) == f"3.11.7 (/opt/py/bin/python3; shared {lib})"
    assert build(None, None) == "3.11.7 (/opt/py/bin/python3; libpython linked in, or not found)"


def test_a_build_crosses_a_metrics_exposition_as_labels_and_back():
    for build in (
        InterpreterBuild("3.11.7", "/opt/py/bin/python3", "/opt/py/lib/libpython3.11.so.1.0", 1042),
        InterpreterBuild("3.11.2", "/usr/bin/python3", None, None),
        InterpreterBuild(
            "3.12.1", "/opt/app/flux-edge", "/opt/app/_internal/libpython3.12.so", 0, True
        ),
    ):
        labels = as_labels(build)
        assert all(isinstance(value, str) for value in labels.values())
        assert from_labels(labels) == build
    assert from_labels({"version": "3.11.7"}) is None  # not such a description
    assert from_labels({**as_labels(interpreter_build()), "calls_through_plt": "many"}) is None


def test_the_running_interpreter_is_read_once():
    assert running_interpreter() is running_interpreter()
    assert running_interpreter() == interpreter_build()
