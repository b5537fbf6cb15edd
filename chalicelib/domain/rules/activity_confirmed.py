"""activity_confirmed: a member signed up and got a seat at once: time, place and the check-in
code (and a cancel link), once per place taken; never after the activity has started."""

from __future__ import annotations

from ..activities import ActivityEvent, EventKind
from ..model import Member
from ._activity import event_facts
from .base import Context, Plan, Rule


class ActivityConfirmed(Rule):
    rule_id = "activity_confirmed"

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        reg = event.registration
        if event.kind is not EventKind.REGISTERED or reg is None:
            return []
        occurrence = f"{event.activity.activity_id}#{reg.ticket}"
        facts = event_facts(ctx, member, event, ("cancel",))
        return [ctx.trigger(member, occurrence, facts, send_before=event.activity.starts_at)]


RULE = ActivityConfirmed()
