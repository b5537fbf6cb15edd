"""activity_feedback: after the activity (``feedback_after_minutes`` after its end, default 60, never
later than a day), each member who checked in is asked how it was: a rating 1–5 (or stars), a few
words, a photo. What they answer is kept with the activity (``GET …/feedback``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..activities import MAX_FEEDBACK_AFTER_MINUTES, ActivityEvent
from ..model import Member, Product
from ..timers import Timer
from ._activity import after_the_end, facts, place_of, seat_occurrence
from .base import Check, Context, Drop, Fire, Plan, Rule


def occurrence(activity_id: str, ticket: int) -> str:
    """The occurrence of the member's feedback question for their place (ticket) in the activity."""
    return seat_occurrence(activity_id, ticket)


class ActivityFeedback(Rule):
    rule_id = "activity_feedback"
    reads_standing = True

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        return after_the_end(event, member, ctx)

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        place = place_of(ctx, str(timer.facts["activity_id"]), int(timer.facts["ticket"]))
        if isinstance(place, Drop):
            return place
        activity, reg = place
        if reg.checked_in_at is None:
            return Drop("did not check in (activity_missed asks instead)")
        latest = activity.ends_at + timedelta(minutes=MAX_FEEDBACK_AFTER_MINUTES)
        return Fire(facts(ctx, member, activity, reg), send_before=latest)


RULE = ActivityFeedback()
