"""The sandbox provider: records what would have been sent in an outbox table and answers at once
with a ``delivered`` receipt. The default for every channel on the local stack and in tests."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ...domain.model import MessageStatus
from ...domain.segments import count_parts
from ...ports import OutboundMessage, Receipt, SendResult


class Outbox(Protocol):
    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None: ...


class SandboxProvider:
    name = "sandbox"

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        provider_message_id = "sbx-" + message.message_id
        china = message.channel == "sms" and message.to.startswith("+86")
        parts = count_parts(message.text, china=china) if message.channel == "sms" else 1
        self.outbox.record(provider_message_id, message, parts, now)
        receipt = Receipt(message.message_id, provider_message_id, MessageStatus.DELIVERED, now)
        return SendResult(provider_message_id, parts, (receipt,))
