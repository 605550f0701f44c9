"""Execution ids: time-ordered (version 7) UUIDs in their usual text form (RFC 9562).

The first 48 bits are the Unix time in milliseconds when the id was made, the other 74 free bits
random. Ids made later sort later, so the executions table's primary-key index grows at its end:
with random (version 4) ids each record of a batch landed on a random page of that index, and a
batch insert cost ~21 µs a record on a table of 100,000 rows against ~5 µs now (measured, the
writer's thread; docs/performance.md). The random parts come from a batch of 256 drawn with one
`os.urandom` (`str(uuid.uuid4())` reads the kernel's source once per id, ~2 µs); the time is read
per id, so an id always carries the moment it was made.
"""

from __future__ import annotations

import os
import time

_BATCH = 256  # random parts per read of the random source


class _RandomParts:
    """Pre-formatted random tails, `7xxx-Vxxx-xxxxxxxxxxxx` (version 7, RFC variant)."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[str] = []

    def next(self) -> str:
        parts = self._parts
        if not parts:
            parts = self._parts = _random_parts(_BATCH)
        return parts.pop()  # atomic: two threads never get the same part

    def forget(self) -> None:
        # A forked child must not hand out the parts its parent will also hand out.
        self._parts = []


def _random_parts(count: int) -> list[str]:
    raw = bytearray(os.urandom(10 * count))
    raw[0::10] = bytes((b & 0x0F) | 0x70 for b in raw[0::10])  # version 7
    raw[2::10] = bytes((b & 0x3F) | 0x80 for b in raw[2::10])  # variant: RFC 9562
    h = raw.hex()
    return [f"{h[i : i + 4]}-{h[i + 4 : i + 8]}-{h[i + 8 : i + 20]}" for i in range(0, len(h), 20)]


_random = _RandomParts()
os.register_at_fork(after_in_child=_random.forget)


def new_execution_id() -> str:
    """A new execution id, e.g. `019ae4b2-3c1d-7a2e-9f00-5d1e0c7b4a21` (a version 7 UUID)."""
    millis = f"{time.time_ns() // 1_000_000:012x}"
    return f"{millis[:8]}-{millis[8:]}-{_random.next()}"
