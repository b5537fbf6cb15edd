"""``SegmentStore`` on DynamoDB (the campaigns table, ``segment#<id>``)."""

from __future__ import annotations

import json
from datetime import datetime

from ..domain.isotime import to_iso
from ..domain.segments import Segment, segment_from_data
from .models import CampaignModel


class DynamoSegmentStore:
    def put(self, segment: Segment, now: datetime) -> None:
        item = CampaignModel(f"segment#{segment.segment_id}", "segment")
        item.body = json.dumps(segment.to_data(), ensure_ascii=False)
        item.at = to_iso(now)
        item.save()

    def get(self, segment_id: str) -> Segment | None:
        try:
            item = CampaignModel.get(f"segment#{segment_id}", "segment", consistent_read=True)
        except CampaignModel.DoesNotExist:
            return None
        return segment_from_data(json.loads(item.body or "{}"))
