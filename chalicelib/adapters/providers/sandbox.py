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
  the send path: the whole invocation fails, as if the process had been killed) — partway through
  its batch: the batch-mates after it were never started;
- ``die``: the sender dies during the call, before the sandbox got the message.

And two ways of being a different provider: ``delay_ms=250`` (every call takes that long) and
``lookup=no`` (no status query: the sandbox then stands for Twilio, AWS, Tencent or Agora, which
can neither be asked about a send nor drop a repeated one).

Magic numbers (CONTRACT §10), for operators and tests: a phone number whose last seven digits are
``0000001`` fails for good as an invalid number (``invalid_address``); ``0000002`` as opted out at
the provider (``opted_out``); ``0000003`` is throttled (429, Retry-After) on its first attempt, then
delivered; ``0000004`` is accepted and never gets a receipt (``lookup`` finds it accepted, a status
query knows no more). Every other number is delivered, with a receipt. A magic number decides its
send whatever the fault plan says; the plan applies to every other number.

Webhook side: JSON receipts ``{message_id, status, at?, reason?}`` (an object or an array) and
replies ``{"type": "reply", "from", "text", "id"?, "channel"?, "at"?, "media"?: [reference]}``; behind the
path token only.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.isotime import parse_iso
from ...domain.model import Channel, MessageStatus
from ...domain.sms_parts import parts_to
from ...ports import OutboundMessage, Receipt, SendResult
from .base import ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .error_codes import ErrorCodes, Meaning

FAULTS = ("throttle", "error", "timeout", "permanent", "crash", "die")
RETRY_AFTER_SECONDS = 2.0
# CONTRACT §10: what a phone number's last seven digits make the sandbox do.
MAGIC_NUMBERS = {
    "0000001": "invalid_number",
    "0000002": "opted_out",
    "0000003": "throttled_once",
    "0000004": "no_receipt",
}
ERROR_CODES = ErrorCodes.of(
    {
        "InvalidNumber": Meaning("invalid_address", "invalid number"),
        "OptedOut": Meaning("opted_out", "the recipient opted out at the provider"),
        "TooManyRequests": Meaning("throttled", retry_after=RETRY_AFTER_SECONDS),
        "InternalServerError": "unavailable",
    }
)
_PHONE = re.compile(r"\+\d{8,15}")
MAX_EVENTS = 100
_RECEIPT_STATUSES = {MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED, MessageStatus.UNDELIVERED}


def sandbox_id(message_id: str) -> str:
    """The sandbox's message id for ours (its outbox key)."""
    return "sbx-" + message_id


class Outbox(Protocol):
    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None: ...

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        """(parts, at) of a recorded send."""


class SimulatedCrash(RuntimeError):
    """The sender 'dies' (after the provider accepted, or during the call)."""


