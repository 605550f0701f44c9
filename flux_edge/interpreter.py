"""How the running Python was built, as far as flux-edge's speed goes.

flux-edge's server and isolate hosts spend most of a call's CPU in the interpreter. A libpython
built with `--enable-shared` and without `--enable-optimizations` (pyenv's default) calls its own
exported functions through its PLT, an indirect jump each, and is not profile-guided: on it
flux-edge served x0.85-0.90 the requests it served on Debian's python3.11 (docs/install.md,
"Which Python"). A server reports its build on `/metrics` (`flux_edge_python_info`), and
`flux-edge bench` reports it and advises on it.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.construct import ConstructError
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import SymbolTableSection

# The prefixes of libpython's own exported functions (the C API and its internals).
_OWN_PREFIXES = ("Py", "_Py")


@dataclass(frozen=True)
class InterpreterBuild:
    """The running Python: its version, executable and libpython."""

    version: str
    executable: str
    libpython: str | None  # the shared libpython this process maps; None: linked in, or no /proc
    calls_through_plt: int | None  # of libpython's own functions; None: not known
    frozen: bool = False  # the one-file binary, which carries the libpython it was built with

    @property
    def slow_calls(self) -> bool:
        """Its libpython calls its own functions through the PLT."""
        return bool(self.calls_through_plt)


def describe(python: InterpreterBuild) -> str:
    """The interpreter in a few words: version, executable, how its libpython is linked."""
    if python.libpython is None:
        linked = "libpython linked in, or not found"
    elif python.calls_through_plt is None:
        linked = f"shared {python.libpython}"
    else:
        linked = (
            f"shared {python.libpython}, {python.calls_through_plt} of its own functions called "
            "through the PLT"
        )
    return f"{python.version} ({python.executable}; {linked})"


def interpreter_build(maps: Path = Path("/proc/self/maps")) -> InterpreterBuild:
    """This process's Python (on Linux; elsewhere its libpython is not looked for)."""
    library = _libpython(maps)
    return InterpreterBuild(
        version=platform.python_version(),
        executable=sys.executable,
        libpython=library,
        calls_through_plt=None if library is None else calls_through_plt(Path(library)),
        frozen=bool(getattr(sys, "frozen", False)),
    )


@cache
def running_interpreter() -> InterpreterBuild:
    """`interpreter_build()` of this process, read once (reading the ELF takes ~40 ms)."""
    return interpreter_build()


def as_labels(python: InterpreterBuild) -> dict[str, str]:
    """The build as the labels of a Prometheus info metric (an unknown value is empty)."""
    return {
        "version": python.version,
        "executable": python.executable,
        "libpython": python.libpython or "",
        "calls_through_plt": ""
        if python.calls_through_plt is None
        else str(python.calls_through_plt),
        "frozen": "true" if python.frozen else "false",
    }


def from_labels(labels: dict[str, str]) -> InterpreterBuild | None:
    """The build `as_labels` described; None when the labels are not such a description."""
    try:
        plt = labels["calls_through_plt"]
        return InterpreterBuild(
            version=labels["version"],
            executable=labels["executable"],
            libpython=labels["libpython"] or None,
            calls_through_plt=int(plt) if plt else None,
            frozen=labels["frozen"] == "true",
        )
    except (KeyError, ValueError):
        return None


def calls_through_plt(library: Path) -> int | None:
    """How many of its own `Py*` functions the ELF shared library `library` calls through its
    PLT (its jump-slot relocations to them); None when it cannot be read as one."""
    try:
        with library.open("rb") as file:
            elf = ELFFile(file)
            relocations = elf.get_section_by_name(".rela.plt") or elf.get_section_by_name(
                ".rel.plt"
            )
            if relocations is None:
                return 0  # no PLT: every call is direct
            if not isinstance(relocations, RelocationSection):
                return None
            symbols = elf.get_section(relocations["sh_link"])
            if not isinstance(symbols, SymbolTableSection):
                return None
            return sum(
                1
                for relocation in relocations.iter_relocations()
                if symbols.get_symbol(relocation["r_info_sym"]).name.startswith(_OWN_PREFIXES)
            )
    except (OSError, ELFError, ConstructError):  # not a readable ELF library
        return None


def _libpython(maps: Path) -> str | None:
    try:
        text = maps.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        path = line.rpartition(" ")[2]
        if path.startswith("/") and Path(path).name.startswith("libpython"):
            return path
    return None
