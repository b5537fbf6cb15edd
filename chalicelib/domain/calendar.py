"""Local dates and times in the member's own zone. Pure; ``zoneinfo`` does DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def zone(name: str | None, store_zone: str) -> ZoneInfo:
    return ZoneInfo(name or store_zone)


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``clock`` on ``day`` in ``tz``. A wall time skipped by a DST jump moves
    forward by the gap (02:30 on a spring-forward night is 03:30); an ambiguous one takes the first."""
    # fold=0 reads a skipped wall time with the offset before the jump (so it lands after it) and
    # an ambiguous one as its first occurrence.
    return datetime.combine(day, clock).replace(tzinfo=tz, fold=0).astimezone(UTC)


def anniversary(born: date, year: int) -> date:
    """``born``'s month and day in ``year``; 29 February falls on 28 February in common years."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def age_on(born: date, day: date) -> int:
    """Whole years old on ``day``."""
    years = day.year - born.year
    return years - 1 if day < anniversary(born, day.year) else years


def age_in_months(born: date, day: date) -> int:
    months = (day.year - born.year) * 12 + (day.month - born.month)
    if day.day < born.day and day != _month_end(day):
        months -= 1
    return max(months, 0)


def _month_end(day: date) -> date:
    first_next = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next - timedelta(days=1)


def parse_clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
