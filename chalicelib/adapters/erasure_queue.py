"""``ErasureQueue`` on SQS: the purges of erased members' data, for the ``on_erasure`` worker."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..domain.isotime import to_iso


class SqsErasureQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def request(self, member_id: str, at: datetime, round_no: int, delay_seconds: int = 0) -> None:
        body = json.dumps({"member_id": member_id, "at": to_iso(at), "round": round_no})
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=min(delay_seconds, 900))
