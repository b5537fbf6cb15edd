"""activity_offer: a seat freed and the member is first in line (offer mode): it is theirs if they
claim it by the deadline (reply 确认 / yes, or the claim link); otherwise it passes on. Goes before
the deadline or not at all."""

from __future__ import annotations

from ..activities import ActivityEvent, EventKind
from ..model import Member
from ._activity import event_facts
from .base import Context, Plan, Rule


class ActivityOffer(Rule):
    rule_id = "activity_offer"

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        reg = event.registration
        if event.kind is not EventKind.OFFERED or reg is None or reg.offer_expires_at is None:
            return []
        facts = event_facts(ctx, member, event, ("claim", "cancel"))
        occurrence = f"{event.activity.activity_id}#{reg.ticket}"
        return [ctx.trigger(member, occurrence, facts, send_before=reg.offer_expires_at)]


RULE = ActivityOffer()
