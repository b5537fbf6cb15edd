"""The sandbox provider: records what would have been sent in an outbox table and answers at once
with a ``delivered`` receipt. The default for every channel on the local stack and in tests.

Fault injection, for tests and benchmarks: a fault plan (``SANDBOX_FAULTS``, e.g.
``throttle=0.05,error=0.05,timeout=0.02,permanent=0.01,crash=0.02``) gives each fault a share of
send attempts. The draw is a hash of (message id, attempt), so a run is reproducible and a retry
of the same message may succeed. Faults:

- ``throttle``: 429 with Retry-After; ``error``: 500 — not accepted, retryable;
- ``timeout``: no answer in time; half of these were accepted before the answer was lost;
- ``permanent``: an invalid number (the member's channel gets marked);
- ``crash``: accepted, then the sender Lambda dies (:class:`SimulatedCrash` is caught nowhere on
  the send path: the whole invocation fails, as if the process had been killed).

Webhook side: JSON receipts ``{message_id, status, at?, reason?}`` (an object or an array) and
replies ``{"type": "reply", "from", "text", "id"?, "channel"?, "at"?, "media"?: [reference]}``; behind the
path token only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.isotime import parse_iso
from ...domain.model import Channel, MessageStatus
from ...domain.segments import count_parts
from ...ports import OutboundMessage, ProviderError, Receipt, SendResult
from .base import ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult

FAULTS = ("throttle", "error", "timeout", "permanent", "crash")
MAX_EVENTS = 100
_RECEIPT_STATUSES = {MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED, MessageStatus.UNDELIVERED}


class Outbox(Protocol):
    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None: ...

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        """(parts, at) of a recorded send."""


class SimulatedCrash(RuntimeError):
    """The sender 'dies' right after the provider accepted."""


@dataclass(frozen=True)
class FaultPlan:
    shares: Mapping[str, float]

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        shares: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, value = part.partition("=")
            if name not in FAULTS:
                raise ValueError(f"SANDBOX_FAULTS: unknown fault {name!r} (use {', '.join(FAULTS)})")
            shares[name] = float(value)
        if sum(shares.values()) > 1:
            raise ValueError("SANDBOX_FAULTS: the shares add up to more than 1")
        return cls(shares)

    def draw(self, message_id: str, attempt: int) -> str | None:
        digest = hashlib.sha256(f"{message_id}#{attempt}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        edge = 0.0
        for name in FAULTS:
            edge += self.shares.get(name, 0.0)
            if point < edge:
                return name
        return None


class SandboxProvider(ProviderAdapter):
    name = "sandbox"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS, Channel.IM})
    can_lookup = True

    def __init__(self, outbox: Outbox, faults: FaultPlan | None = None) -> None:
        self.outbox = outbox
        self.faults = faults or FaultPlan({})

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        fault = self.faults.draw(message.message_id, message.attempt)
        if fault == "throttle":
            raise ProviderError("429 Too Many Requests", retryable=True, code="throttled", retry_after=2)
        if fault == "error":
            raise ProviderError("500 Internal Server Error", retryable=True, code="unavailable")
        if fault == "permanent":
            raise ProviderError("invalid number", retryable=False, code="invalid_address")
        provider_message_id = "sbx-" + message.message_id
        china = message.channel == "sms" and message.to.startswith("+86")
        parts = count_parts(message.text, china=china) if message.channel == "sms" else 1
        if fault == "timeout":
            if _coin(message):
                self.outbox.record(provider_message_id, message, parts, now)
            raise ProviderError("no answer in time", retryable=True, code="timeout")
        self.outbox.record(provider_message_id, message, parts, now)
        if fault == "crash":
            raise SimulatedCrash(f"sender died after the sandbox accepted {message.message_id}")
        receipt = Receipt(message.message_id, provider_message_id, MessageStatus.DELIVERED, now)
        return SendResult(provider_message_id, parts, (receipt,))

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        provider_message_id = "sbx-" + message.message_id
        found = self.outbox.find(provider_message_id)
        if found is None:
            return None
        parts, at = found
        return SendResult(
            provider_message_id, parts, (Receipt(message.message_id, provider_message_id, MessageStatus.DELIVERED, at),)
        )

    # -- webhook side ------------------------------------------------------------------------------
    def handle_webhook(self, request: WebhookRequest, now: datetime) -> WebhookResult:
        if request.method != "POST":
            return WebhookResult(WebhookAnswer(200, json.dumps({"ok": True})))
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise WebhookRejected(400, "invalid", f"not JSON: {type(exc).__name__}") from None
        items = body if isinstance(body, list) else [body]
        if len(items) > MAX_EVENTS:
            raise WebhookRejected(400, "invalid", f"at most {MAX_EVENTS} events per request")
        events = tuple(_event(item, i, now) for i, item in enumerate(items))
        return WebhookResult(WebhookAnswer(200, json.dumps({"ok": True, "events": len(events)})), events)


def _coin(message: OutboundMessage) -> bool:
    return hashlib.sha256(f"{message.message_id}#{message.attempt}#coin".encode()).digest()[0] < 128


def _text(item: Mapping[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise WebhookRejected(400, "invalid", f"{where}.{key}: must be a non-empty string")
    return value


def _event(item: Any, index: int, now: datetime) -> InboundEvent:
    where = f"[{index}]"
    if not isinstance(item, dict):
        raise WebhookRejected(400, "invalid", f"{where}: each event must be an object")
    raw_at = _text(item, "at", where, required=False)
    try:
        at = parse_iso(raw_at) if raw_at else now
    except ValueError as exc:
        raise WebhookRejected(400, "invalid", f"{where}.at: {exc}") from None
    raw = json.dumps(item, ensure_ascii=False, sort_keys=True)
    if item.get("type") == "reply":
        sender = _text(item, "from", where)
        text = item.get("text")
        if not isinstance(text, str):
            raise WebhookRejected(400, "invalid", f"{where}.text: must be a string")
        channel_name = item.get("channel", "sms")
        if channel_name not in ("sms", "im"):
            raise WebhookRejected(400, "invalid", f"{where}.channel: sms or im")
        media = item.get("media", [])
        if not isinstance(media, list) or len(media) > 10 or not all(isinstance(m, str) and m for m in media):
            raise WebhookRejected(400, "invalid", f"{where}.media: a list of image references (URLs or ids)")
        event_id = (
            _text(item, "id", where, required=False)
            or hashlib.sha256(f"{sender}#{at.isoformat()}#{text}".encode()).hexdigest()[:32]
        )
        return InboundEvent(
            "sandbox",
            InboundKind.REPLY,
            event_id,
            at,
            Channel(channel_name),
            sender=sender,
            text=text,
            media=tuple(media),
            raw=raw,
        )
    message_id = _text(item, "message_id", where)
    try:
        status = MessageStatus(str(item.get("status")))
    except ValueError:
        raise WebhookRejected(400, "invalid", f"{where}.status: one of delivered, read, failed, undelivered") from None
    if status not in _RECEIPT_STATUSES:
        raise WebhookRejected(400, "invalid", f"{where}.status: {status.value} is not a receipt status")
    reason = item.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise WebhookRejected(400, "invalid", f"{where}.reason: must be a string")
    return InboundEvent(
        "sandbox",
        InboundKind.RECEIPT,
        f"{message_id}:{status.value}",
        at,
        Channel.SMS,
        message_id=message_id,
        provider_message_id="sbx-" + str(message_id),
        status=status,
        reason=reason,
        raw=raw,
    )
