"""When a message may go out: quiet hours in the member's zone, and frequency-cap deferral. Pure."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from .calendar import at_local, local_date, zone
from .governance import month_key, next_period_start, week_key
from .model import Member, Message
from .rules import RuleBook, RuleConfig

DEFAULT_MAX_DEFER_DAYS = 7


def window_hold(
    message: Message, member: Member, rule: RuleConfig | None, book: RuleBook, now: datetime, store_zone: str
) -> tuple[datetime, str] | None:
    """None if the message may go now; else (send_after, reason). Urgent rules ignore quiet hours;
    a member without a zone gets the store's."""
    if rule is not None and rule.urgent:
        return None
    quiet = rule.quiet_hours(book.store.quiet_hours) if rule else book.store.quiet_hours
    tz = zone(member.timezone, store_zone)
    if quiet.is_open(now, tz):
        return None
    opening = quiet.next_opening(now, tz, message.message_id)
    window = f"{quiet.opens:%H:%M}–{quiet.closes:%H:%M} {tz.key}"
    return opening, f"quiet hours: sends {window}"


def cap_periods(member: Member, book: RuleBook, now: datetime, store_zone: str) -> list[tuple[str, int]]:
    """The calendar periods (in the member's zone) a marketing send counts against, with limits."""
    day = local_date(now, zone(member.timezone, store_zone))
    cap = book.store.frequency_cap
    return [
        (f"cap#{member.member_id}#{week_key(day)}", cap.per_week),
        (f"cap#{member.member_id}#{month_key(day)}", cap.per_month),
    ]


def cap_hold(
    full_period: str,
    message: Message,
    member: Member,
    rule: RuleConfig | None,
    book: RuleBook,
    now: datetime,
    store_zone: str,
) -> tuple[datetime | None, str]:
    """A marketing message over its cap: (send_after, reason) to defer it to the next period, when
    the rule allows waiting that long (``max_defer_days``, default 7), else (None, reason): capped."""
    tz = zone(member.timezone, store_zone)
    period = "week" if "#week#" in full_period else "month"
    cap = book.store.frequency_cap
    limit = cap.per_week if period == "week" else cap.per_month
    reason = f"frequency cap: {limit} marketing messages a calendar {period}"
    start = next_period_start(local_date(now, tz), period)
    quiet = rule.quiet_hours(book.store.quiet_hours) if rule else book.store.quiet_hours
    # From the period's first midnight: the window's first opening in it, spread like any other.
    opening = quiet.next_opening(at_local(start, time(0), tz), tz, message.message_id)
    max_days = int(rule.params.get("max_defer_days", DEFAULT_MAX_DEFER_DAYS)) if rule else DEFAULT_MAX_DEFER_DAYS
    if opening - message.created_at > timedelta(days=max_days):
        return None, reason + f"; the next period starts after the rule's {max_days}-day limit"
    return opening, reason
