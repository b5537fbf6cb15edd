"""What providers tell us, normalised: one shape for every receipt, reply and opt-out.

Each provider's webhook parser turns its native payload into ``InboundEvent``s; everything after
that (dedupe, receipts, the keyword router, conversation history) sees only this shape. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .model import Channel, MessageStatus


class InboundKind(StrEnum):
    RECEIPT = "receipt"  # the provider's word on a message we sent (delivered, failed, read, …)
    REPLY = "reply"  # a member wrote to us (SMS reply, IM message)
    OPT_OUT = "opt_out"  # the provider itself reports the member opted out (e.g. AWS, Twilio STOP handling)
    OPT_IN = "opt_in"
    FETCH = "fetch"  # "come and get it": the provider only notifies (WeCom kf); the adapter's ``fetch`` pulls


@dataclass(frozen=True)
class InboundEvent:
    provider: str
    kind: InboundKind
    event_id: str  # the provider's dedupe key: MessageSid+status, callId, biz_id+status, sequence_id, …
    at: datetime  # UTC
    channel: Channel
    message_id: str | None = None  # our id, where the provider echoes it (OutId, SessionContext, Context)
    provider_message_id: str | None = None  # BizId, sid, MessageSid, msg_id, …
    status: MessageStatus | None = None  # receipts: delivered / undelivered / failed / read
    reason: str | None = None  # receipts: the provider's error code or text
    sender: str | None = None  # replies: E.164 phone or IM user id
    text: str | None = None  # replies: what the member wrote
    media: tuple[str, ...] = ()  # replies: images the member sent, as the provider's references (URL, media id)
    parts: int | None = None  # receipts: parts billed, where reported
    raw: str = ""  # the provider's payload for this event, as JSON text
