"""What the activity rules share: the template facts of an event for a member, and the timers a
seat calls for (kept per activity and member: the slot ``<rule>#<activity_id>…``)."""

from __future__ import annotations

from typing import Any

from ..activities import Activity, ActivityEvent, EventKind, Registration, RegistrationStatus, Standing
from ..activity_facts import activity_facts
from ..isotime import to_iso
from ..model import Member
from .base import Context, Drop, Plan

# The events after which a member holds a confirmed seat (their timers are (re)scheduled).
SEATED_EVENTS = frozenset({EventKind.REGISTERED, EventKind.PROMOTED, EventKind.CHANGED})


def facts(
    ctx: Context,
    member: Member,
    activity: Activity,
    registration: Registration | None = None,
    *,
    position: int | None = None,
    actions: tuple[str, ...] = (),
) -> dict[str, Any]:
    return activity_facts(
        activity,
        member.member_id,
        ctx.zone(member),
        member.locale,
        registration=registration,
        position=position,
        links=ctx.links,
        actions=actions,
    )


def event_facts(ctx: Context, member: Member, event: ActivityEvent, actions: tuple[str, ...] = ()) -> dict[str, Any]:
    return facts(ctx, member, event.activity, event.registration, position=event.position, actions=actions)


def holds_seat(event: ActivityEvent) -> Registration | None:
    """The member's confirmed registration, when the event leaves them with a seat."""
    reg = event.registration
    if event.kind not in SEATED_EVENTS or reg is None or reg.status is not RegistrationStatus.CONFIRMED:
        return None
    return reg


def seat_occurrence(activity_id: str, ticket: int) -> str:
    """The occurrence of what a member is asked after the activity for their place (ticket) in it."""
    return f"{activity_id}#{ticket}"


def after_the_end(event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
    """One timer per seat held, due when the activity's feedback is (``feedback_due``): what the
    feedback question and the "sorry we missed you" both wait for, each deciding when it fires."""
    reg = holds_seat(event)
    if reg is None:
        return []
    activity = event.activity
    timer_facts = {"activity_id": activity.activity_id, "ticket": reg.ticket, "ends_at": to_iso(activity.ends_at)}
    occurrence = seat_occurrence(activity.activity_id, reg.ticket)
    timer = ctx.timer(member, activity.activity_id, occurrence, activity.feedback_due(), timer_facts)
    return [timer] if timer is not None else []


def place_of(ctx: Context, activity_id: str, ticket: int) -> tuple[Activity, Registration] | Drop:
    """At firing: the activity and the member's registration still as the timer knew them (the same
    place, a seat), or why not."""
    seen: Standing | None = ctx.standing
    if seen is None or seen.activity is None:
        return Drop("activity no longer exists")
    activity, reg = seen.activity, seen.registration
    if activity.activity_id != activity_id:
        return Drop("another activity")
    if activity.status.value == "cancelled":
        return Drop("activity cancelled")
    if reg is None or reg.ticket != ticket:
        return Drop("registration no longer exists")
    if reg.status is RegistrationStatus.CANCELLED:
        return Drop("registration cancelled")
    if reg.status is not RegistrationStatus.CONFIRMED:
        return Drop(f"registration is {reg.status.value}, not confirmed")
    return activity, reg
