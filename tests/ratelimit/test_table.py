"""The shared table: one budget per key across mappings and processes of the same file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flux_edge.ratelimit import Limit, RateLimiter, RatePolicy
from flux_edge.ratelimit.table import SharedTable

TEN = Limit(10, 60.0)
POLICY = RatePolicy(write=TEN, invoke=TEN)


class FixedClock:
    """A settable clock shared by the tables of a test."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def admitted(table: SharedTable, key: str, times: int, limit: Limit = TEN) -> int:
    return sum(table.check(key, limit).allowed for _ in range(times))


def test_two_mappings_of_one_file_share_a_budget(tmp_path):
    clock = FixedClock()
    one = SharedTable(tmp_path / "rl.bin", clock=clock)
    two = SharedTable(tmp_path / "rl.bin", clock=clock)
    try:
        assert admitted(one, "k", 6) == 6
        assert admitted(two, "k", 6) == 4
    finally:
        one.close()
        two.close()


def test_another_process_shares_the_budget(tmp_path):
    path = tmp_path / "rl.bin"
    script = (
        "import sys; from pathlib import Path\n"
        "from flux_edge.ratelimit import Limit, RateLimiter, RatePolicy\n"
        "limiter = RateLimiter.open(Path(sys.argv[1]), RatePolicy(write=Limit(10, 3600.0)))\n"
        "print(sum(limiter.check('write', 'caller').allowed for _ in range(7)))\n"
    )
    limiter = RateLimiter.open(path, RatePolicy(write=Limit(10, 3600.0)))
    try:
        assert sum(limiter.check("write", "caller").allowed for _ in range(7)) == 7
        child = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
        )
        assert child.stdout.strip() == "3"
        assert not limiter.check("write", "caller").allowed
    finally:
        limiter.close()


def test_keys_have_budgets_of_their_own(tmp_path):
    table = SharedTable(tmp_path / "rl.bin", clock=FixedClock())
    try:
        assert admitted(table, "alice", 12) == 10
        assert admitted(table, "bob", 12) == 10
    finally:
        table.close()


def test_invocation_budgets_are_per_caller_and_function(tmp_path):
    limiter = RateLimiter.open(tmp_path / "rl.bin", POLICY, clock=FixedClock())
    try:
        assert sum(limiter.check("invoke", "t:a", "f1").allowed for _ in range(12)) == 10
        assert limiter.check("invoke", "t:a", "f2").allowed
        assert limiter.check("invoke", "t:b", "f1").allowed
        assert limiter.check("write", "t:a").allowed
    finally:
        limiter.close()


def test_a_full_group_gives_up_the_key_closest_to_a_full_budget(tmp_path):
    clock = FixedClock()
    table = SharedTable(tmp_path / "rl.bin", slots=8, clock=clock)  # one group of eight
    try:
        for key in range(8):
            admitted(table, f"key-{key}", 10 - key)  # key-7 used the least of its budget
        assert admitted(table, "newcomer", 1) == 1
        assert admitted(table, "key-0", 1) == 0  # the heavy user kept its state
        assert admitted(table, "key-7", 10) == 10  # the lightest was evicted: a fresh budget
    finally:
        table.close()


def test_a_key_whose_slot_went_to_another_key_does_not_take_over_that_keys_count(tmp_path):
    # A mapping remembers where each key was; another mapping (a worker) may have given that
    # slot to another key meanwhile, whose count must stay its own.
    clock = FixedClock()
    mine = SharedTable(tmp_path / "rl.bin", slots=8, clock=clock)
    theirs = SharedTable(tmp_path / "rl.bin", slots=8, clock=clock)
    try:
        assert admitted(mine, "light", 1) == 1  # remembered in `mine`
        for key in range(7):
            admitted(theirs, f"other-{key}", 5)
        assert admitted(theirs, "newcomer", 8) == 8  # took the slot of "light", closest to full
        assert admitted(mine, "light", 10) == 10  # placed afresh (over an "other"), a fresh budget
        assert admitted(theirs, "newcomer", 3) == 2  # its own count went on: 8 + 2
    finally:
        mine.close()
        theirs.close()


def test_refilled_entries_free_their_slots_for_new_keys(tmp_path):
    clock = FixedClock()
    table = SharedTable(tmp_path / "rl.bin", slots=8, clock=clock)
    try:
        for key in range(8):
            admitted(table, f"old-{key}", 10)
        clock.now += 60  # every old key is whole again: its slot carries no information
        for key in range(8):
            assert admitted(table, f"new-{key}", 10) == 10
        assert admitted(table, "new-0", 1) == 0
    finally:
        table.close()


def test_a_file_of_another_size_or_format_is_formatted_afresh(tmp_path):
    path = tmp_path / "rl.bin"
    path.write_bytes(b"not a rate limit table")
    table = SharedTable(path, slots=64, clock=FixedClock())
    try:
        assert admitted(table, "k", 11) == 10
    finally:
        table.close()
    bigger = SharedTable(path, slots=128, clock=FixedClock())
    try:
        assert admitted(bigger, "k", 1) == 1  # reformatted: the old state is gone
    finally:
        bigger.close()


def test_the_file_holds_no_caller_identity_in_clear(tmp_path):
    path = tmp_path / "rl.bin"
    limiter = RateLimiter.open(path, POLICY)
    try:
        limiter.check("write", "t:Bearer secret-token-value")
    finally:
        limiter.close()
    assert b"secret-token-value" not in Path(path).read_bytes()
