"""Store activities as data (CONTRACT §6): create and change them, invite members, read them with
their counts, registrations and feedback. A change members must hear about (a new time or place,
a cancellation) bumps the activity's ``revision``; the stream tells the rule engine, which tells
each registered member once and moves their reminders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain.activities import (
    Activity,
    ActivityStatus,
    Feedback,
    Registration,
    RegistrationStatus,
    accepts,
    changes,
    counts,
)
from ..domain.activity_input import parse_activity
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.isotime import to_iso
from ..domain.validation import ID_PATTERN
from ..domain.waitlist import SeatBook
from ..ports import ActivityStore, StoredActivity, VersionConflict
from .registrations import RegistrationService

Log = Callable[..., None]
RETRIES = 5


class ActivityService:
    def __init__(self, store: ActivityStore, registrations: RegistrationService, log: Log | None = None) -> None:
        self.store = store
        self.places = registrations
        self.log = log or (lambda *a, **k: None)

    def put(self, activity_id: str, body: Any, now: datetime) -> tuple[Activity, bool]:
        """Create or change an activity; returns (activity, created). Nothing is written when the
        body is invalid; invitations go to members not invited before (a retried PUT invites
        nobody twice); more capacity moves the first in line up."""
        for _ in range(RETRIES):
            stored = self.store.get(activity_id) if ID_PATTERN.fullmatch(activity_id or "") else None
            existing = stored.activity if stored is not None else None
            activity = parse_activity(activity_id, body, existing, now)
            if stored is not None and existing is not None:
                taken = len(stored.book.seats)
                if activity.capacity < taken:
                    raise ValidationFailed({"capacity": f"must be at least {taken}: that many seats are taken"})
                diff = changes(existing, activity)
                if diff:
                    activity = replace(activity, revision=existing.revision + 1, changed=diff)
                if replace(activity, updated_at=existing.updated_at) == existing:
                    activity = existing  # nothing changed: no write, no stream record
            try:
                if activity is not existing:
                    self.store.save(activity)
                    activity = replace(activity, version=activity.version + 1)
            except VersionConflict:
                continue
            self._invite(activity, now)
            if stored is not None and activity.capacity > stored.book.capacity:
                self.places.fill(activity_id, now)
            self.log("activity saved", activity_id=activity_id, new=existing is None)
            return activity, existing is None
        raise Conflict("the activity changed concurrently; try again")

    def _invite(self, activity: Activity, now: datetime) -> None:
        if not activity.invite or activity.accepts_signups(now) is not None:
            return
        already = set(self.store.invited(activity.activity_id))
        new = self.places.not_erased([m for m in activity.invite if m not in already])
        if new:
            self.store.invite(activity.activity_id, new, now)
            self.log("members invited", activity_id=activity.activity_id, invited=len(new))

    def get(self, activity_id: str, now: datetime) -> dict[str, Any]:
        stored = self._require(activity_id)
        return describe(stored.activity, stored.book, self.store.registrations(activity_id), now)

    def listed(self, now: datetime, since: datetime | None = None) -> list[dict[str, Any]]:
        out = []
        for activity in self.store.listed(since=since):
            stored = self.store.get(activity.activity_id)
            if stored is not None:
                out.append(describe(stored.activity, stored.book, self.store.registrations(activity.activity_id), now))
        return out

    def registrations(self, activity_id: str, now: datetime) -> list[dict[str, Any]]:
        stored = self._require(activity_id)
        regs = self.store.registrations(activity_id)
        return [describe_registration(r, stored.book, stored.activity, now) for r in order(regs, stored.book)]

    def feedback(self, activity_id: str) -> list[dict[str, Any]]:
        self._require(activity_id)
        out = []
        for reg in self.store.registrations(activity_id):
            said = reg.feedback
            if said is None or said.empty:
                continue
            out.append({"member_id": reg.member_id, **describe_feedback(said)})
        return sorted(out, key=lambda e: e["at"] or "", reverse=True)

    def open_for(self, keyword: str, now: datetime) -> list[Activity]:
        """Activities taking sign-ups now whose sign-up word is ``keyword`` (normalised), by start."""
        return [a for a in self.store.listed(since=now) if accepts(a, keyword, now)]

    def _require(self, activity_id: str) -> StoredActivity:
        if not ID_PATTERN.fullmatch(activity_id or ""):
            raise ValidationFailed({"activity_id": "must match [A-Za-z0-9_-]{1,64}"})
        stored = self.store.get(activity_id)
        if stored is None:
            raise NotFound(f"activity {activity_id}")
        return stored


def order(regs: list[Registration], book: SeatBook) -> list[Registration]:
    """Seats first (by arrival), then the line (by position), then the cancelled."""
    rank = {RegistrationStatus.CONFIRMED: 0, RegistrationStatus.OFFERED: 0, RegistrationStatus.WAITLISTED: 1}
    return sorted(regs, key=lambda r: (rank.get(r.status, 2), r.ticket))


def describe(activity: Activity, book: SeatBook, regs: list[Registration], now: datetime) -> dict[str, Any]:
    """The public shape of an activity (CONTRACT §6) with its counts and seats left."""
    c = counts(activity, regs, now)
    offset = activity.utc_offset_minutes
    sign = "+" if offset >= 0 else "-"
    out: dict[str, Any] = {
        "activity_id": activity.activity_id,
        "title": activity.title,
        "starts_at": to_iso(activity.starts_at),
        "ends_at": to_iso(activity.ends_at),
        "utc_offset": f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}",
        "location": activity.location,
        "capacity": activity.capacity,
        "signup_keyword": activity.signup_keyword,
        "waitlist": {"mode": activity.waitlist_mode.value, "claim_minutes": activity.claim_minutes},
        "reminders_minutes": list(activity.reminders_minutes),
        "feedback_after_minutes": activity.feedback_after_minutes,
        "status": activity.status.value,
        "invite": list(activity.invite),
        "counts": {
            "confirmed": c.confirmed,
            "waitlisted": c.waitlisted,
            "offered": c.offered,
            "cancelled": c.cancelled,
            "checked_in": c.checked_in,
            "no_show": c.no_show,
        },
        "seats_left": 0 if activity.status is ActivityStatus.CANCELLED else book.seats_left,
        "revision": activity.revision,
    }
    if activity.signup_closes_at is not None:
        out["signup_closes_at"] = to_iso(activity.signup_closes_at)
    if activity.audience_segment:
        out["audience_segment"] = activity.audience_segment
    for key in ("created_at", "updated_at"):
        value = getattr(activity, key)
        if value is not None:
            out[key] = to_iso(value)
    return out


def describe_feedback(said: Feedback) -> dict[str, Any]:
    """The public shape of what a member said about an activity (CONTRACT §6)."""
    out: dict[str, Any] = {"at": to_iso(said.at) if said.at else None}
    if said.rating is not None:
        out["rating"] = said.rating
    if said.text:
        out["text"] = said.text
    if said.media:
        out["media"] = list(said.media)
    return out


def describe_registration(reg: Registration, book: SeatBook, activity: Activity, now: datetime) -> dict[str, Any]:
    """The public shape of a registration (CONTRACT §6)."""
    out: dict[str, Any] = {
        "member_id": reg.member_id,
        "status": reg.status.value,
        "registered_at": to_iso(reg.registered_at) if reg.registered_at else None,
        "arrival": reg.ticket,  # the n-th place taken in this activity: the order members came in
    }
    position = book.position(reg.member_id) if reg.status is RegistrationStatus.WAITLISTED else None
    if position is not None:
        out["position"] = position
    for key in ("offer_expires_at", "checked_in_at", "cancelled_at"):
        value = getattr(reg, key)
        if value is not None:
            out[key] = to_iso(value)
    if reg.reason and reg.status is RegistrationStatus.CANCELLED:
        out["reason"] = reg.reason
    if reg.no_show(activity, now):
        out["no_show"] = True
    return out
