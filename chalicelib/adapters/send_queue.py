"""``SendQueue`` on SQS. Message ids go in batches of ten, the SendMessageBatch maximum."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ..domain.isotime import to_iso


class SqsSendQueue:
    """Inside :meth:`batched` (one handler invocation), intents are held and sent ten to a request
    at the end: a stream batch of 100 members joining costs 10 SQS requests, not 100. The handler
    flushes before it reports success, so a failed flush fails the batch and its replay re-queues
    (the lifecycle service re-queues messages still ``queued`` on a replay)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self._held: list[tuple[str, str | None]] | None = None

    @contextmanager
    def batched(self) -> Iterator[None]:
        self._held = []
        try:
            yield
            held, self._held = self._held, None
            self._send(held)
        finally:
            self._held = None

    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        decided = to_iso(at) if at else None
        intents = [(mid, decided) for mid in message_ids]
        if self._held is not None:
            self._held.extend(intents)
        else:
            self._send(intents)

    def waiting(self) -> int:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def _send(self, intents: list[tuple[str, str | None]]) -> None:
        for start in range(0, len(intents), 10):
            chunk = intents[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": json.dumps({"message_id": mid, "at": decided})}
                for i, (mid, decided) in enumerate(chunk)
            ]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                why = failed[0].get("Message")
                raise RuntimeError(f"SQS refused {len(failed)} of {len(chunk)} send intents: {why}")
