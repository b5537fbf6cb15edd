"""The sandbox provider's ``Outbox`` on DynamoDB: what it 'sent'."""

from __future__ import annotations

import time
from datetime import datetime

from ..domain.isotime import parse_iso, to_iso
from ..ports import OutboundMessage
from .models import OutboxModel
from .providers.sandbox import sandbox_id


class DynamoOutbox:
    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None:
        OutboxModel(
            provider_message_id,
            message_id=message.message_id,
            channel=message.channel,
            to=message.to,
            text=message.text,
            parts=parts,
            at=to_iso(at),
            wall_ms=int(time.time() * 1000),
        ).save()

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        try:
            item = OutboxModel.get(provider_message_id, consistent_read=True)
        except OutboxModel.DoesNotExist:
            return None
        return int(item.parts), parse_iso(item.at)

    def forget(self, message_id: str) -> None:
        OutboxModel(sandbox_id(message_id)).delete()
