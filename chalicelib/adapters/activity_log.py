"""``ActivityLog`` on DynamoDB: a member's whole partition of the activity table (orders, points,
coupons, conversation history, consent changes) for the export and the timeline, and its erasure."""

from __future__ import annotations

from ..domain.isotime import parse_iso
from ..ports import ActivityRecord
from .models import ActivityModel


class DynamoActivityLog:
    def for_member(self, member_id: str) -> list[ActivityRecord]:
        return [
            ActivityRecord(member_id, row.sk, row.kind, parse_iso(row.at), row.data.as_dict())
            for row in ActivityModel.query(member_id, consistent_read=True)
        ]

    def forget_member(self, member_id: str) -> int:
        keys = [row.sk for row in ActivityModel.query(member_id, consistent_read=True, attributes_to_get=["sk"])]
        with ActivityModel.batch_write() as batch:
            for sk in keys:
                batch.delete(ActivityModel(member_id, sk))
        return len(keys)
