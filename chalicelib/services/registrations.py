"""Members' places in store activities: sign up, cancel, claim an offered seat, the offer lapsing,
check-in and feedback. The decisions are ``domain/waitlist.py`` and ``domain/activities.py``; the
store (``ActivityStore``) carries them out atomically; what follows for the member (the messages,
their reminders) comes from the store's stream through the rule engine.

Every use case is safe to repeat: a second sign-up returns the place held, a second cancel or
check-in changes nothing, a change that lost a race is read again and retried."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..domain.activities import (
    Activity,
    ActivityStatus,
    Feedback,
    Registration,
    RegistrationStatus,
    Standing,
    WaitlistMode,
    check_in_code,
    next_registration,
    normalise_code,
)
from ..domain.errors import Conflict, NotFound, ValidationFailed
from ..domain.feedback import merge_feedback
from ..domain.validation import ID_PATTERN
from ..domain.waitlist import Place, SeatBook, fill, release
from ..ports import ActivityStore, Attendance, MemberStore, StoredActivity

Log = Callable[..., None]
RETRIES = 8
FEEDBACK_WINDOW = timedelta(hours=72)  # after it is asked for, a reply is feedback this long
OFFER_LAPSED = "offer not claimed in time"
LAPSED_TOLD_FOR = timedelta(hours=72)  # a late 确认 is told its offer lapsed this long after


class RegistrationService:
    def __init__(
        self, store: ActivityStore, members: MemberStore, log: Log | None = None, attendance: Attendance | None = None
    ) -> None:
        """``attendance``: told of every check-in (the member's record: segments' ``attended_activity``)."""
        self.store = store
        self.members = members
        self.log = log or (lambda *a, **k: None)
        self.attendance = attendance

    # -- signing up --------------------------------------------------------------------------------
    def register(
        self, activity_id: str, member_id: str, now: datetime, source: str = "api"
    ) -> tuple[Registration, int | None, bool]:
        """Sign the member up: (registration, position in line, created). A member already holding
        a place gets it back unchanged (created False). The store's one atomic step decides seat or
        line and refuses an activity that takes no sign-ups; the activity is read only to explain a
        refusal or to answer a repeat (a new sign-up costs four requests: member, registration,
        the step, the registration written)."""
        if not ID_PATTERN.fullmatch(activity_id or ""):
            raise ValidationFailed({"activity_id": "must match [A-Za-z0-9_-]{1,64}"})
        if not ID_PATTERN.fullmatch(member_id or ""):
            raise ValidationFailed({"member_id": "is required and must match [A-Za-z0-9_-]{1,64}"})
        if self.members.get(member_id) is None:
            raise ValidationFailed({"member_id": f"no member {member_id}"})
        for _ in range(RETRIES):
            existing = self.store.registration(activity_id, member_id)
            if existing is not None and existing.active:
                stored = self._require(activity_id)
                if not self._may_take_free_seat(stored, existing, now):
                    return existing, stored.book.position(member_id), False
            placement = self.store.place(activity_id, member_id, now)
            if placement is None:
                refusal = self._require(activity_id).activity.accepts_signups(now) or "status: sign-up is closed"
                field, why = refusal.split(": ", 1)
                raise Conflict(why, {field: why})
            status = RegistrationStatus.CONFIRMED if placement.place is Place.SEAT else RegistrationStatus.WAITLISTED
            if existing is not None and existing.active and existing.ticket == placement.ticket:
                if existing.status is status:
                    return existing, placement.position, False
                new = replace(existing, status=status)  # from the line to a seat nobody waited for
            else:
                new = Registration(
                    activity_id,
                    member_id,
                    status,
                    placement.ticket,
                    registered_at=now,
                    code=check_in_code(activity_id, member_id, placement.ticket),
                    source=source,
                )
            if self.store.record(new, existing):
                self.log("registered", activity_id=activity_id, member_id=member_id, status=status.value)
                return new, placement.position, True
            # a concurrent sign-up of the same member wrote first: read it again
        raise Conflict("the registration changed concurrently; try again")

    @staticmethod
    def _may_take_free_seat(stored: StoredActivity, existing: Registration, now: datetime) -> bool:
        """A member in line signing up again takes a seat that no longer goes to the line."""
        return (
            existing.status is RegistrationStatus.WAITLISTED
            and stored.book.seats_left > 0
            and not stored.activity.promotes(now)
            and stored.activity.accepts_signups(now) is None
        )

    # -- leaving, and the seat passing on ----------------------------------------------------------
    def cancel(
        self, activity_id: str, member_id: str, now: datetime, reason: str = "cancelled by the member"
    ) -> Registration | None:
        """The member gives up their place (idempotent); a freed seat goes to the first in line
        (confirmed at once, or offered). Returns the registration as it ends up (None: never had one)."""
        for _ in range(RETRIES):
            stored = self._require(activity_id)
            reg = self.store.registration(activity_id, member_id)
            if reg is None or not reg.active:
                return reg
            leaving = replace(reg, status=RegistrationStatus.CANCELLED, cancelled_at=now, reason=reason)
            leaving = replace(leaving, offer_expires_at=None)
            after = release(stored.book, member_id)
            if self._pass_on(stored, after, leaving, now):
                self.log("registration cancelled", activity_id=activity_id, member_id=member_id, reason=reason)
                return leaving
        raise Conflict("the activity changed concurrently; try again")

    def fill(self, activity_id: str, now: datetime) -> int:
        """Seats freed by more capacity go to the first in line; returns how many moved up."""
        for _ in range(RETRIES):
            stored = self._require(activity_id)
            _, heads = fill(stored.book, stored.activity.promotes(now))
            if not heads:
                return 0
            if self._pass_on(stored, stored.book, None, now):
                return len(heads)
        raise Conflict("the activity changed concurrently; try again")

    def _pass_on(self, stored: StoredActivity, after: SeatBook, leaving: Registration | None, now: datetime) -> bool:
        """Write ``leaving`` and hand the seats free in ``after`` to the first in line, atomically."""
        activity = stored.activity
        _, heads = fill(after, activity.promotes(now))
        promoted: list[tuple[Registration, Registration | None]] = []
        for head in heads:
            old = self.store.registration(activity.activity_id, head)
            ticket = stored.book.waiting[head]
            base = old or Registration(
                activity.activity_id,
                head,
                RegistrationStatus.WAITLISTED,
                ticket,
                registered_at=None,
                code=check_in_code(activity.activity_id, head, ticket),
            )
            if activity.waitlist_mode is WaitlistMode.OFFER:
                new = replace(base, status=RegistrationStatus.OFFERED, offer_expires_at=activity.offer_deadline(now))
            else:
                new = replace(base, status=RegistrationStatus.CONFIRMED)
            promoted.append((new, old))
        return self.store.move(activity.activity_id, stored.book, leaving, promoted)

    def claim(self, activity_id: str, member_id: str, now: datetime) -> Registration | None:
        """The member takes the seat offered to them (before the deadline). None when there is no
        open offer (never made, claimed already, or lapsed: then the seat has passed on)."""
        for _ in range(RETRIES):
            reg = self.store.registration(activity_id, member_id)
            if reg is None:
                return None
            if reg.status is RegistrationStatus.CONFIRMED and reg.reason == "claimed":
                return reg  # claimed twice: once is enough
            if reg.status is not RegistrationStatus.OFFERED or reg.offer_expires_at is None:
                return None
            if now >= reg.offer_expires_at:
                self.expire_offer(activity_id, member_id, reg.ticket, now)
                return None
            claimed = replace(reg, status=RegistrationStatus.CONFIRMED, offer_expires_at=None, reason="claimed")
            if self.store.record(claimed, reg):
                self.log("offer claimed", activity_id=activity_id, member_id=member_id)
                return claimed
        raise Conflict("the registration changed concurrently; try again")

    def expire_offer(self, activity_id: str, member_id: str, ticket: int, now: datetime) -> str:
        """The claim window passed (a timer): an unclaimed offer lapses and the seat passes on."""
        reg = self.store.registration(activity_id, member_id)
        if reg is None or reg.ticket != ticket or reg.status is not RegistrationStatus.OFFERED:
            return "no open offer"
        if reg.offer_expires_at is not None and now < reg.offer_expires_at:
            return "offer still open"
        if self.store.get(activity_id) is None:
            return "activity gone"
        self.cancel(activity_id, member_id, now, reason=OFFER_LAPSED)
        return "offer lapsed"

    # -- at the door and after ---------------------------------------------------------------------
    def check_in(self, activity_id: str, body: Any, now: datetime) -> Registration:
        """By ``member_id`` or ``code``: the member holding a seat is here (idempotent)."""
        stored = self._require(activity_id)
        if not isinstance(body, dict) or not (body.get("member_id") or body.get("code")):
            raise ValidationFailed({"member_id": "give member_id or code", "code": "give member_id or code"})
        if stored.activity.status is ActivityStatus.CANCELLED:
            raise Conflict("the activity is cancelled", {"status": "the activity is cancelled"})
        field = "member_id" if body.get("member_id") else "code"
        for _ in range(RETRIES):
            reg = self._find(activity_id, body)
            if reg is None:
                raise ValidationFailed({field: "no registration for this activity"})
            if reg.status is not RegistrationStatus.CONFIRMED:
                raise Conflict(
                    f"the registration is {reg.status.value}", {field: f"is {reg.status.value}, not confirmed"}
                )
            if reg.checked_in_at is not None:
                self._attended(reg)  # again: a check-in that died before telling the member's record
                return reg
            here = replace(reg, checked_in_at=now)
            if self.store.record(here, reg):
                self.log("checked in", activity_id=activity_id, member_id=reg.member_id)
                self._attended(here)
                return here
        raise Conflict("the registration changed concurrently; try again")

    def _attended(self, reg: Registration) -> None:
        if self.attendance is not None and reg.checked_in_at is not None:
            self.attendance.attended(reg.member_id, reg.activity_id, reg.checked_in_at)

    def _find(self, activity_id: str, body: dict[str, Any]) -> Registration | None:
        member_id = body.get("member_id")
        if member_id is not None:
            if not isinstance(member_id, str) or not ID_PATTERN.fullmatch(member_id):
                raise ValidationFailed({"member_id": "must match [A-Za-z0-9_-]{1,64}"})
            return self.store.registration(activity_id, member_id)
        code = body.get("code")
        if not isinstance(code, str) or not normalise_code(code):
            raise ValidationFailed({"code": "must be the check-in code from the confirmation"})
        wanted = normalise_code(code)
        found = [r for r in self.store.registrations(activity_id) if r.code and normalise_code(r.code) == wanted]
        if len(found) > 1:
            raise Conflict("two registrations share this code: check in by member_id", {"code": "is ambiguous"})
        return found[0] if found else None

    def add_feedback(
        self, activity_id: str, member_id: str, said: Feedback, media: tuple[str, ...], now: datetime
    ) -> Registration | None:
        """What the member said about the activity, kept with their registration (added to what
        they said before)."""
        for _ in range(RETRIES):
            reg = self.store.registration(activity_id, member_id)
            if reg is None:
                return None
            kept = replace(reg, feedback=merge_feedback(reg.feedback, said, media, now))
            if self.store.record(kept, reg):
                return kept
        raise Conflict("the registration changed concurrently; try again")

    def not_erased(self, member_ids: list[str]) -> list[str]:
        """Those of ``member_ids`` not erased: an erased member is never invited again, whatever
        list the store sends (its definition keeps the ids it was given)."""
        return [m for m in member_ids if self.members.erased_at(m) is None]

    # -- what a member holds -----------------------------------------------------------------------
    def places_of(self, member_id: str) -> list[tuple[Activity, Registration]]:
        """The member's registrations with their activities (those still there)."""
        pairs = []
        for reg in self.store.of_member(member_id):
            stored = self.store.get(reg.activity_id)
            if stored is not None:
                current = self.store.registration(reg.activity_id, member_id) or reg
                pairs.append((stored.activity, current))
        return pairs

    def next_place(self, member_id: str, now: datetime) -> tuple[Activity, Registration] | None:
        return next_registration(self.places_of(member_id), now)

    def open_offer(self, member_id: str, now: datetime) -> tuple[Activity, Registration] | None:
        offers = [
            (a, r) for a, r in self.places_of(member_id) if r.status is RegistrationStatus.OFFERED and a.starts_at > now
        ]
        return min(offers, key=lambda pair: pair[1].offer_expires_at or pair[0].starts_at, default=None)

    def lapsed_offer(self, member_id: str, now: datetime) -> Activity | None:
        """An activity whose offer to the member lapsed lately (a late 确认 is told so)."""
        lapsed = [
            a
            for a, r in self.places_of(member_id)
            if r.reason == OFFER_LAPSED and r.cancelled_at and now - r.cancelled_at < LAPSED_TOLD_FOR
        ]
        return lapsed[0] if lapsed else None

    def feedback_open(self, member_id: str, now: datetime) -> tuple[Activity, Registration] | None:
        """The activity the member was (or is about to be) asked about: they checked in, it ended,
        and the feedback window after asking is still open."""
        attended = [
            (a, r)
            for a, r in self.places_of(member_id)
            if r.checked_in_at is not None and a.ended(now) and now <= a.feedback_due() + FEEDBACK_WINDOW
        ]
        return max(attended, key=lambda pair: pair[0].ends_at, default=None)

    def standing(self, activity_id: str, member_id: str, now: datetime) -> Standing:
        stored = self.store.get(activity_id)
        if stored is None:
            return Standing(None, None)
        upcoming = tuple(
            a for a in self.store.listed(since=now) if a.status is ActivityStatus.OPEN and a.activity_id != activity_id
        )
        return Standing(stored.activity, self.store.registration(activity_id, member_id), upcoming)

    def _require(self, activity_id: str) -> StoredActivity:
        if not ID_PATTERN.fullmatch(activity_id or ""):
            raise ValidationFailed({"activity_id": "must match [A-Za-z0-9_-]{1,64}"})
        stored = self.store.get(activity_id)
        if stored is None:
            raise NotFound(f"activity {activity_id}")
        return stored


class KeywordSignUps:
    """The ``Registrations`` port (a campaign reply keyword whose action is an activity) over
    :class:`RegistrationService`: the member signed up as a reply would (source ``keyword``), the
    confirmation or place in line following from the stream. An activity that takes no sign-ups now
    (closed, started, called off) gives ``closed``; an unknown one raises NotFound."""

    def __init__(self, registrations: RegistrationService) -> None:
        self.registrations = registrations

    def register(self, activity_id: str, member_id: str, now: datetime) -> str:
        try:
            reg, _, _ = self.registrations.register(activity_id, member_id, now, source="keyword")
        except Conflict:
            return "closed"
        return reg.status.value
