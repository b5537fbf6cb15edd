"""Parsing and formatting of times. Every stored time is UTC ISO 8601 with a ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def to_iso(value: datetime) -> str:
    """UTC ISO 8601, second precision, e.g. ``2026-11-22T08:00:00Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every time in MemberPulse carries a zone")
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def utc_day(value: datetime) -> str:
    """The UTC calendar day of a time, ``YYYY-MM-DD`` (the message log's partition, ``log_day``)."""
    return to_iso(value)[:10]


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time; it must carry an offset (``Z`` or ``+08:00``). Returns UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("time has no zone offset")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(f"year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range") from None


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` strictly."""
    if not _DATE.fullmatch(text):
        raise ValueError("date must be YYYY-MM-DD")
    day = date.fromisoformat(text)
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValueError(f"year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return day


def from_epoch_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def from_epoch_s(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def years_before(day: date, years: int) -> date:
    """The same month and day ``years`` earlier (later, when negative); 29 February falls on
    28 February in common years."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 2, 28)
