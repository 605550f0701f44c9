"""Which limits apply: the rate of each endpoint class, parsed from settings like "60/min"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

LimitClass = Literal["write", "list", "read", "invoke", "executions"]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Limit:
    """`count` requests per `period` seconds, refilled smoothly (one every period/count seconds)."""

    count: int
    period: float
    # Seconds between two requests at the sustained rate (GCRA's emission interval): worked out
    # once, not on every request.
    interval: float = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", self.period / self.count)


def parse_limit(text: str) -> Limit:
    """Parse "60/min", "600/m", "5/10s" or "1000/h" into a Limit; raises ValueError."""
    match = _SPEC.match(text.lower())
    if match is None or match.group(3) not in _UNITS:
        raise ValueError(f"{text!r} is not a rate like '60/min', '5/10s' or '1000/h'")
    count = int(match.group(1))
    period = float(match.group(2) or 1) * _UNITS[match.group(3)]
    if count < 1 or period <= 0:
        raise ValueError(f"{text!r} is not a rate: the count and the period must be positive")
    return Limit(count, period)


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """The limit of each endpoint class (the reference's table; `read` is our decision)."""

    write: Limit = Limit(60, 60.0)
    list: Limit = Limit(300, 60.0)
    read: Limit = Limit(300, 60.0)
    invoke: Limit = Limit(600, 60.0)
    executions: Limit = Limit(300, 60.0)

    def limit_for(self, kind: LimitClass) -> Limit:
        """The limit of one class."""
        limit: Limit = getattr(self, kind)
        return limit
