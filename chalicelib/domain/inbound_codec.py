"""Normalised inbound events ↔ plain JSON data: the body of an inbound-queue message and the
record kept in the inbound table."""

from __future__ import annotations

from typing import Any

from .inbound import InboundEvent, InboundKind
from .isotime import parse_iso, to_iso
from .model import Channel, MessageStatus

# SQS takes at most 256 KiB per message and per batch; a raw payload larger than this is cut
# (the normalised fields are always kept whole).
MAX_RAW_CHARS = 64 * 1024


def event_to_data(event: InboundEvent) -> dict[str, Any]:
    raw = event.raw if len(event.raw) <= MAX_RAW_CHARS else event.raw[:MAX_RAW_CHARS] + "…(truncated)"
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
        "raw": raw,
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
