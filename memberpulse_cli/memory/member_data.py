"""A member's history and its erasure in memory (``chalicelib/adapters/activity_log.py``,
``erasure_queue.py``): the member's whole partition of the activity table — the orders, points,
coupons and consent changes the member store keeps, what they wrote (the conversation log) — read
in range-key order and forgotten together; and the purges an erasure asks for, kept until taken."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from chalicelib.adapters import codec
from chalicelib.domain.isotime import parse_iso, to_iso
from chalicelib.domain.model import Coupon, Order, PointsTxn
from chalicelib.ports import ActivityRecord

from .inbound import MemoryConversationLog
from .members import Activity, MemoryMemberStore


class MemoryActivityLog:
    """``ActivityLog`` over the stores that hold the partition's items."""

    def __init__(self, members: MemoryMemberStore, conversations: MemoryConversationLog) -> None:
        self.members = members
        self.conversations = conversations

    def for_member(self, member_id: str) -> list[ActivityRecord]:
        records = [_record(member_id, sk, item) for sk, item in self.members.activity_of(member_id).items()]
        for sk, data in self.conversations.of_member(member_id).items():
            at = parse_iso(sk.split("#")[1])
            records.append(ActivityRecord(member_id, sk, "chat", at, copy.deepcopy(dict(data))))
        return sorted(records, key=lambda r: r.key)

    def forget_member(self, member_id: str) -> int:
        return self.members.forget_activity(member_id) + self.conversations.forget_member(member_id)


def _record(member_id: str, sk: str, item: Activity) -> ActivityRecord:
    """An item as the activity table stores it: its kind, its time (second precision) and its data."""
    kind: str
    data: dict[str, Any]
    if isinstance(item, Order):
        kind, at, data = "order", item.purchased_at, codec.order_to_data(item)
    elif isinstance(item, PointsTxn):
        kind, at, data = "points", item.created_at, codec.points_to_data(item)
    elif isinstance(item, Coupon):
        kind, at, data = "coupon", item.issued_at, codec.coupon_to_data(item)
    else:
        kind, at, data = "consent", item.at, {"changes": dict(item.changes), "source": item.source}
    return ActivityRecord(member_id, sk, kind, parse_iso(to_iso(at)), data)


class MemoryErasureQueue:
    """``ErasureQueue``: the purges requested, (member id, at, round, delay seconds), in order, until
    taken by whoever works them off."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, datetime, int, int]] = []

    def request(self, member_id: str, at: datetime, round_no: int, delay_seconds: int = 0) -> None:
        self.requests.append((member_id, at, round_no, delay_seconds))

    def take(self) -> list[tuple[str, datetime, int, int]]:
        taken, self.requests = self.requests, []
        return taken
