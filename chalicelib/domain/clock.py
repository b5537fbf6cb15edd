"""Parsing and formatting of times. Every stored time is UTC ISO 8601 with a ``Z``."""

from __future__ import annotations

from datetime import UTC, date, datetime


def to_iso(value: datetime) -> str:
    """UTC ISO 8601, second precision, e.g. ``2026-11-22T08:00:00Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: every time in MemberPulse carries a zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time; it must carry an offset (``Z`` or ``+08:00``). Returns UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("time has no zone offset")
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` strictly."""
    if len(text) != 10:
        raise ValueError("date must be YYYY-MM-DD")
    return date.fromisoformat(text)


def from_epoch_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def from_epoch_s(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
