"""activity_waitlisted: the activity is full and the member is in line: their position (1 = next)
and how a freed seat reaches them (at once, or as an offer to claim)."""

from __future__ import annotations

from ..activities import ActivityEvent, EventKind
from ..model import Member
from ._activity import event_facts
from .base import Context, Plan, Rule


class ActivityWaitlisted(Rule):
    rule_id = "activity_waitlisted"

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        reg = event.registration
        if event.kind is not EventKind.WAITLISTED or reg is None:
            return []
        facts = event_facts(ctx, member, event, ("cancel",))
        facts["activity"]["offers"] = event.activity.waitlist_mode.value == "offer"
        occurrence = f"{event.activity.activity_id}#{reg.ticket}"
        return [ctx.trigger(member, occurrence, facts, send_before=event.activity.starts_at)]


RULE = ActivityWaitlisted()