@dataclass(frozen=True)
class FaultPlan:
    shares: Mapping[str, float]
    delay_ms: int = 0  # every call takes this long
    lookup: bool = True  # False: no status query (``lookup``), like Twilio, AWS, Tencent, Agora
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        shares: dict[str, float] = {}
        delay_ms, lookup = 0, True
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, value = part.partition("=")
            if name == "delay_ms":
                if not value.isdigit():
                    raise ValueError(f"SANDBOX_FAULTS: delay_ms={value!r} is not a whole number of ms")
                delay_ms = int(value)
            elif name == "lookup":
                if value not in ("yes", "no"):
                    raise ValueError(f"SANDBOX_FAULTS: lookup={value!r} (use yes or no)")
                lookup = value == "yes"
            elif name in FAULTS:
                shares[name] = float(value)
            else:
                raise ValueError(
                    f"SANDBOX_FAULTS: unknown fault {name!r} (use {', '.join(FAULTS)}, delay_ms or lookup)"
                )
        if sum(shares.values()) > 1:
            raise ValueError("SANDBOX_FAULTS: the shares add up to more than 1")
        return cls(shares, delay_ms, lookup)

    def take_time(self) -> None:
        if self.delay_ms:
            self.sleep(self.delay_ms / 1000)

    def draw(self, message_id: str, attempt: int) -> str | None:
        digest = hashlib.sha256(f"{message_id}#{attempt}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        edge = 0.0
        for name in FAULTS:
            edge += self.shares.get(name, 0.0)
            if point < edge:
                return name
        return None


class SandboxProvider(ProviderAdapter[None]):
    name = "sandbox"
    error_codes = ERROR_CODES
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS, Channel.IM})
    can_query_status = True  # delivery status, from the outbox (Twilio and Tencent can too)
    webhook_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "POST"})
    # It runs in the sender's own process and stamps a send's arrival as it records it, a few
    # instructions after the send's turn: no transit, only the sender's process being set aside by
    # a busy machine for a moment. (With ``lookup=no`` the sender first marks the call started, one
    # write; the fault runs that use it do not measure the rate.)
    arrival_spread_ms: ClassVar[int] = 15

    @property
    def can_lookup(self) -> bool:  # type: ignore[override]  # the fault plan decides (a class constant elsewhere)
        return self.faults.lookup

    def __init__(self, outbox: Outbox, faults: FaultPlan | None = None, sign_name: str = "") -> None:
        self.outbox = outbox
        self.faults = faults or FaultPlan({})
        # Standing in for the store's China SMS platform, it counts the 【signature】 such a
        # platform adds to a China number's text, as planning does (``domain/sms_parts.py``).
        self.signature = f"【{sign_name}】" if sign_name else ""

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.faults.take_time()
        magic = magic_number(message.to)
        fault = self.faults.draw(message.message_id, message.attempt) if magic is None else None
        if fault == "die":
            raise SimulatedCrash(f"sender died calling the sandbox for {message.message_id}")
        if magic == "invalid_number" or fault == "permanent":
            raise self.failure("InvalidNumber", status=400, to=message.to)
        if magic == "opted_out":
            raise self.failure("OptedOut", status=400, to=message.to)
        if (magic == "throttled_once" and message.attempt <= 1) or fault == "throttle":
            raise self.failure("TooManyRequests", status=429, to=message.to)
        if fault == "error":
            raise self.failure("InternalServerError", status=500, to=message.to)
        provider_message_id = sandbox_id(message.message_id)
        parts = parts_to(message.to, message.text, self.signature) if message.channel == "sms" else 1
        if fault == "timeout":
            if _coin(message):
                self.outbox.record(provider_message_id, message, parts, now)
            raise self.no_answer("send", message.to)
        self.outbox.record(provider_message_id, message, parts, now)
        if fault == "crash":
            raise SimulatedCrash(f"sender died after the sandbox accepted {message.message_id}")
        return SendResult(provider_message_id, parts, self._receipts(message.message_id, message.to, now))

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        provider_message_id = sandbox_id(message.message_id)
        found = self.outbox.find(provider_message_id)
        if found is None:
            return None
        parts, at = found
        return SendResult(provider_message_id, parts, self._receipts(message.message_id, message.to, at))

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        """From the outbox: delivered when it was sent, unless the number never gets a receipt
        (``0000004``: None, still unknown) or the outbox has no such send (None)."""
        found = self.outbox.find(provider_message_id)
        receipts = self._receipts(message_id, to, found[1]) if found else ()
        return receipts[0] if receipts else None

    def _receipts(self, message_id: str, to: str, at: datetime) -> tuple[Receipt, ...]:
        if magic_number(to) == "no_receipt":
            return ()
        return (Receipt(message_id, "sbx-" + message_id, MessageStatus.DELIVERED, at),)

    # -- webhook side ------------------------------------------------------------------------------
    def verify(self, request: WebhookRequest, now: datetime) -> None:
        """The sandbox signs nothing: the path token, checked by the route, is all there is."""

    def parse(self, request: WebhookRequest, verified: None, now: datetime) -> WebhookResult:
        if request.method.upper() != "POST":
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


def magic_number(to: str) -> str | None:
    """What a phone number's last seven digits make the sandbox do (None: an ordinary number)."""
    return MAGIC_NUMBERS.get(to[-7:]) if _PHONE.fullmatch(to) else None


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
        provider_message_id=sandbox_id(str(message_id)),
        status=status,
        reason=reason,
        raw=raw,
    )
