"""activity_invite (marketing): a member invited to an activity (``invite`` on the activity) hears
about it, once, while sign-up is open; the message says the sign-up word (and carries a register
link where the store has signed links)."""

from __future__ import annotations

from ..activities import ActivityEvent, EventKind
from ..model import Member
from ._activity import event_facts
from .base import Context, Plan, Rule


class ActivityInvite(Rule):
    rule_id = "activity_invite"

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        activity = event.activity
        if event.kind is not EventKind.INVITED or activity.accepts_signups(ctx.now) is not None:
            return []
        closes = activity.signup_closes_at or activity.starts_at
        facts = event_facts(ctx, member, event, ("register",))
        return [ctx.trigger(member, activity.activity_id, facts, send_before=closes)]


RULE = ActivityInvite()
