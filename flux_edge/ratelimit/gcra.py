"""The Generic Cell Rate Algorithm: one stored number per key, the theoretical arrival time (TAT).

A key may send `count` requests at once, then one every `interval`; unlike fixed windows there is no
double burst at a window boundary. A TAT at or before `now` carries no information (the budget is
full), which is what lets the shared table drop such entries freely.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from flux_edge.ratelimit.policy import Limit

# Float slack so that "exactly at the boundary" counts as inside it.
_EPSILON = 1e-9


class Decision(NamedTuple):
    """The outcome of one check, with what the X-RateLimit-* and Retry-After headers report.

    A NamedTuple rather than a frozen dataclass: this is built on every limited request, and a
    frozen dataclass's __init__ costs several times more.
    """

    allowed: bool
    limit: int
    period: float
    remaining: int
    reset_after: float  # seconds until the whole budget is available again
    retry_after: float  # seconds until a request would be admitted (0 when allowed)

    @property
    def retry_after_seconds(self) -> int:
        """`retry_after` rounded up to whole seconds (at least 1 when refused)."""
        if self.allowed:
            return 0
        return max(1, math.ceil(self.retry_after - 1e-6))

    @property
    def reset_seconds(self) -> int:
        """`reset_after` rounded up to whole seconds."""
        return max(0, math.ceil(self.reset_after - 1e-6))


def gcra(stored_tat: float, now: float, limit: Limit) -> tuple[float, Decision]:
    """Decide one request; returns the TAT to store (unchanged when refused) and the decision."""
    period, interval = limit.period, limit.interval
    # A TAT further ahead than one period cannot come from this algorithm: the wall clock went
    # backwards (or the entry is garbage). Start that key afresh rather than lock it out.
    tat = now if stored_tat > now + period + interval else max(stored_tat, now)
    new_tat = tat + interval
    # Decision's fields in order (allowed, limit, period, remaining, reset_after, retry_after):
    # positional, as keywords cost a NamedTuple more than the rest of this function.
    if new_tat - now > period + _EPSILON:
        return stored_tat, Decision(
            False, limit.count, period, 0, tat - now, new_tat - now - period
        )
    remaining = int((period - (new_tat - now)) / interval + _EPSILON)
    return new_tat, Decision(True, limit.count, period, remaining, new_tat - now, 0.0)
