"""activity_reminder: before the activity, at each of its ``reminders_minutes`` (default a day and an
hour before), a reminder to each member holding a confirmed seat. One timer per (activity, member,
offset). A reminder that would fall in the member's quiet hours goes at the last open minute
BEFORE it (``QuietHours.last_open_minute_before``), never after; at firing it still needs the seat
(a cancelled registration's reminders never go), the same start time (a moved activity has new
reminders) and an activity not yet started; and it must go before the start or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..activities import ActivityEvent
from ..isotime import to_iso
from ..model import Member, Product
from ..timers import Timer
from ._activity import facts, holds_seat, place_of
from .base import Check, Context, Drop, Fire, Plan, Rule


class ActivityReminder(Rule):
    rule_id = "activity_reminder"
    reads_standing = True

    def on_activity(self, event: ActivityEvent, member: Member, ctx: Context) -> list[Plan]:
        reg = holds_seat(event)
        if reg is None:
            return []
        activity = event.activity
        quiet = ctx.config.quiet_hours(ctx.book.store.quiet_hours)
        tz = ctx.zone(member)
        plans: list[Plan] = []
        for minutes in activity.reminders_minutes:
            due = quiet.last_open_minute_before(activity.starts_at - timedelta(minutes=minutes), tz)
            if due <= ctx.now or due >= activity.starts_at:
                continue  # signed up too late for this one
            starts = to_iso(activity.starts_at)
            occurrence = f"{activity.activity_id}#{reg.ticket}#{starts}#{minutes}"
            timer_facts = {"activity_id": activity.activity_id, "ticket": reg.ticket, "starts_at": starts}
            timer_facts["minutes"] = minutes
            timer = ctx.timer(member, f"{activity.activity_id}#{minutes}", occurrence, due, timer_facts)
            if timer is not None:
                plans.append(timer)
        return plans

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        place = place_of(ctx, str(timer.facts["activity_id"]), int(timer.facts["ticket"]))
        if isinstance(place, Drop):
            return place
        activity, reg = place
        if to_iso(activity.starts_at) != timer.facts["starts_at"]:
            return Drop("activity moved: the reminders for its new time replace this one")
        if ctx.now >= activity.starts_at:
            return Drop("activity started")
        out = facts(ctx, member, activity, reg, actions=("cancel",))
        out["reminder"] = {"minutes": int(timer.facts["minutes"])}
        return Fire(out, send_before=activity.starts_at)


RULE = ActivityReminder()
