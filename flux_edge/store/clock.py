"""Timestamps as flux-edge stores and returns them: RFC 3339 UTC strings ending in `Z`.

`utc_now()` has a fixed width (always six fractional digits), so its strings also sort correctly as
text. Records may hold other RFC 3339 forms (`2024-10-26T10:00:00Z`, offsets); the store orders and
prunes by `to_epoch_us()` of those strings, never by the text itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# utc_now() runs twice per invocation: the date-and-time part is formatted once a second.
_second = -1
_second_text = ""


def utc_now() -> str:
    """The current time, e.g. `2024-10-26T10:00:00.123456Z`."""
    global _second, _second_text  # a one-slot cache of the formatted second
    now_us = time.time_ns() // 1000
    second, micros = divmod(now_us, 1_000_000)
    if second != _second:
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = second
    return f"{_second_text}.{micros:06d}Z"


def format_utc(moment: datetime) -> str:
    """`moment` as a fixed-width RFC 3339 UTC string; a naive datetime is taken to be UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_epoch_us(timestamp: str) -> int:
    """Microseconds since the Unix epoch for an RFC 3339 string (no offset means UTC).

    Raises ValueError for a string that is not an ISO 8601 date-time.
    """
    moment = datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_US
