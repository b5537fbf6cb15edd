"""What activity messages say, as template variables (docs/templates.md ``activity``): times in the
member's own zone and words, the check-in code, the place in line, the signed links. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .action_links import ActionLinks
from .activities import Activity, ActivityStatus, Registration

_WEEKDAYS = {
    "zh-CN": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "zh-TW": ("週一", "週二", "週三", "週四", "週五", "週六", "週日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_date(at: datetime, tz: ZoneInfo, locale: str) -> str:
    """ "11月28日（周六）", "11月28日（週六）", "Sat 28 Nov"."""
    local = at.astimezone(tz)
    weekday = _WEEKDAYS.get(locale, _WEEKDAYS["zh-CN"])[local.weekday()]
    if locale == "en":
        return f"{weekday} {local.day} {_MONTHS[local.month - 1]}"
    return f"{local.month}月{local.day}日（{weekday}）"


def local_time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def when(at: datetime, tz: ZoneInfo, locale: str) -> str:
    """A moment as the member reads it: "11月28日（周六）14:00", "Sat 28 Nov 14:00"."""
    return f"{local_date(at, tz, locale)}{' ' if locale == 'en' else ''}{local_time(at, tz)}"


def activity_facts(
    activity: Activity,
    member_id: str,
    tz: ZoneInfo,
    locale: str,
    *,
    registration: Registration | None = None,
    position: int | None = None,
    links: ActionLinks | None = None,
    actions: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``activity`` for a template: its title, place and times, and for a registration its code,
    place in line and offer deadline; ``links`` for each of ``actions`` (register, cancel, claim)
    when the store has signed links."""
    made = {a: (links.url(a, activity.activity_id, member_id) if links is not None else None) for a in actions}
    deadline = registration.offer_expires_at if registration is not None else None
    return {
        "activity": {
            "id": activity.activity_id,
            "title": activity.title,
            "location": activity.location,
            "starts": when(activity.starts_at, tz, locale),
            "date": local_date(activity.starts_at, tz, locale),
            "time": local_time(activity.starts_at, tz),
            "ends": local_time(activity.ends_at, tz),
            "keyword": activity.signup_keyword,
            "cancelled": activity.status is ActivityStatus.CANCELLED,
            "changed": list(activity.changed),
            "code": registration.code if registration is not None else None,
            "position": position,
            "deadline": when(deadline, tz, locale) if deadline is not None else None,
            "links": {a: made.get(a) for a in ("register", "cancel", "claim")},
        }
    }


def next_date_facts(upcoming: tuple[Activity, ...], current: Activity, tz: ZoneInfo, locale: str) -> dict[str, Any]:
    """``next_activity``: the next open activity after this one (the same title first), for "see you next time"."""
    later = [a for a in upcoming if a.activity_id != current.activity_id and a.starts_at > current.starts_at]
    same = [a for a in later if a.title == current.title]
    pick = min(same or later, key=lambda a: a.starts_at, default=None)
    if pick is None:
        return {"next_activity": None}
    return {
        "next_activity": {
            "title": pick.title,
            "starts": when(pick.starts_at, tz, locale),
            "keyword": pick.signup_keyword,
        }
    }
