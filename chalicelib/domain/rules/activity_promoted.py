"""activity_promoted: a member in line got a seat (a freed seat went to them, or they claimed the
one offered): time, place and the check-in code."""

from __future__ import annotations

from ..activities import ActivityEvent, EventKind
from ..model import Member
from ._activity import event_facts
from .base import Context, Plan, Rule


class ActivityPromoted(Rule):
    rule_id = "activity_promoted"

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        reg = event.registration
        if event.kind is not EventKind.PROMOTED or reg is None:
            return []
        facts = event_facts(ctx, member, event, ("cancel",))
        occurrence = f"{event.activity.activity_id}#{reg.ticket}"
        return [ctx.trigger(member, occurrence, facts, send_before=event.activity.starts_at)]


RULE = ActivityPromoted()
