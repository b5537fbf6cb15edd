"""What providers tell us, normalised: one shape for every receipt, reply and opt-out.

Each provider's webhook parser turns its native payload into ``InboundEvent``s; everything after
that (dedupe, receipts, the keyword router, conversation history) sees only this shape. Pure data.

What an event carries is bounded HERE, once, whoever built it (a webhook parser or an adapter's
``fetch``): the member's text and the raw payload are cut to ``TEXT_MAX_BYTES`` / ``RAW_MAX_BYTES``
of UTF-8 (never inside a character) and end with ``CUT_MARKER`` when cut. So an event always fits an
SQS message (256 KiB) and every DynamoDB item it leads to (400 KB: the inbound record, the chat row,
the handoff ticket), and the staff notice (SNS, 256 KiB). A member's reply is a few words; 8 KiB
holds more than any SMS and any IM message of the providers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .model import Channel, MessageStatus

TEXT_MAX_BYTES = 8 * 1024
RAW_MAX_BYTES = 16 * 1024
CUT_MARKER = "…[cut]"


def cut_utf8(text: str, max_bytes: int, marker: str = CUT_MARKER) -> str:
    """``text`` if its UTF-8 form fits ``max_bytes``; else its longest prefix that fits together
    with ``marker`` (cut on a character boundary), then ``marker``."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max(max_bytes - len(marker.encode("utf-8")), 0)
    return encoded[:room].decode("utf-8", errors="ignore") + marker


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

    def __post_init__(self) -> None:
        # Frozen: the bounded values are set once, here, before anyone sees the event.
        if self.text is not None:
            object.__setattr__(self, "text", cut_utf8(self.text, TEXT_MAX_BYTES))
        object.__setattr__(self, "raw", cut_utf8(self.raw, RAW_MAX_BYTES))

    @property
    def cut(self) -> bool:
        """Whether the text or the raw payload was cut to the limits."""
        return (self.text or "").endswith(CUT_MARKER) or self.raw.endswith(CUT_MARKER)
