"""What this machine gives the server: CPUs and memory, container limits included, and the number
of workers they call for. Linux reads its cgroup limits (v2 and v1); elsewhere only the CPU count
and the physical memory count."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

from flux_edge.runtime.cpus import usable_cpus

_CGROUPS = Path("/sys/fs/cgroup")
_MEMBERSHIP = Path("/proc/self/cgroup")  # which cgroup this process is in, per hierarchy
# A worker with its zygote, spare isolate hosts and one function's host takes ~140-190 MB (PSS,
# docs/decisions.md), more with more functions: at most one per GiB, so that workers alone do not
# fill a small device.
MEMORY_PER_WORKER_MB = 1024


def default_workers() -> int:
    """The worker count `flux-edge serve` starts when none is set: `workers_for` this machine."""
    return workers_for(cpu_count(), memory_mb())


def workers_for(cpus: int, memory: int) -> int:
    """One worker per two CPUs, at most one per GiB of memory (`memory` in MiB), at least one.

    A worker's event loop takes about one CPU and its isolate hosts most of another
    (docs/performance.md, "The tenth pass"), so on this project's 2-core machine a second worker
    serves no more (x0.95-1.14 of one; since the workers share each function's isolate host, at
    the same CPU per call, "The eighteenth pass")."""
    return max(1, min(cpus // 2, memory // MEMORY_PER_WORKER_MB))


def cpu_count(cgroups: Path = _CGROUPS, membership: Path = _MEMBERSHIP) -> int:
    """How many CPUs this process may run on (its affinity), fewer under a cgroup CPU quota."""
    count = len(usable_cpus()) or os.cpu_count() or 1
    for quota in _cgroup_limits(cgroups, membership, "cpu.max", "cpu", "cpu.cfs_quota_us"):
        count = min(count, max(1, math.ceil(quota)))
    return count


def memory_mb(cgroups: Path = _CGROUPS, membership: Path = _MEMBERSHIP) -> int:
    """The machine's physical memory in MiB, less under a cgroup memory limit (a conservative
    4096 where the physical memory cannot be read)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        total = 4096
    limits = _cgroup_limits(cgroups, membership, "memory.max", "memory", "memory.limit_in_bytes")
    for limit in limits:
        total = min(total, int(limit) // 2**20)
    return total


def _cgroup_limits(
    cgroups: Path, membership: Path, v2_file: str, v1_controller: str, v1_file: str
) -> Iterator[float]:
    """Each limit set on this process's cgroup and its ancestors: bytes, or CPUs for the CPU
    quota (v1's quota file is divided by its period here)."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, path = fields
        if controllers == "":
            root = cgroups / "unified" if (cgroups / "unified").is_dir() else cgroups
            yield from _limits_upwards(root, path, v2_file)
        elif v1_controller in controllers.split(","):
            yield from _limits_upwards(cgroups / controllers, path, v1_file)


def _limits_upwards(root: Path, path: str, name: str) -> Iterator[float]:
    directory = root / path.lstrip("/")
    while True:
        limit = _read_limit(directory / name)
        if limit is not None:
            yield limit
        if directory == root or root not in directory.parents:
            return
        directory = directory.parent


def _read_limit(file: Path) -> float | None:
    """A limit file's value: `max`/`-1`/huge mean none; cpu quotas come as CPUs. A file this
    cannot read or make sense of limits nothing."""
    try:
        fields = file.read_text().split()
        if not fields or fields[0] in ("max", "-1"):
            return None
        value = int(fields[0])
        if file.name == "cpu.max":
            return value / int(fields[1])
        if file.name == "cpu.cfs_quota_us":
            period = _read_period(file.with_name("cpu.cfs_period_us"))
            return value / period if period else None
    except (OSError, ValueError, IndexError, ZeroDivisionError):
        return None
    return value if value < 2**60 else None


def _read_period(file: Path) -> int | None:
    try:
        return int(file.read_text())
    except (OSError, ValueError):
        return None
