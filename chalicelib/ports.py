"""The ports: what the services need from the outside world. Adapters implement them
(``chalicelib/adapters``); tests use the in-memory fakes in ``tests/fakes.py``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .domain.model import Coupon, Member, Message, MessageStatus, Order, PointsTxn, Product
from .domain.timers import Timer


class VersionConflict(Exception):
    """Someone else changed the record since it was read; read again and retry."""


class MemberStore(Protocol):
    def get(self, member_id: str) -> Member | None: ...

    def save(self, member: Member) -> None:
        """Create (version 0 → 1) or replace if ``member.version`` is still the stored one."""

    def add_order(self, order: Order, member: Member) -> bool:
        """Store the order and the member's new last purchase atomically; False if the order id exists."""

    def add_points(self, txn: PointsTxn, member: Member) -> bool:
        """Store the transaction and the member's new lots atomically; False if the txn id exists."""

    def add_coupon(self, coupon: Coupon) -> bool: ...

    def get_order(self, member_id: str, order_id: str) -> Order | None: ...

    def get_points(self, member_id: str, txn_id: str) -> PointsTxn | None: ...


class ProductStore(Protocol):
    def put(self, product: Product) -> None: ...

    def get(self, sku: str) -> Product | None: ...


class MessageStore(Protocol):
    def create(self, message: Message) -> bool:
        """Store a new message; False (and nothing written) if its id already exists."""

    def get(self, message_id: str) -> Message | None: ...

    def list_for_member(self, member_id: str, limit: int = 100) -> list[Message]: ...

    def transition(
        self,
        message_id: str,
        status: MessageStatus,
        at: datetime,
        *,
        expect: frozenset[MessageStatus],
        reason: str | None = None,
        provider_message_id: str | None = None,
        parts: int | None = None,
        send_after: datetime | None = None,
    ) -> bool:
        """Move a message to ``status`` only if it is now in one of ``expect``; False otherwise."""


class CapStore(Protocol):
    def reserve(self, member_id: str, message_id: str, periods: list[tuple[str, int]], expires: datetime) -> str | None:
        """Count ``message_id`` against every (period key, limit) at once, atomically; a message
        already counted counts once. Returns None when reserved, else the key of a full period."""


class SendQueue(Protocol):
    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        """Queue sends; ``at`` is when they were decided (a send is never recorded before that)."""


class ApiKeyStore(Protocol):
    def is_active(self, key_hash: str) -> bool: ...

    def put(self, key_hash: str, key_id: str, label: str, created_at: datetime) -> None: ...


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str
    channel: str
    to: str  # E.164 phone or IM user id
    text: str
    rule_class: str
    trigger: str = ""  # the rule id: China SMS adapters map it to an approved template code
    locale: str = "zh-CN"
    attempt: int = 1  # 1 for the first try; fault injection and provider dedupe ids may use it


@dataclass(frozen=True)
class Receipt:
    """A provider's word on a message, normalised."""

    message_id: str | None
    provider_message_id: str | None
    status: MessageStatus
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    parts: int
    receipts: tuple[Receipt, ...] = ()


class ProviderError(Exception):
    """A send that did not go out. ``retryable`` decides between retry (timeouts, 5xx, 429) and
    permanent failure. ``code`` names the failure in our words:

    - ``throttled`` (429; ``retry_after`` seconds when the provider says), ``unavailable`` (5xx),
      ``timeout`` (no answer: the provider may or may not have accepted): retryable;
    - ``invalid_address`` (bad number / unknown user) and ``opted_out`` (the recipient unsubscribed
      at the provider): permanent, and the member's channel is marked unusable;
    - ``rejected`` (anything else permanent: template not approved, content refused, …).
    """

    def __init__(
        self,
        message: str,
        retryable: bool,
        *,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code or ("unavailable" if retryable else "rejected")
        self.retry_after = retry_after

    @property
    def marks_channel(self) -> bool:
        return self.code in ("invalid_address", "opted_out")


class Provider(Protocol):
    name: str

    def send(self, message: OutboundMessage, now: datetime) -> SendResult: ...


@dataclass(frozen=True)
class StoredTimer:
    """A timer as kept: pending until it fires or is dropped; ``fired`` remembers the slot's past
    occurrences so a later recomputation never schedules one of them again."""

    timer: Timer
    status: str  # pending / fired / dropped
    reason: str | None = None
    fired: tuple[str, ...] = ()


class TimerStore(Protocol):
    def for_member(self, member_id: str) -> list[StoredTimer]: ...

    def get(self, member_id: str, key: str) -> StoredTimer | None: ...

    def put(self, timers: list[StoredTimer], now: datetime) -> None:
        """Write pending timers (replacing what holds each slot)."""

    def delete(self, member_id: str, keys: list[str]) -> None: ...

    def finish(self, member_id: str, key: str, occurrence: str, status: str, reason: str | None, now: datetime) -> bool:
        """Mark the slot's timer fired/dropped if it still holds ``occurrence`` and is pending."""

    def due(self, after: datetime, until: datetime) -> Iterator[tuple[str, str]]:
        """(member_id, key) of pending timers whose firing time is in (``after``, ``until``]."""

    def watermark(self) -> datetime | None:
        """Until when the last sweep looked."""

    def set_watermark(self, until: datetime) -> None: ...


class TimerQueue(Protocol):
    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        """Queue timer keys for firing as of ``at``; returns the number of SQS requests made."""


class AudienceStore(Protocol):
    def members_in(self, segment: str) -> Iterator[tuple[str, int | None]]: ...

    def update(self, member_id: str, add: dict[str, int | None], remove: list[str]) -> None: ...


class Catalog(Protocol):
    def products(self, needed: tuple[str, ...] = ()) -> dict[str, Product]: ...
