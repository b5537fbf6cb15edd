"""``TimerQueue`` on SQS: due timers travel in batches."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..domain.isotime import to_iso


class SqsTimerQueue:
    """Due timers travel in batches (``BATCH`` keys per SQS message, ten messages per request)."""

    BATCH = 50

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        bodies = [
            json.dumps({"at": to_iso(at), "timers": keys[i : i + self.BATCH]}) for i in range(0, len(keys), self.BATCH)
        ]
        requests = 0
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            requests += 1
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused {len(response['Failed'])} timer batches")
        return requests
