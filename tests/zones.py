"""Zones for members whose quiet hours must (or must not) be in the way, whatever time of day the
tests run: fixed-offset IANA zones (``Etc/GMT±N``) chosen from the moment given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _zone_where(now: datetime, first_hour: int, last_hour: int) -> str:
    for offset in range(-12, 15):
        if first_hour <= (now + timedelta(hours=offset)).hour <= last_hour:
            return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
    raise AssertionError("no zone")


def daytime_zone(now: datetime | None = None) -> str:
    """A zone where it is early afternoon (13:00–14:59) at ``now`` (default: the wall clock): no
    quiet hours defer a send."""
    return _zone_where(now or datetime.now(UTC), 13, 14)


def quiet_zone(now: datetime | None = None) -> str:
    """A zone where it is 03:00–04:59 at ``now``: inside the store's quiet hours."""
    return _zone_where(now or datetime.now(UTC), 3, 4)
