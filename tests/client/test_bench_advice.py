"""The rules that name the setting limiting a `flux-edge bench` run, one measured shape each."""

from __future__ import annotations

import pytest

from flux_edge.client.bench import percentile
from flux_edge.client.bench_advice import diagnose
from flux_edge.interpreter import InterpreterBuild
from flux_edge.settings import Settings


def level(concurrency: int, rps: float, cpu_ms: float | None = 0.1, isolates: int = 1,
          errors: dict[str, int] | None = None, client_cpu: float = 0.3) -> dict:  # fmt: skip
    return {
        "concurrency": concurrency,
        "rps": rps,
        "cpu_ms_per_call": cpu_ms,
        "isolates_max": isolates,
        "errors": errors or {},
        "client_cpu": client_cpu,
    }


SETTINGS = Settings(workers=1, max_isolates_per_function=2)


@pytest.fixture(autouse=True)
def four_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)


def test_429s_name_the_rate_limit():
    found = diagnose([level(1, 100), level(4, 120, errors={"429": 7})], SETTINGS)
    assert found["setting"] == "rate limits"
    assert "7 requests" in found["reason"]
    assert "FLUX_EDGE_RATE_LIMIT_INVOKE" in found["suggestion"]


def test_503s_with_busy_isolates_name_the_isolates_per_function():
    found = diagnose([level(16, 150, cpu_ms=12, isolates=2, errors={"503": 3})], SETTINGS)
    assert found["setting"] == "isolates per function"
    assert "FLUX_EDGE_MAX_ISOLATES_PER_FUNCTION (now 2)" in found["suggestion"]


def test_503s_with_idle_isolates_name_the_queue():
    found = diagnose([level(16, 150, cpu_ms=0.1, errors={"503": 3})], SETTINGS)
    assert found["setting"] == "queue"


def test_a_client_using_a_core_names_itself():
    found = diagnose([level(1, 900), level(16, 950, client_cpu=0.97)], SETTINGS)
    assert found["setting"] == "the bench client"


def test_busy_isolates_at_their_cap_below_the_cores_name_isolates_per_function():
    # 2 isolates x 0.9 of the time: 180 req/s x 10 ms / 2.
    found = diagnose([level(1, 95, cpu_ms=10), level(4, 180, cpu_ms=10, isolates=2)], SETTINGS)
    assert found["setting"] == "isolates per function"
    assert "90%" in found["reason"]


def test_busy_isolates_below_their_cap_name_the_cpu():
    found = diagnose([level(1, 95, cpu_ms=10)], SETTINGS)
    assert found["setting"] == "CPU"


def test_many_calls_per_isolate_name_the_concurrency_per_isolate():
    settings = Settings(max_concurrency_per_isolate=8)
    found = diagnose([level(16, 1000, cpu_ms=0.1)], settings)
    assert found["setting"] == "concurrency per isolate"


def test_idle_isolates_name_the_workers():
    found = diagnose([level(1, 800, cpu_ms=0.2), level(16, 1500, cpu_ms=0.2)], SETTINGS)
    assert found["setting"] == "workers"
    assert "--workers 2 (one per two cores; now 1)" in found["suggestion"]
    assert "x1.88" in found["reason"]
    assert found["assumed"]["cores"] == 4


def test_idle_isolates_with_a_worker_per_two_cores_ask_for_more_cores():
    # Each worker's loop and its isolate hosts take about a core each: a third worker on four
    # cores would compete with the other two's hosts.
    settings = Settings(workers=2, max_isolates_per_function=2)
    found = diagnose([level(1, 800, cpu_ms=0.2), level(16, 1500, cpu_ms=0.2)], settings)
    assert found["setting"] == "workers"
    assert "more cores help" in found["suggestion"]


def python(calls_through_plt: int | None, libpython: str | None = "/opt/py/libpython3.11.so.1.0",
           frozen: bool = False) -> InterpreterBuild:  # fmt: skip
    return InterpreterBuild("3.11.7", "/opt/py/bin/python3", libpython, calls_through_plt, frozen)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_python_that_calls_itself_through_its_plt_is_named_when_python_is_the_cost(workers):
    levels = [level(1, 800, cpu_ms=0.2), level(16, 1500, cpu_ms=0.2)]
    settings = Settings(workers=workers, max_isolates_per_function=2)
    found = diagnose(levels, settings, interpreter=python(1042))
    assert found["setting"] == "workers"
    assert "--enable-optimizations" in found["suggestion"]
    assert "run it on a Python built with --enable-optimizations" in found["suggestion"]
    assert "calls 1042 of its own functions through the PLT" in found["suggestion"]
    # The workers' advice stays first.
    plain = diagnose(levels, settings)["suggestion"]
    assert found["suggestion"].startswith(plain + "; ")


def test_the_binary_is_told_to_be_rebuilt_on_such_a_python():
    levels = [level(1, 800, cpu_ms=0.2), level(16, 1500, cpu_ms=0.2)]
    found = diagnose(levels, SETTINGS, interpreter=python(1042, frozen=True))
    assert (
        "rebuild the binary from a Python built with --enable-optimizations" in found["suggestion"]
    )


@pytest.mark.parametrize(
    "build",
    [python(0), python(None), python(None, libpython=None)],
    ids=["calls-bound-inside", "unreadable", "linked-in"],
)
def test_a_python_without_such_calls_gets_no_advice(build):
    levels = [level(1, 800, cpu_ms=0.2), level(16, 1500, cpu_ms=0.2)]
    found = diagnose(levels, SETTINGS, interpreter=build)
    assert found == diagnose(levels, SETTINGS)


def test_the_interpreter_is_no_excuse_when_javascript_is_the_cost():
    # Busy isolates at their cap: the advice is about isolates, whatever the Python.
    levels = [level(1, 95, cpu_ms=10), level(4, 180, cpu_ms=10, isolates=2)]
    found = diagnose(levels, SETTINGS, interpreter=python(1042))
    assert found["setting"] == "isolates per function"
    assert "PLT" not in found["suggestion"]


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, q) for q in (0.5, 0.9, 0.99, 1.0)] == [50, 90, 99, 100]
    assert percentile([], 0.5) == 0
    assert percentile([3.0], 0.99) == 3


def test_in_process_a_busy_calling_loop_is_what_one_worker_serves():
    found = diagnose([level(1, 900), level(16, 9000, client_cpu=0.95)], SETTINGS, in_process=True)
    assert found["setting"] == "the calling event loop"
    assert "95% of a core at c=16" in found["reason"]
    assert "one worker" in found["suggestion"]


def test_in_process_idle_isolates_name_the_runtimes_python():
    slow = InterpreterBuild("3.11.7", "/opt/py/bin/python3", "/opt/py/lib/libpython3.11.so", 1042)
    levels = [level(1, 2000, cpu_ms=0.1), level(16, 16000, cpu_ms=0.025, client_cpu=0.3)]
    found = diagnose(levels, SETTINGS, interpreter=slow, in_process=True)
    assert found["setting"] == "the runtime's Python"
    assert "40%" in found["reason"]
    assert "isolate hosts' event loops" in found["reason"]
    assert "--concurrency" in found["suggestion"]
    assert "1042" in found["suggestion"]
    off = diagnose(levels, Settings(workers=1, isolate_hosts=False), in_process=True)
    assert "(this process)" in off["reason"]
    assert "PLT" not in off["suggestion"]
    # The same figures against a server name its workers.
    assert diagnose(levels, SETTINGS, interpreter=slow)["setting"] == "workers"
