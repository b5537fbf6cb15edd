"""Send governance as pure functions: quiet hours in the member's zone, calendar-period frequency
caps, SMS opt-out lines. The sender applies them at send time; nothing here does I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .calendar import at_local


@dataclass(frozen=True)
class QuietHours:
    """Messages go out only between ``opens`` and ``closes`` local time (08:00–21:00 by default).

    Each local day's window runs from the instant its opening time first shows on the member's
    clock to the instant its closing time first shows (the next day's, for a window across
    midnight); both are resolved in the zone on the day itself (``calendar.at_local``): a time
    skipped by a spring-forward jump moves forward by the gap, a repeated one counts at its first
    showing. So a window opens once a day and closes once a day: when the clocks go back, a window
    that opened at 01:30 EDT stays open through the second 01:00–01:30 (it opened already), and one
    that closed at 01:30 EDT does not reopen at 01:00 EST."""

    opens: time = time(8, 0)
    closes: time = time(21, 0)
    spread_minutes: int = 20  # openings are spread over this many minutes, by message id

    def window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The UTC instants the window that opens on local ``day`` opens and closes."""
        closing_day = day if self.opens < self.closes else day + timedelta(days=1)
        return at_local(day, self.opens, tz), at_local(closing_day, self.closes, tz)

    def is_open(self, at: datetime, tz: ZoneInfo) -> bool:
        day = at.astimezone(tz).date()
        for offset in (-1, 0):
            opening, closing = self.window(day + timedelta(days=offset), tz)
            if opening <= at < closing:
                return True
        return False

    def next_opening(self, at: datetime, tz: ZoneInfo, key: str) -> datetime:
        """The first moment at or after ``at`` when the window is open, plus a spread of up to
        ``spread_minutes`` chosen by ``key`` (the message id), so a city does not fire at 08:00:00.
        Wall times are resolved in ``tz`` on the day itself, so DST changes are honoured."""
        if self.is_open(at, tz):
            return at
        local_day = at.astimezone(tz).date()
        for offset in (0, 1, 2):
            opening, closing = self.window(local_day + timedelta(days=offset), tz)
            spread_opening = opening + spread(key, self.spread_minutes)
            if spread_opening >= closing:
                # The window is shorter than the spread (a day that lost an hour): the opening
                # itself, unspread, is still inside.
                spread_opening = opening
            if spread_opening >= at:
                return spread_opening
        raise AssertionError("a daily window always opens within two days")

    def last_open_minute_before(self, at: datetime, tz: ZoneInfo) -> datetime:
        """The latest whole minute at or before ``at`` when the window is open: ``at`` itself when
        it is open, else the last minute before the window last closed (08:00–21:00: a moment at
        06:30 gives 20:59 the evening before). For a message that must not go later than it is
        meant to (a reminder before an activity starts), where ``next_opening`` would send it late."""
        if self.is_open(at, tz):
            return at
        local_day = at.astimezone(tz).date()
        for offset in (0, 1, 2):
            day = local_day - timedelta(days=offset)
            last = at_local(day, self.closes, tz) - timedelta(minutes=1)
            if last <= at and self.is_open(last, tz):
                return last.replace(second=0, microsecond=0)
        raise AssertionError("a daily window always closes within two days")


def spread(key: str, minutes: int) -> timedelta:
    if minutes <= 0:
        return timedelta(0)
    value = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return timedelta(seconds=value % (minutes * 60))


@dataclass(frozen=True)
class FrequencyCap:
    per_week: int = 2
    per_month: int = 6


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"week#{year:04d}-W{week:02d}"


def month_key(day: date) -> str:
    return f"month#{day.year:04d}-{day.month:02d}"


def next_period_start(day: date, period: str) -> date:
    """The first day of the next calendar week (Monday) or month after ``day``."""
    if period == "week":
        return day + timedelta(days=7 - day.weekday())
    first = day.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


OPT_OUT_LINES = {"zh-CN": "回T退订", "zh-TW": "回T退訂", "en": "Reply STOP to opt out"}


def with_opt_out(text: str, locale: str, lines: dict[str, str] | None = None) -> str:
    """Marketing SMS carries an opt-out line in the member's language (configurable per locale)."""
    table = lines or OPT_OUT_LINES
    line = table.get(locale) or table.get("zh-CN") or OPT_OUT_LINES["zh-CN"]
    if line in text:
        return text
    separator = " " if locale == "en" else ""
    return f"{text}{separator}{line}"
