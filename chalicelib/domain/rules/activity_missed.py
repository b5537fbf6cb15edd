"""activity_missed: a member who held a seat and never checked in (a no-show) hears, when the others
are asked for feedback, that they were missed, with the next date (the next open activity of the
same title, else the next one) when there is one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..activities import MAX_FEEDBACK_AFTER_MINUTES, ActivityEvent
from ..activity_facts import next_date_facts
from ..model import Member, Product
from ..timers import Timer
from ._activity import after_the_end, facts, place_of
from .base import Check, Context, Drop, Fire, Plan, Rule


class ActivityMissed(Rule):
    rule_id = "activity_missed"
    reads_standing = True

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        return after_the_end(event, member, ctx)

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        place = place_of(ctx, str(timer.facts["activity_id"]), int(timer.facts["ticket"]))
        if isinstance(place, Drop):
            return place
        activity, reg = place
        if not reg.no_show(activity, ctx.now):
            return Drop("checked in" if reg.checked_in_at is not None else "activity not over")
        out = facts(ctx, member, activity, reg)
        upcoming = ctx.standing.upcoming if ctx.standing is not None else ()
        out.update(next_date_facts(upcoming, activity, ctx.zone(member), member.locale))
        latest = activity.ends_at + timedelta(minutes=MAX_FEEDBACK_AFTER_MINUTES)
        return Fire(out, send_before=latest)


RULE = ActivityMissed()
