"""activity_changed: the store moved the activity (a new start time or place) or called it off:
every member holding a place (confirmed, offered or in line) hears it once per change (the
activity's ``revision``). Their reminders follow the new time (``activity_reminder``)."""

from __future__ import annotations

from ..activities import NOTIFIED_FIELDS, ActivityEvent, EventKind
from ..model import Member
from ._activity import event_facts
from .base import Context, Plan, Rule


class ActivityChanged(Rule):
    rule_id = "activity_changed"

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        reg = event.registration
        activity = event.activity
        if event.kind is not EventKind.CHANGED or reg is None or not reg.active:
            return []
        if not set(activity.changed) & set(NOTIFIED_FIELDS):
            return []  # only the end time moved: the reminders follow, nothing to tell
        facts = event_facts(ctx, member, event, () if "status" in activity.changed else ("cancel",))
        return [ctx.trigger(member, f"{activity.activity_id}#r{activity.revision}", facts)]


RULE = ActivityChanged()
