"""The store's nouns: members, children, consent, orders, points, coupons, products, messages.

Plain dataclasses with no I/O. Times are timezone-aware UTC ``datetime``s; calendar days are ``date``s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    IM = "im"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    DEFERRED = "deferred"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    SUPPRESSED = "suppressed"
    CAPPED = "capped"
    CONTROL = "control"  # held out of a campaign's experiment: nothing sent, the record counts for lift
    # Sent, but no receipt came within the provider's window and the provider cannot (or would not)
    # say what became of it (services/reconciler.py). A late real receipt still moves it on.
    UNKNOWN = "unknown"


# How far along a message is; a receipt never moves a message to a lower rank.
STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.QUEUED: 0,
    MessageStatus.DEFERRED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.UNKNOWN: 2,  # above sent (a reconciled message is not sent again), below every receipt
    MessageStatus.FAILED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.READ: 5,
    MessageStatus.SUPPRESSED: 6,
    MessageStatus.CAPPED: 6,
    MessageStatus.CONTROL: 6,
}

PENDING_STATUSES = frozenset({MessageStatus.QUEUED, MessageStatus.DEFERRED})


@dataclass(frozen=True)
class Child:
    name: str
    birthday: date
    gender: str = "unknown"  # boy / girl / unknown


@dataclass(frozen=True)
class Consent:
    sms: bool = True
    im: bool = True
    marketing: bool = False

    def allows(self, channel: Channel) -> bool:
        return self.sms if channel is Channel.SMS else self.im


@dataclass(frozen=True)
class PointsLot:
    txn_id: str
    remaining: int
    expires_on: date | None


@dataclass(frozen=True)
class StoredValue:
    balance: float
    expires_on: date | None


@dataclass
class Member:
    member_id: str
    name: str = ""
    phone: str | None = None  # E.164
    im_user_id: str | None = None
    timezone: str | None = None  # IANA; None means the store's
    locale: str = "zh-CN"
    joined_at: datetime | None = None
    tier: str | None = None
    store_id: str | None = None
    tags: list[str] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    consent: Consent = field(default_factory=Consent)
    stored_value: StoredValue | None = None
    points_lots: list[PointsLot] = field(default_factory=list)
    last_purchase_at: datetime | None = None
    # What segments read, kept on the member's own item from the streams (services/member_facts.py):
    # orders counted once each, their total, each category bought with its last (local) day, and
    # the activities checked in at (activity id → when).
    orders_count: int = 0
    total_spent: float = 0.0
    bought: dict[str, date] = field(default_factory=dict)
    attended: dict[str, datetime] = field(default_factory=dict)
    # Channels a provider refused for good ({"sms": "invalid address"}); cleared when the member's
    # address or consent on that channel changes.
    unreachable: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    def address(self, channel: Channel) -> str | None:
        """Where ``channel`` reaches the member: the E.164 phone for SMS, the IM user id for IM."""
        return self.phone if channel is Channel.SMS else self.im_user_id

    @property
    def points_balance(self) -> int:
        return sum(lot.remaining for lot in self.points_lots)


@dataclass(frozen=True)
class OrderItem:
    sku: str
    qty: int
    price: float


@dataclass(frozen=True)
class Order:
    member_id: str
    order_id: str
    purchased_at: datetime
    items: tuple[OrderItem, ...]
    total: float
    store_id: str | None = None


@dataclass(frozen=True)
class PointsTxn:
    member_id: str
    txn_id: str
    delta: int
    reason: str
    expires_on: date | None
    created_at: datetime


@dataclass(frozen=True)
class Coupon:
    member_id: str
    coupon_id: str
    title: str
    value: float
    expires_on: date
    issued_at: datetime


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str | None = None
    age_min_months: int | None = None
    age_max_months: int | None = None
    gender: str = "any"
    tags: tuple[str, ...] = ()
    price: float | None = None
    accessory_of: tuple[str, ...] = ()
    arrived_on: date | None = None
    in_stock: bool = True


@dataclass(frozen=True)
class StatusChange:
    status: MessageStatus
    at: datetime
    reason: str | None = None


@dataclass
class Message:
    """One message to one member, from the moment a rule decides it until its last receipt."""

    message_id: str
    member_id: str
    trigger: str
    occurrence: str
    channel: Channel
    provider: str
    text: str
    status: MessageStatus
    created_at: datetime
    rule_class: str = "transactional"
    variant: str | None = None
    send_after: datetime | None = None
    send_before: datetime | None = None  # goes before this moment or not at all (a reminder: the start)
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    clicked_at: datetime | None = None  # the first click on one of its tracked links
    reason: str | None = None
    provider_message_id: str | None = None
    parts: int | None = None
    history: list[StatusChange] = field(default_factory=list)
    # The sender's claim while it talks to the provider: set before the provider call, removed
    # with the outcome. A claim left behind means a sender died mid-send (see services/sending.py).
    claim: str | None = None
    claimed_at: datetime | None = None
    attempts: int = 0
    # Whether the claim's provider call may have started: False from the claim until the sender
    # writes True just before the call, for a provider it can neither ask nor trust to drop a repeat
    # (services/sending.py); None when not tracked (the provider can be asked): it may have.
    call_started: bool | None = None
    fallback_of: str | None = None  # an SMS sent because this IM message could not be
    campaign_id: str | None = None  # a campaign's message (trigger ``campaign``) or control record
    # Attribution (domain/attribution.py): the first order it converted, their revenue, the last one.
    converted_at: datetime | None = None
    revenue: float = 0.0
    last_order: str | None = None
