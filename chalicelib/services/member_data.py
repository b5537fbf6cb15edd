"""What is stored about a member, read back: the export (CONTRACT §9: everything, as JSON) and the
timeline (CONTRACT §8: what happened, newest first, paged). An erased member has neither (404)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain import timeline, validation
from ..domain.errors import NotFound
from ..domain.isotime import to_iso
from ..domain.model import Member
from ..domain.planning import describe
from ..ports import (
    ActivityLog,
    ActivityStore,
    CampaignStore,
    HandoffStore,
    MemberStore,
    MessageStore,
    PollBox,
    TimerStore,
)
from .activities import describe_feedback, describe_registration
from .members import profile

_EXPORT_GROUPS = {"order": "orders", "points": "points", "coupon": "coupons", "chat": "replies"}


class MemberData:
    def __init__(
        self,
        members: MemberStore,
        messages: MessageStore,
        activity: ActivityLog,
        handoffs: HandoffStore,
        timers: TimerStore,
        campaigns: CampaignStore,
        polls: PollBox,
        activities: ActivityStore,
    ) -> None:
        self.members = members
        self.messages = messages
        self.activity = activity
        self.handoffs = handoffs
        self.timers = timers
        self.campaigns = campaigns
        self.polls = polls
        self.activities = activities

    def _member(self, member_id: str) -> Member:
        validation.check_id(member_id, "member_id")
        member = self.members.get(member_id)
        if member is None:
            raise NotFound(f"member {member_id}")
        return member

    def export(self, member_id: str, now: datetime) -> dict[str, Any]:
        """Everything stored about the member, as JSON data."""
        member = self._member(member_id)
        groups: dict[str, list[dict[str, Any]]] = {name: [] for name in _EXPORT_GROUPS.values()}
        consent_changes: list[dict[str, Any]] = []
        for record in sorted(self.activity.for_member(member_id), key=lambda r: (r.at, r.key)):
            if record.kind == "consent":
                consent_changes.append({"at": to_iso(record.at), **record.data})
            elif record.kind in _EXPORT_GROUPS:
                groups[_EXPORT_GROUPS[record.kind]].append({"at": to_iso(record.at), **record.data})
        messages = [
            {
                **describe(m),
                "occurrence": m.occurrence,
                "history": [
                    {"status": h.status.value, "at": to_iso(h.at), **({"reason": h.reason} if h.reason else {})}
                    for h in m.history
                ],
            }
            for m in self.messages.for_member(member_id)
        ]
        handoffs = [
            {
                "ticket_id": t.ticket_id,
                "channel": t.channel.value,
                "text": t.text,
                "status": t.status,
                "created_at": to_iso(t.created_at),
            }
            for t in self.handoffs.for_member(member_id)
        ]
        timers = [
            {"rule": t.timer.rule_id, "slot": t.timer.key, "due_at": to_iso(t.timer.due_at), "facts": t.timer.facts}
            for t in self.timers.for_member(member_id)
            if t.status == "pending"
        ]
        return {
            "member_id": member_id,
            "exported_at": to_iso(now),
            "profile": {**profile(member), "unreachable": dict(member.unreachable)},
            **groups,
            "messages": messages,
            "handoffs": handoffs,
            "timers_pending": timers,
            "consent": {"current": profile(member)["consent"], "changes": consent_changes},
            # What segments read, kept on the member's item from their orders and check-ins.
            "purchases": {
                "orders_count": member.orders_count,
                "total_spent": member.total_spent,
                "bought": {category: day.isoformat() for category, day in sorted(member.bought.items())},
                "attended": {activity: to_iso(at) for activity, at in sorted(member.attended.items())},
            },
            "campaigns": {
                "votes": [
                    {"campaign_id": cid, "option": option, "at": to_iso(at)}
                    for cid, option, at in self.polls.votes_of(member_id)
                ],
                "keyword_claims": [
                    {"campaign_id": cid, "at": to_iso(at)} for cid, at in self.campaigns.keyword_claims(member_id)
                ],
            },
            "activities": {
                "registrations": self._registrations(member_id, now),
                "invitations": [
                    {"activity_id": activity_id, "invited_at": to_iso(at)}
                    for activity_id, at in self.activities.invitations_of(member_id)
                ],
            },
        }

    def _registrations(self, member_id: str, now: datetime) -> list[dict[str, Any]]:
        """The member's registrations as the activity's list shows them (status, place in line,
        times), with their check-in code, how they signed up and what they said afterwards."""
        out = []
        for reg in self.activities.of_member(member_id):
            stored = self.activities.get(reg.activity_id)
            if stored is None:
                continue
            reg = self.activities.registration(reg.activity_id, member_id) or reg
            entry: dict[str, Any] = {
                "activity_id": reg.activity_id,
                "title": stored.activity.title,
                "starts_at": to_iso(stored.activity.starts_at),
                **describe_registration(reg, stored.book, stored.activity, now),
                "code": reg.code,
                "source": reg.source,
            }
            if entry["registered_at"] is None:
                del entry["registered_at"]
            if reg.feedback is not None and not reg.feedback.empty:
                entry["feedback"] = describe_feedback(reg.feedback)
            out.append(entry)
        return out

    def timeline(self, member_id: str, params: Mapping[str, str] | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the member's timeline, newest first, and the cursor of the next page."""
        limit, after = timeline.parse_page(params)
        member = self._member(member_id)
        stored = [timeline.from_activity(r.kind, r.key, r.at, r.data) for r in self.activity.for_member(member_id)]
        for reg in self.activities.of_member(member_id):
            found = self.activities.get(reg.activity_id)
            stored += timeline.from_registration(reg, found.activity.title if found is not None else None)
        first = timeline.joined(member)
        others = sorted(
            [e for e in [*stored, first] if e is not None],
            key=lambda e: e.key,
            reverse=True,
        )
        until = timeline.cursor_time(after) if after else None
        messages = (timeline.from_message(m) for m in self.messages.for_member(member_id, until))
        entries, cursor = timeline.page([others, messages], limit, after)
        return [e.to_json() for e in entries], cursor
