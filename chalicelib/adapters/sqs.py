"""The send queue (SQS). Message ids go in batches of ten, the SendMessageBatch maximum."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..domain.clock import to_iso


class SqsSendQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        decided = to_iso(at) if at else None
        for start in range(0, len(message_ids), 10):
            chunk = message_ids[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": json.dumps({"message_id": mid, "at": decided})}
                for i, mid in enumerate(chunk)
            ]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                why = failed[0].get("Message")
                raise RuntimeError(f"SQS refused {len(failed)} of {len(chunk)} send intents: {why}")


class SqsRetries:
    """Hands a send-queue record back to SQS after ``seconds`` (its visibility timeout)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def retry_later(self, receipt_handle: str, seconds: int) -> bool:
        """False when SQS would not take it (the handle expired): the record then comes back after
        the queue's own visibility timeout instead, which is still a retry."""
        from botocore.exceptions import ClientError

        try:
            self.client.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError:
            return False
        return True
