"""RFC 3339 timestamps: the fixed-width `utc_now` and ordering by instant."""

from __future__ import annotations

import re

import pytest

from flux_edge.store.clock import to_epoch_us, utc_now


def test_utc_now_has_microseconds_and_a_z() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", utc_now())


def test_equal_instants_in_different_forms_have_the_same_epoch_value() -> None:
    assert to_epoch_us("2024-10-26T10:00:00Z") == to_epoch_us("2024-10-26T12:00:00.000000+02:00")


def test_a_timestamp_without_offset_is_utc() -> None:
    assert to_epoch_us("1970-01-01T00:00:01.5") == 1_500_000


def test_a_non_timestamp_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        to_epoch_us("yesterday")
