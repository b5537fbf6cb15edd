"""Store activities (a building contest, a story hour, a first look at new toys) and the members
registered for them, as pure values and decisions: who holds a seat, when offers stop, who is a
no-show, when each message is due. No I/O; "now" is always a parameter.

Seats and the waitlist themselves are ``domain/waitlist.py`` (the one place that decides who gets a
seat and who is next); this module holds the nouns around them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .timers import OFFER_RULE, Timer

DEFAULT_SIGNUP_KEYWORD = "报名"
DEFAULT_CLAIM_MINUTES = 120
DEFAULT_REMINDERS_MINUTES = (1440, 60)
DEFAULT_FEEDBACK_AFTER_MINUTES = 60
MAX_FEEDBACK_AFTER_MINUTES = 1440  # feedback is asked for within a day of the end, never later
OFFERS_STOP_BEFORE = timedelta(hours=2)  # no seat is offered in the last two hours before the start
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud at the door
CODE_LENGTH = 6


class WaitlistMode(StrEnum):
    AUTO = "auto"  # a freed seat goes to the first in line at once
    OFFER = "offer"  # a freed seat is offered to the first in line, who must claim it in time


class ActivityStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # no new sign-ups; those registered still come
    CANCELLED = "cancelled"  # called off by the store


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"  # holds a seat
    OFFERED = "offered"  # a seat is held for them until ``offer_expires_at``
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


ACTIVE = frozenset({RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED})
SEATED = frozenset({RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED})

# What changing an activity tells its registered members (``activity_changed``); a new end time
# only moves their timers (feedback is asked for after the new end).
NOTIFIED_FIELDS = ("starts_at", "location", "status")
MOVING_FIELDS = ("starts_at", "ends_at")


@dataclass(frozen=True)
class Activity:
    activity_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    capacity: int
    signup_keyword: str = DEFAULT_SIGNUP_KEYWORD
    signup_closes_at: datetime | None = None
    waitlist_mode: WaitlistMode = WaitlistMode.AUTO
    claim_minutes: int = DEFAULT_CLAIM_MINUTES
    reminders_minutes: tuple[int, ...] = DEFAULT_REMINDERS_MINUTES
    feedback_after_minutes: int = DEFAULT_FEEDBACK_AFTER_MINUTES
    audience_segment: str | None = None
    invite: tuple[str, ...] = ()  # members invited by name (until segments pick an audience)
    status: ActivityStatus = ActivityStatus.OPEN
    utc_offset_minutes: int = 0  # the offset ``starts_at`` was given with (how the store wrote it)
    revision: int = 0  # goes up with every change members are told about (time, place, cancelled)
    changed: tuple[str, ...] = ()  # what the last revision changed
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0  # optimistic concurrency of the definition

    def accepts_signups(self, now: datetime) -> str | None:
        """Why a new registration is refused now (the field at fault and why), or None."""
        if self.status is ActivityStatus.CANCELLED:
            return "status: the activity is cancelled"
        if self.status is ActivityStatus.CLOSED:
            return "status: sign-up is closed"
        if self.signup_closes_at is not None and now >= self.signup_closes_at:
            return "signup_closes_at: sign-up closed at this time"
        if now >= self.starts_at:
            return "starts_at: the activity has started"
        return None

    def offers_open(self, now: datetime) -> bool:
        """A freed seat may still be offered (offer mode): until two hours before the start."""
        return now < self.starts_at - OFFERS_STOP_BEFORE

    def promotes(self, now: datetime) -> bool:
        """A freed seat goes to the first in line now: always before the start in auto mode; in
        offer mode only while offers are still made."""
        if self.status is ActivityStatus.CANCELLED or now >= self.starts_at:
            return False
        return self.waitlist_mode is WaitlistMode.AUTO or self.offers_open(now)

    def offer_deadline(self, now: datetime) -> datetime:
        """Until when an offer made now may be claimed: ``claim_minutes``, never past the start."""
        return min(now + timedelta(minutes=self.claim_minutes), self.starts_at)

    def feedback_due(self) -> datetime:
        return self.ends_at + timedelta(minutes=min(self.feedback_after_minutes, MAX_FEEDBACK_AFTER_MINUTES))

    def ended(self, now: datetime) -> bool:
        return now >= self.ends_at


@dataclass(frozen=True)
class Feedback:
    rating: int | None = None  # 1–5
    text: str | None = None
    media: tuple[str, ...] = ()  # references to what the member sent (an IM image's URL or id), never the bytes
    at: datetime | None = None

    @property
    def empty(self) -> bool:
        return self.rating is None and not self.text and not self.media


@dataclass(frozen=True)
class Registration:
    activity_id: str
    member_id: str
    status: RegistrationStatus
    ticket: int  # arrival order: the n-th place taken in this activity (never reused)
    registered_at: datetime | None
    code: str = ""  # the check-in code the confirmation carries
    offer_expires_at: datetime | None = None
    checked_in_at: datetime | None = None
    cancelled_at: datetime | None = None
    reason: str | None = None  # why it was cancelled (by the member, the offer lapsed …)
    feedback: Feedback | None = None
    feedback_asked_at: datetime | None = None
    source: str = "api"  # api / reply / link
    version: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def no_show(self, activity: Activity, now: datetime) -> bool:
        """Held a seat when the activity ended and never checked in."""
        return (
            self.status is RegistrationStatus.CONFIRMED
            and self.checked_in_at is None
            and activity.status is not ActivityStatus.CANCELLED
            and activity.ended(now)
        )


@dataclass(frozen=True)
class Standing:
    """What an activity rule reads when its timer fires: the activity and the member's registration
    as they are now (None: gone), and the open activities still ahead (for "the next date")."""

    activity: Activity | None
    registration: Registration | None
    upcoming: tuple[Activity, ...] = ()


class EventKind(StrEnum):
    INVITED = "invited"
    REGISTERED = "registered"  # a seat, at once
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    PROMOTED = "promoted"  # from the waitlist (auto) or by claiming an offer
    CANCELLED = "cancelled"  # the registration ended (the member, or an offer that lapsed)
    CHANGED = "changed"  # the store moved or cancelled the activity


@dataclass(frozen=True)
class ActivityEvent:
    """Something happened to a member's place in an activity (or to the activity they are in)."""

    kind: EventKind
    activity: Activity
    member_id: str
    registration: Registration | None = None
    position: int | None = None  # on the waitlist, 1 = next in line


