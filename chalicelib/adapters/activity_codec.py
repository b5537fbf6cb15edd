"""Activities, their books, registrations and invitations ↔ plain dicts as stored (shared by the
activity store and the stream handler, which sees the same items as stream images)."""

from __future__ import annotations

from typing import Any

from ..domain.activities import (
    OFFERS_STOP_BEFORE,
    Activity,
    ActivityStatus,
    Feedback,
    Registration,
    RegistrationStatus,
    WaitlistMode,
)
from ..domain.isotime import parse_iso, to_iso
from ..domain.waitlist import SeatBook

ACTIVITY_SK = "#activity"
REG_PREFIX = "REG#"
INV_PREFIX = "INV#"
LISTING = "activity"


def _iso(value: Any) -> str | None:
    return to_iso(value) if value is not None else None


def _time(value: Any) -> Any:
    return parse_iso(value) if value else None


def activity_to_item(a: Activity) -> dict[str, Any]:
    """The definition's attributes (never the book: ``seats``, ``waiting``, ``seq``)."""
    return {
        "activity_id": a.activity_id,
        "sk": ACTIVITY_SK,
        "listing": LISTING,
        "title": a.title,
        "starts_at": to_iso(a.starts_at),
        "ends_at": to_iso(a.ends_at),
        "location": a.location,
        "capacity": a.capacity,
        "signup_keyword": a.signup_keyword,
        "signup_closes_at": _iso(a.signup_closes_at),
        # When offer mode stops sending freed seats to the line (the store's conditions read it).
        "offers_stop_at": to_iso(a.starts_at - OFFERS_STOP_BEFORE),
        "waitlist_mode": a.waitlist_mode.value,
        "claim_minutes": a.claim_minutes,
        "reminders_minutes": list(a.reminders_minutes),
        "feedback_after_minutes": a.feedback_after_minutes,
        "audience_segment": a.audience_segment,
        "invite": list(a.invite),
        "status": a.status.value,
        "utc_offset_minutes": a.utc_offset_minutes,
        "revision": a.revision,
        "changed": list(a.changed),
        "created_at": _iso(a.created_at),
        "updated_at": _iso(a.updated_at),
        "version": a.version,
    }


def activity_from_item(d: dict[str, Any]) -> Activity:
    return Activity(
        activity_id=d["activity_id"],
        title=d["title"],
        starts_at=parse_iso(d["starts_at"]),
        ends_at=parse_iso(d["ends_at"]),
        location=d["location"],
        capacity=int(d["capacity"]),
        signup_keyword=d.get("signup_keyword") or "报名",
        signup_closes_at=_time(d.get("signup_closes_at")),
        waitlist_mode=WaitlistMode(d.get("waitlist_mode") or "auto"),
        claim_minutes=int(d.get("claim_minutes") or 120),
        reminders_minutes=tuple(int(m) for m in d.get("reminders_minutes") or ()),
        feedback_after_minutes=int(d.get("feedback_after_minutes") or 0),
        audience_segment=d.get("audience_segment"),
        invite=tuple(d.get("invite") or ()),
        status=ActivityStatus(d.get("status") or "open"),
        utc_offset_minutes=int(d.get("utc_offset_minutes") or 0),
        revision=int(d.get("revision") or 0),
        changed=tuple(d.get("changed") or ()),
        created_at=_time(d.get("created_at")),
        updated_at=_time(d.get("updated_at")),
        version=int(d.get("version") or 0),
    )


def book_from_item(d: dict[str, Any]) -> SeatBook:
    return SeatBook(
        capacity=int(d["capacity"]),
        seats={str(k): int(v) for k, v in (d.get("seats") or {}).items()},
        waiting={str(k): int(v) for k, v in (d.get("waiting") or {}).items()},
        last_ticket=int(d.get("seq") or 0),
    )


def feedback_to_item(f: Feedback | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"rating": f.rating, "text": f.text, "media": list(f.media), "at": _iso(f.at)}


def feedback_from_item(d: dict[str, Any] | None) -> Feedback | None:
    if not d:
        return None
    rating = d.get("rating")
    return Feedback(
        rating=int(rating) if rating is not None else None,
        text=d.get("text"),
        media=tuple(d.get("media") or ()),
        at=_time(d.get("at")),
    )


def registration_to_item(r: Registration) -> dict[str, Any]:
    return {
        "activity_id": r.activity_id,
        "sk": REG_PREFIX + r.member_id,
        "member_id": r.member_id,
        "member_sort": f"R#{r.activity_id}",
        "status": r.status.value,
        "ticket": r.ticket,
        "registered_at": _iso(r.registered_at),
        "code": r.code or None,
        "offer_expires_at": _iso(r.offer_expires_at),
        "checked_in_at": _iso(r.checked_in_at),
        "cancelled_at": _iso(r.cancelled_at),
        "reason": r.reason,
        "feedback": feedback_to_item(r.feedback),
        "source": r.source,
        "version": r.version,
    }


def registration_from_item(d: dict[str, Any]) -> Registration:
    return Registration(
        activity_id=d["activity_id"],
        member_id=d["member_id"],
        status=RegistrationStatus(d["status"]),
        ticket=int(d.get("ticket") or 0),
        registered_at=_time(d.get("registered_at")),
        code=d.get("code") or "",
        offer_expires_at=_time(d.get("offer_expires_at")),
        checked_in_at=_time(d.get("checked_in_at")),
        cancelled_at=_time(d.get("cancelled_at")),
        reason=d.get("reason"),
        feedback=feedback_from_item(d.get("feedback")),
        source=d.get("source") or "api",
        version=int(d.get("version") or 0),
    )


def invitation_to_item(activity_id: str, member_id: str, at: Any) -> dict[str, Any]:
    return {
        "activity_id": activity_id,
        "sk": INV_PREFIX + member_id,
        "member_id": member_id,
        "member_sort": f"I#{to_iso(at)}#{activity_id}",
        "invited_at": to_iso(at),
    }


def kind_of(d: dict[str, Any]) -> str:
    """``activity``, ``registration`` or ``invitation``, from the item's sort key."""
    sk = str(d.get("sk") or "")
    if sk == ACTIVITY_SK:
        return "activity"
    if sk.startswith(REG_PREFIX):
        return "registration"
    if sk.startswith(INV_PREFIX):
        return "invitation"
    return "unknown"
