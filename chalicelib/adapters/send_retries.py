"""``SendRetries`` on SQS: a record handed back after a backoff (its visibility timeout), or a send
intent put back as a fresh message (a wait that is not a try)."""

from __future__ import annotations

from typing import Any

from ..ports import Requeue
from .send_queue import intent_body

SQS_MAX_DELAY = 900  # seconds: SendMessage's DelaySeconds limit


class SqsRetries:
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

    def requeue(self, intents: list[Requeue]) -> set[str]:
        """Ten to a SendMessageBatch request, each with its own delay (at most SQS's 15 minutes: a
        longer wait comes back early and simply waits again)."""
        from botocore.exceptions import ClientError

        refused: set[str] = set()
        for start in range(0, len(intents), 10):
            chunk = intents[start : start + 10]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": intent_body(r.message_id, r.decided_at),
                    "DelaySeconds": max(0, min(r.delay, SQS_MAX_DELAY)),
                }
                for i, r in enumerate(chunk)
            ]
            try:
                response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except ClientError:
                refused |= {r.message_id for r in chunk}
                continue
            refused |= {chunk[int(f["Id"])].message_id for f in response.get("Failed") or []}
        return refused
