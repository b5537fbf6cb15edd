"""Normalised inbound events ↔ plain JSON data: the body of an inbound-queue message, and the
masked record of an event the inbound log keeps for a while (``kept_record``)."""

from __future__ import annotations

from typing import Any

from .inbound import InboundEvent, InboundKind
from .isotime import parse_iso, to_iso
from .model import Channel, MessageStatus
from .phones import mask, mask_id, mask_phones_in

# What a member writes (and a provider's own opt-out/opt-in report of it): its raw payload holds the
# member's words and number, so the kept record has neither.
_FROM_MEMBER = frozenset({InboundKind.REPLY, InboundKind.OPT_OUT, InboundKind.OPT_IN})


def event_to_data(event: InboundEvent) -> dict[str, Any]:
    """The event as plain data (its text and raw payload already bounded: ``domain/inbound.py``)."""
    data: dict[str, Any] = {
        "provider": event.provider,
        "kind": event.kind.value,
        "event_id": event.event_id,
        "at": to_iso(event.at),
        "channel": event.channel.value,
        "message_id": event.message_id,
        "provider_message_id": event.provider_message_id,
        "status": event.status.value if event.status else None,
        "reason": event.reason,
        "sender": event.sender,
        "text": event.text,
        "media": list(event.media) or None,
        "parts": event.parts,
        "raw": event.raw,
    }
    return {k: v for k, v in data.items() if v is not None}


def event_from_data(data: dict[str, Any]) -> InboundEvent:
    """Raises ``ValueError``/``KeyError``/``TypeError`` on data that is not an event."""
    status = data.get("status")
    parts = data.get("parts")
    return InboundEvent(
        provider=str(data["provider"]),
        kind=InboundKind(data["kind"]),
        event_id=str(data["event_id"]),
        at=parse_iso(data["at"]),
        channel=Channel(data["channel"]),
        message_id=_opt_str(data.get("message_id")),
        provider_message_id=_opt_str(data.get("provider_message_id")),
        status=MessageStatus(status) if status else None,
        reason=_opt_str(data.get("reason")),
        sender=_opt_str(data.get("sender")),
        text=_opt_str(data.get("text")),
        media=tuple(str(m) for m in data.get("media") or ()),
        parts=int(parts) if parts is not None else None,
        raw=str(data.get("raw") or ""),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def kept_record(event: InboundEvent) -> dict[str, Any]:
    """What the inbound log may keep of an event after handling it (for support: "what did the
    provider send?"): the ids, kind, status and times; the sender masked; the member's text left
    out (its size in bytes instead: the text itself lives in the member's conversation history,
    which erasure reaches); the raw payload left out for what a member wrote, and with every phone
    number masked for the rest (receipts)."""
    data = event_to_data(event)
    data.pop("text", None)
    if event.text is not None:
        data["text_bytes"] = len(event.text.encode("utf-8"))
    if event.sender:
        data["sender"] = mask(event.sender) if event.channel is Channel.SMS else mask_id(event.sender)
    if event.kind in _FROM_MEMBER:
        data.pop("raw", None)
    elif "raw" in data:
        data["raw"] = mask_phones_in(data["raw"])
    if event.reason:
        data["reason"] = mask_phones_in(event.reason)
    return data
