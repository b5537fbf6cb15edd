"""``SendRetries`` on SQS: a record handed back after a backoff (its visibility timeout)."""

from __future__ import annotations

from typing import Any


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