def registration_event(old: Registration | None, new: Registration) -> EventKind | None:
    """What a registration's change means for the member (None: nothing to tell: a check-in,
    feedback, a rewrite of the same state)."""
    before = old.status if old is not None and old.ticket == new.ticket else None
    after = new.status
    if before == after:
        return None
    if after is RegistrationStatus.CANCELLED:
        return EventKind.CANCELLED if before in ACTIVE else None
    if after is RegistrationStatus.CONFIRMED:
        if before in (RegistrationStatus.WAITLISTED, RegistrationStatus.OFFERED):
            return EventKind.PROMOTED
        return EventKind.REGISTERED
    if after is RegistrationStatus.OFFERED:
        return EventKind.OFFERED
    return EventKind.WAITLISTED if before in (None, RegistrationStatus.CANCELLED) else None


def changes(old: Activity, new: Activity) -> tuple[str, ...]:
    """The fields that differ and matter to registered members: the times and place
    (``NOTIFIED_FIELDS`` are told, ``MOVING_FIELDS`` move their timers) and a cancellation; re-opening
    or closing sign-up does not count."""
    out = []
    if old.starts_at != new.starts_at:
        out.append("starts_at")
    if old.ends_at != new.ends_at:
        out.append("ends_at")
    if old.location != new.location:
        out.append("location")
    if new.status is ActivityStatus.CANCELLED and old.status is not ActivityStatus.CANCELLED:
        out.append("status")
    return tuple(out)


def check_in_code(activity_id: str, member_id: str, ticket: int) -> str:
    """A short code for the door, derived from the place (a re-registration gets a new one).
    Six characters of a 31-letter alphabet: two codes of one activity collide about once in
    ten thousand activities of 200 members; a clash is answered as ambiguous, never guessed."""
    digest = hashlib.sha256(f"{activity_id}#{member_id}#{ticket}".encode()).digest()
    value = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        value, index = divmod(value, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def normalise_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True)
class Counts:
    confirmed: int = 0
    waitlisted: int = 0
    offered: int = 0
    cancelled: int = 0
    checked_in: int = 0
    no_show: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def counts(activity: Activity, registrations: list[Registration], now: datetime) -> Counts:
    tally = {s.value: 0 for s in RegistrationStatus}
    for r in registrations:
        tally[r.status.value] += 1
    return Counts(
        confirmed=tally["confirmed"],
        waitlisted=tally["waitlisted"],
        offered=tally["offered"],
        cancelled=tally["cancelled"],
        checked_in=sum(1 for r in registrations if r.checked_in_at is not None and r.status in SEATED),
        no_show=sum(1 for r in registrations if r.no_show(activity, now)),
        by_status=tally,
    )


def next_registration(
    pairs: list[tuple[Activity, Registration]], now: datetime
) -> tuple[Activity, Registration] | None:
    """The member's next activity they hold a place in (confirmed, offered or waitlisted), by start."""
    ahead = [(a, r) for a, r in pairs if r.active and a.status is not ActivityStatus.CANCELLED and a.starts_at > now]
    return min(ahead, key=lambda pair: (pair[0].starts_at, pair[0].activity_id), default=None)


def same_word(keyword: str, text: str) -> bool:
    """``text`` is the sign-up word (compared as the keyword router compares: case, width,
    punctuation and spaces aside)."""
    from .keywords import normalize

    return normalize(keyword).replace(" ", "") == normalize(text).replace(" ", "")


def accepts(activity: Activity, word: str, now: datetime) -> bool:
    """The activity takes sign-ups now and ``word`` is its sign-up word."""
    return activity.accepts_signups(now) is None and same_word(activity.signup_keyword, word)


def offer_expiry(reg: Registration) -> Timer | None:
    """The engine's timer that lets an unclaimed offer lapse at its deadline (one per activity and
    member; the occurrence is the place, so a later offer is a new timer)."""
    if reg.status is not RegistrationStatus.OFFERED or reg.offer_expires_at is None:
        return None
    facts = {"activity_id": reg.activity_id, "ticket": reg.ticket}
    key = f"{OFFER_RULE}#{reg.activity_id}"
    return Timer(reg.member_id, key, OFFER_RULE, f"{reg.activity_id}#{reg.ticket}", reg.offer_expires_at, facts)
