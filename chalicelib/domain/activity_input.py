"""``PUT /v1/activities/{activity_id}`` bodies into activities (CONTRACT §6): pure, every bad field
named at once. A PUT creates (title, times, location and capacity required) or updates (omitted
fields keep their values); the merged activity is checked as a whole (the end after the start,
sign-up closing before the start)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from .activities import (
    DEFAULT_CLAIM_MINUTES,
    DEFAULT_SIGNUP_KEYWORD,
    MAX_FEEDBACK_AFTER_MINUTES,
    Activity,
    ActivityStatus,
    WaitlistMode,
)
from .errors import ValidationFailed
from .keywords import normalize
from .validation import ID_PATTERN, _Collector

MAX_CAPACITY = 1000
MAX_INVITED = 500
MAX_REMINDERS = 5
MAX_LEAD_MINUTES = 30 * 24 * 60
MAX_CLAIM_MINUTES = 7 * 24 * 60
FIELDS = (
    "title",
    "starts_at",
    "ends_at",
    "location",
    "capacity",
    "signup_keyword",
    "signup_closes_at",
    "waitlist",
    "reminders_minutes",
    "feedback_after_minutes",
    "audience_segment",
    "invite",
    "status",
    "activity_id",
)
REQUIRED_ON_CREATE = ("title", "starts_at", "ends_at", "location", "capacity")


def _offset_minutes(raw: Any) -> int | None:
    try:
        parsed = datetime.fromisoformat(str(raw).strip().replace("z", "Z"))
    except ValueError:
        return None
    offset = parsed.utcoffset()
    return None if offset is None else int(offset.total_seconds() // 60)


def parse_activity(activity_id: str, body: Any, existing: Activity | None, now: datetime) -> Activity:
    """The activity after this PUT: ``existing`` with the body's fields applied (or a new one)."""
    if not ID_PATTERN.fullmatch(activity_id or ""):
        raise ValidationFailed({"activity_id": "must match [A-Za-z0-9_-]{1,64}"})
    c = _Collector(body)
    b = c.body
    for key in sorted(set(b) - set(FIELDS)):
        c.fail(key, "is not an activity field")
    if existing is None:
        for key in REQUIRED_ON_CREATE:
            if b.get(key) is None:
                c.fail(key, "is required")
    changes: dict[str, Any] = {}
    if "title" in b:
        changes["title"] = c.text("title", required=True, max_len=80)
    if "location" in b:
        changes["location"] = c.text("location", required=True, max_len=120)
    for key in ("starts_at", "ends_at"):
        if key in b:
            changes[key] = c.moment(key, required=True)
    if "starts_at" in b and changes.get("starts_at") is not None:
        changes["utc_offset_minutes"] = _offset_minutes(b["starts_at"]) or 0
    if "signup_closes_at" in b:
        changes["signup_closes_at"] = c.moment("signup_closes_at")
    if "capacity" in b:
        capacity = c.integer("capacity", required=True, minimum=1)
        if capacity is not None and capacity > MAX_CAPACITY:
            c.fail("capacity", f"must be at most {MAX_CAPACITY}")
        changes["capacity"] = capacity
    if "signup_keyword" in b:
        keyword = c.text("signup_keyword", max_len=20) or DEFAULT_SIGNUP_KEYWORD
        if not normalize(keyword):
            c.fail("signup_keyword", "must contain a letter or a character, not only punctuation")
        changes["signup_keyword"] = keyword
    if "waitlist" in b:
        _waitlist(c, b["waitlist"], changes)
    if "reminders_minutes" in b:
        changes["reminders_minutes"] = _reminders(c, b["reminders_minutes"])
    if "feedback_after_minutes" in b:
        minutes = c.integer("feedback_after_minutes", required=True, minimum=0)
        if minutes is not None and minutes > MAX_FEEDBACK_AFTER_MINUTES:
            c.fail("feedback_after_minutes", f"must be at most {MAX_FEEDBACK_AFTER_MINUTES} (a day after the end)")
        changes["feedback_after_minutes"] = minutes
    if "audience_segment" in b:
        segment = b["audience_segment"]
        if segment is not None and (not isinstance(segment, str) or not ID_PATTERN.fullmatch(segment)):
            c.fail("audience_segment", "must be a segment id [A-Za-z0-9_-]{1,64}")
        changes["audience_segment"] = segment
    if "invite" in b:
        changes["invite"] = _invite(c, b["invite"])
    if "status" in b:
        status = c.choice("status", tuple(s.value for s in ActivityStatus))
        if status is None and b["status"] is None:
            c.fail("status", "must be one of " + ", ".join(s.value for s in ActivityStatus))
        if status is not None:
            changes["status"] = ActivityStatus(status)
            if existing is not None and existing.status is ActivityStatus.CANCELLED and status != "cancelled":
                c.fail("status", "a cancelled activity stays cancelled: create a new one")
    c.done()
    merged = _merge(activity_id, existing, changes, now)
    _check_whole(merged)
    return merged


def _waitlist(c: _Collector, raw: Any, changes: dict[str, Any]) -> None:
    if not isinstance(raw, dict):
        c.fail("waitlist", 'must be an object like {"mode": "auto"} or {"mode": "offer", "claim_minutes": 120}')
        return
    for key in sorted(set(raw) - {"mode", "claim_minutes"}):
        c.fail(f"waitlist.{key}", "is not a waitlist field (mode, claim_minutes)")
    mode = raw.get("mode", "auto")
    if mode not in tuple(m.value for m in WaitlistMode):
        c.fail("waitlist.mode", "must be auto or offer")
    else:
        changes["waitlist_mode"] = WaitlistMode(mode)
    minutes = raw.get("claim_minutes", DEFAULT_CLAIM_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_CLAIM_MINUTES:
        c.fail("waitlist.claim_minutes", f"must be a whole number of minutes from 1 to {MAX_CLAIM_MINUTES}")
    else:
        changes["claim_minutes"] = minutes


def _reminders(c: _Collector, raw: Any) -> tuple[int, ...]:
    ok = (
        isinstance(raw, list)
        and len(raw) <= MAX_REMINDERS
        and all(not isinstance(v, bool) and isinstance(v, int) and 1 <= v <= MAX_LEAD_MINUTES for v in raw)
    )
    if not ok:
        c.fail(
            "reminders_minutes",
            f"must be a list of at most {MAX_REMINDERS} whole minutes before the start (1 to {MAX_LEAD_MINUTES})",
        )
        return ()
    return tuple(sorted(set(raw), reverse=True))


def _invite(c: _Collector, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_INVITED:
        c.fail("invite", f"must be a list of at most {MAX_INVITED} member ids")
        return ()
    for i, member_id in enumerate(raw):
        if not isinstance(member_id, str) or not ID_PATTERN.fullmatch(member_id):
            c.fail(f"invite[{i}]", "must be a member id [A-Za-z0-9_-]{1,64}")
    return tuple(dict.fromkeys(m for m in raw if isinstance(m, str)))


def _merge(activity_id: str, existing: Activity | None, changes: dict[str, Any], now: datetime) -> Activity:
    if existing is None:
        return Activity(activity_id=activity_id, created_at=now, updated_at=now, **changes)
    return replace(existing, updated_at=now, **changes)


def _check_whole(activity: Activity) -> None:
    errors: dict[str, str] = {}
    if activity.ends_at <= activity.starts_at:
        errors["ends_at"] = "must be after starts_at"
    if activity.signup_closes_at is not None and activity.signup_closes_at > activity.starts_at:
        errors["signup_closes_at"] = "must not be after starts_at"
    if errors:
        raise ValidationFailed(errors)
