"""The machine's CPUs and memory as the server counts them (flux_edge/machine.py): affinity,
container limits of both cgroup versions read from cgroup trees laid out as the kernel lays them
out, and the default worker count they give."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flux_edge.machine import cpu_count, default_workers, memory_mb, workers_for
from flux_edge.settings import Settings, load_settings

GIB = 2**30


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_v2_cpu_quota_and_memory_limit_count_the_tightest_of_the_cgroup_and_its_parents(
    tmp_path,
):
    cgroups = tree(
        tmp_path / "fs",
        {
            "cpu.max": "max 100000\n",  # the root: no limit
            "system.slice/cpu.max": "150000 100000\n",  # 1.5 CPUs: counted as 2
            "system.slice/memory.max": f"{3 * GIB}\n",
            "system.slice/app.service/cpu.max": "max 100000\n",
            "system.slice/app.service/memory.max": f"{2 * GIB}\n",
        },
    )
    membership = tree(tmp_path, {"cgroup": "0::/system.slice/app.service\n"}) / "cgroup"
    assert cpu_count(cgroups, membership) == min(2, len(os.sched_getaffinity(0)))
    assert memory_mb(cgroups, membership) == 2048


def test_a_v1_quota_is_divided_by_its_period_and_an_unlimited_v1_memory_is_no_limit(tmp_path):
    cgroups = tree(
        tmp_path / "fs",
        {
            "cpu,cpuacct/box/cpu.cfs_quota_us": "50000\n",  # half a CPU: counted as 1
            "cpu,cpuacct/box/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            "memory/box/memory.limit_in_bytes": "9223372036854771712\n",
        },
    )
    membership = tree(tmp_path, {"cgroup": "4:memory:/box\n3:cpu,cpuacct:/box\n0::/\n"})
    assert cpu_count(cgroups, membership / "cgroup") == 1
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert memory_mb(cgroups, membership / "cgroup") == physical


def test_a_v2_tree_mounted_beside_v1_controllers_is_read_from_unified(tmp_path):
    cgroups = tree(tmp_path / "fs", {"unified/job/memory.max": f"{GIB // 2}\n"})
    membership = tree(tmp_path, {"cgroup": "4:memory:/\n0::/job\n"})
    assert memory_mb(cgroups, membership / "cgroup") == 512


def test_cgroup_files_that_make_no_sense_limit_nothing(tmp_path):
    cgroups = tree(
        tmp_path / "fs",
        {"cpu.max": "lots\n", "a/cpu.max": "100000 0\n", "a/b/cpu.max": "5\n", "memory.max": ""},
    )
    membership = tree(tmp_path, {"cgroup": "garbage\n0::/a/b\n"}) / "cgroup"
    assert cpu_count(cgroups, membership) == len(os.sched_getaffinity(0))
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert memory_mb(cgroups, membership) == physical


def test_no_cgroup_files_leave_the_affinity_and_the_physical_memory(tmp_path):
    missing = tmp_path / "none"
    assert cpu_count(missing, missing) == len(os.sched_getaffinity(0))
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert memory_mb(missing, missing) == physical


def test_a_worker_per_two_cpus_and_at_most_one_per_gib_of_memory():
    assert [workers_for(cpus, 64 * 1024) for cpus in (1, 2, 3, 4, 5, 8, 64)] == [
        1,
        1,
        1,
        2,
        2,
        4,
        32,
    ]
    assert workers_for(8, 16 * 1024) == 4
    assert workers_for(8, 2 * 1024) == 2  # memory-bound
    assert workers_for(8, 1500) == 1
    assert workers_for(4, 512) == 1  # never none


def test_the_default_worker_count_follows_the_cpus_this_process_may_use():
    # Run with its affinity set to each CPU count this machine allows.
    cpus = sorted(os.sched_getaffinity(0))
    for count in range(1, len(cpus) + 1):
        script = (
            "import os; "
            f"os.sched_setaffinity(0, {cpus[:count]!r}); "
            "from flux_edge.settings import load_settings; "
            "print(load_settings(environ={}).workers)"
        )
        ran = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert int(ran.stdout) == workers_for(count, memory_mb())


def test_the_environment_or_a_flag_sets_the_worker_count_instead():
    assert load_settings(environ={"FLUX_EDGE_WORKERS": "3"}).workers == 3
    assert load_settings({"workers": 5}, environ={"FLUX_EDGE_WORKERS": "3"}).workers == 5
    assert Settings().workers == default_workers()
