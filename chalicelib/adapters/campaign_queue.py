"""``CampaignQueue`` on SQS: planning chunks, ten to a request, optionally delayed (pacing)."""

from __future__ import annotations

import json
from typing import Any


class SqsCampaignQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def enqueue(self, chunks: list[dict[str, Any]], delay_seconds: int = 0) -> int:
        requests = 0
        for start in range(0, len(chunks), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(chunk), "DelaySeconds": max(0, min(900, delay_seconds))}
                for i, chunk in enumerate(chunks[start : start + 10])
            ]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            requests += 1
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused planning chunks: {response['Failed'][0].get('Message')}")
        return requests
