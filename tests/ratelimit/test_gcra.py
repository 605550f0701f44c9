"""GCRA decisions: bursts, honest waits, smooth refill, and what the headers report."""

from __future__ import annotations

import pytest

from flux_edge.ratelimit import Limit, gcra, parse_limit

PER_MINUTE = Limit(60, 60.0)


def run(limit: Limit, times: list[float], tat: float = 0.0) -> tuple[list[bool], float]:
    """Admit requests at `times`; returns which were admitted and the final TAT."""
    admitted = []
    for now in times:
        tat, decision = gcra(tat, now, limit)
        admitted.append(decision.allowed)
    return admitted, tat


def test_a_full_budget_admits_count_requests_at_once_and_refuses_the_next():
    admitted, _ = run(PER_MINUTE, [1000.0] * 61)
    assert admitted == [True] * 60 + [False]


def test_a_refusal_says_the_real_wait_and_that_wait_is_enough():
    _, tat = run(PER_MINUTE, [1000.0] * 60)
    _, refused = gcra(tat, 1000.0, PER_MINUTE)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.retry_after_seconds == 1
    _, just_before = gcra(tat, 1000.0 + 0.99, PER_MINUTE)
    _, after_the_wait = gcra(tat, 1000.0 + refused.retry_after, PER_MINUTE)
    assert (just_before.allowed, after_the_wait.allowed) == (False, True)


def test_the_wait_is_rounded_up_to_whole_seconds():
    slow = Limit(2, 5.0)  # one request every 2.5 s
    _, tat = run(slow, [0.0, 0.0])
    _, refused = gcra(tat, 0.0, slow)
    assert refused.retry_after == pytest.approx(2.5)
    assert refused.retry_after_seconds == 3


def test_there_is_no_double_burst_at_a_window_boundary():
    # Fixed windows would admit 60 at 59.9 s and 60 more at 60.1 s; GCRA admits a refill only.
    admitted, tat = run(PER_MINUTE, [59.9] * 60)
    assert all(admitted)
    more, _ = run(PER_MINUTE, [60.1] * 60, tat)
    assert sum(more) == 0


def test_the_budget_refills_smoothly_with_time():
    _, tat = run(PER_MINUTE, [0.0] * 60)
    admitted, _ = run(PER_MINUTE, [30.0] * 60, tat)
    assert sum(admitted) == 30


def test_remaining_counts_down_and_reset_says_when_the_budget_is_whole_again():
    tat = 0.0
    remaining = []
    for _ in range(3):
        tat, decision = gcra(tat, 100.0, Limit(3, 30.0))
        remaining.append(decision.remaining)
    assert remaining == [2, 1, 0]
    assert decision.reset_after == pytest.approx(30.0)
    assert decision.limit == 3


def test_a_tat_far_ahead_of_the_clock_starts_the_key_afresh():
    # The wall clock went back an hour: the key is not locked out for that hour.
    _, decision = gcra(5000.0, 1000.0, PER_MINUTE)
    assert decision.allowed
    assert decision.remaining == 59


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [("60/min", 60, 60.0), ("600/m", 600, 60.0), ("5/10s", 5, 10.0), ("1000/h", 1000, 3600.0)],
)
def test_limits_parse_from_count_and_period(text, count, period):
    assert parse_limit(text) == Limit(count, period)


@pytest.mark.parametrize("text", ["", "60", "60/fortnight", "0/min", "-1/min", "x/min"])
def test_malformed_limits_are_rejected(text):
    with pytest.raises(ValueError, match="rate"):
        parse_limit(text)
