"""Times: stored as UTC ISO 8601 with Z; parsing requires a zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.isotime import from_epoch_ms, from_epoch_s, parse_date, parse_iso, to_iso


def test_to_iso_is_utc_with_z_at_second_precision() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert to_iso(datetime(2026, 11, 22, 16, 0, 0, 999_999, tzinfo=shanghai)) == "2026-11-22T08:00:00Z"


def test_to_iso_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        to_iso(datetime(2026, 11, 22, 8, 0))


@pytest.mark.parametrize(
    "text", ["2026-11-22T08:00:00Z", "2026-11-22T08:00:00z", "2026-11-22T16:00:00+08:00", " 2026-11-22T08:00:00.000Z "]
)
def test_parse_iso_accepts_any_offset_and_returns_utc(text: str) -> None:
    assert parse_iso(text) == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert parse_iso(text).tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-11-22T08:00:00", "2026-11-22", "now", ""])
def test_parse_iso_refuses_times_without_zone_or_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_parse_iso_out_of_range_after_conversion_is_a_value_error(text: str) -> None:
    # OverflowError escapes every ``except ValueError`` in validation → a 500 for bad input
    with pytest.raises(ValueError):
        parse_iso(text)


def test_parse_date_is_strict() -> None:
    assert parse_date("2026-02-28") == date(2026, 2, 28)
    for bad in ["2026-2-28", "20260228", "2026-02-29", "2026-02-28T00:00"]:
        with pytest.raises(ValueError):
            parse_date(bad)


def test_epoch_conversions_are_utc() -> None:
    assert from_epoch_s(1795312800) == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert from_epoch_ms(1795312800000) == from_epoch_s(1795312800)


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30), timezones=st.just(UTC)))
def test_every_utc_time_survives_to_iso_and_back(moment: datetime) -> None:
    # Whatever validation accepted must be readable again once stored (years < 1000 included)
    assert parse_iso(to_iso(moment)) == moment.replace(microsecond=0)
