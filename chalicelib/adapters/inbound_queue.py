"""``InboundQueue`` on SQS: normalised events for the inbound worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

# SQS: at most 10 entries and 256 KiB per SendMessageBatch; a margin is kept for the envelope.
_BATCH_BYTES = 240 * 1024


def _batches(bodies: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if batch and (len(batch) == 10 or size + length > _BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(body)
        size += length
    if batch:
        yield batch


class SqsInboundQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def put(self, events: list[dict[str, object]]) -> None:
        bodies = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events]
        for batch in _batches(bodies):
            entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                why = failed[0].get("Message")
                raise RuntimeError(f"SQS refused {len(failed)} of {len(batch)} inbound events: {why}")
