"""Hand-written in-memory fakes of the ports in ``chalicelib/ports.py`` (fakes over mocks).

They keep the semantics the DynamoDB/SQS adapters promise, so a service tested against them behaves
the same against the real stores: optimistic versioning on members, conditional creates and
conditional status transitions on messages. Every read and write copies, like a real store would:
mutating what ``get`` returned never changes what is stored until ``save``.

Also a few builders (``member``, ``rule_book``) shared by the unit tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import api_keys
from chalicelib.domain.model import (
    PENDING_STATUSES,
    Channel,
    Coupon,
    Member,
    Message,
    MessageStatus,
    Order,
    PointsTxn,
    Product,
    StatusChange,
)
from chalicelib.domain.ratelimit import book
from chalicelib.domain.rulebook import RuleBook, parse_rule_book
from chalicelib.domain.segments import count_parts
from chalicelib.ports import (
    ClaimRequest,
    ClaimResult,
    OutboundMessage,
    ProviderError,
    Receipt,
    SendResult,
    SentRecord,
    StoredTimer,
    VersionConflict,
)

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class FakeMemberStore:
    """Members plus their activity (orders, points, coupons), keyed like the DynamoDB tables.

    ``before_next_write`` simulates a concurrent writer: a callable run once, just before the next
    ``save``/``add_order``/``add_points`` checks the version (it may itself call ``save``).
    ``always_conflict`` makes every versioned write fail, as under a storm of concurrent writers.
    """

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.activity: dict[tuple[str, str], Any] = {}
        self.writes = 0
        self.before_next_write: Callable[[], None] | None = None
        self.always_conflict = False

    # -- reads -------------------------------------------------------------------------------------
    def get(self, member_id: str) -> Member | None:
        stored = self.members.get(member_id)
        return copy.deepcopy(stored) if stored is not None else None

    def get_order(self, member_id: str, order_id: str) -> Order | None:
        order = self.activity.get((member_id, f"ORDER#{order_id}"))
        return order if isinstance(order, Order) else None

    def get_points(self, member_id: str, txn_id: str) -> PointsTxn | None:
        txn = self.activity.get((member_id, f"POINTS#{txn_id}"))
        return txn if isinstance(txn, PointsTxn) else None

    def orders(self, member_id: str) -> list[Order]:
        return [v for (mid, sk), v in self.activity.items() if mid == member_id and sk.startswith("ORDER#")]

    def points_txns(self, member_id: str) -> list[PointsTxn]:
        return [v for (mid, sk), v in self.activity.items() if mid == member_id and sk.startswith("POINTS#")]

    def coupons(self, member_id: str) -> list[Coupon]:
        return [v for (mid, sk), v in self.activity.items() if mid == member_id and sk.startswith("COUPON#")]

    # -- writes ------------------------------------------------------------------------------------
    def _run_interleaved_writer(self) -> None:
        hook, self.before_next_write = self.before_next_write, None
        if hook is not None:
            hook()

    def _check_version(self, member: Member) -> None:
        if self.always_conflict:
            raise VersionConflict(member.member_id)
        stored = self.members.get(member.member_id)
        if member.version == 0:
            if stored is not None:
                raise VersionConflict(member.member_id)
        elif stored is None or stored.version != member.version:
            raise VersionConflict(member.member_id)

    def _commit(self, member: Member) -> None:
        member.version += 1
        self.members[member.member_id] = copy.deepcopy(member)
        self.writes += 1

    def save(self, member: Member) -> None:
        self._run_interleaved_writer()
        self._check_version(member)
        self._commit(member)

    def _add_activity(self, key: tuple[str, str], value: Any, member: Member) -> bool:
        self._run_interleaved_writer()
        # Same order as the DynamoDB transaction: the activity condition is reported first.
        if key in self.activity:
            return False
        self._check_version(member)
        self.activity[key] = value
        self._commit(member)
        return True

    def add_order(self, order: Order, member: Member) -> bool:
        return self._add_activity((order.member_id, f"ORDER#{order.order_id}"), order, member)

    def add_points(self, txn: PointsTxn, member: Member) -> bool:
        return self._add_activity((txn.member_id, f"POINTS#{txn.txn_id}"), txn, member)

    def add_coupon(self, coupon: Coupon) -> bool:
        key = (coupon.member_id, f"COUPON#{coupon.coupon_id}")
        if key in self.activity:
            return False
        self.activity[key] = coupon
        return True

    def mark_unreachable(self, member_id: str, channel: str, why: str) -> None:
        stored = self.members.get(member_id)
        if stored is not None:
            stored.unreachable[channel] = why
            stored.version += 1

    def delete(self, member_id: str) -> None:
        """Test helper: the member disappears (e.g. erased on request)."""
        self.members.pop(member_id, None)


class FakeProductStore:
    def __init__(self) -> None:
        self.products: dict[str, Product] = {}

    def put(self, product: Product) -> None:
        self.products[product.sku] = product

    def get(self, sku: str) -> Product | None:
        return self.products.get(sku)


_TIME_FIELD = {
    MessageStatus.SENT: "sent_at",
    MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.READ: "read_at",
}


class FakeMessageStore:
    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.record_calls = 0

    def create(self, message: Message) -> bool:
        if message.message_id in self.messages:
            return False
        self.messages[message.message_id] = copy.deepcopy(message)
        return True

    def get(self, message_id: str) -> Message | None:
        stored = self.messages.get(message_id)
        return copy.deepcopy(stored) if stored is not None else None

    def list_for_member(self, member_id: str, limit: int = 100) -> list[Message]:
        mine = [m for m in self.messages.values() if m.member_id == member_id]
        mine.sort(key=lambda m: m.created_at, reverse=True)
        return [copy.deepcopy(m) for m in mine[:limit]]

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
        claim: str | None = None,
    ) -> bool:
        message = self.messages.get(message_id)
        if not expect or message is None or message.status not in expect:
            return False
        if claim is not None:
            if message.claim != claim:
                return False
            message.claim = message.claimed_at = None
        message.status = status
        if status in _TIME_FIELD:
            setattr(message, _TIME_FIELD[status], at)
        if reason:
            message.reason = reason
        if provider_message_id:
            message.provider_message_id = provider_message_id
        if parts is not None:
            message.parts = parts
        if send_after is not None:
            message.send_after = send_after
        message.history.append(StatusChange(status, at, reason))
        return True

    def unclaim(self, message_id: str, claim: str, reason: str) -> bool:
        message = self.messages.get(message_id)
        if message is None or message.claim != claim:
            return False
        message.claim = message.claimed_at = None
        message.reason = reason
        return True

    def record_sent(self, sends: list[SentRecord]) -> list[str]:
        self.record_calls += 1
        recorded: list[str] = []
        for send in sends:
            message = self.messages.get(send.message_id)
            if message is None or message.claim != send.claim:
                continue
            message.claim = message.claimed_at = None
            message.sent_at = send.at
            message.provider_message_id = send.provider_message_id
            message.parts = send.parts
            if message.status not in PENDING_STATUSES:
                continue  # a receipt got here first: keep its status
            message.status = MessageStatus.SENT
            message.history.append(StatusChange(MessageStatus.SENT, send.at, None))
            if send.delivered_at is not None:
                message.status = MessageStatus.DELIVERED
                message.delivered_at = send.delivered_at
                message.history.append(StatusChange(MessageStatus.DELIVERED, send.delivered_at, None))
            recorded.append(send.message_id)
        return recorded


class FakeSendGate:
    """The send gate in memory, with the DynamoDB gate's semantics: claims are conditional on the
    message being pending and unclaimed (or held by the claim taken over), caps count each message
    id once, and rate slots come from the same sliding-window schedule."""

    def __init__(self, messages: FakeMessageStore, rates: dict[str, int] | None = None) -> None:
        self.messages = messages
        self.rates = rates or {}
        self.counters: dict[str, set[str]] = {}
        self.schedules: dict[str, list[tuple[int, int]]] = {}
        self.before_claim: Callable[[], None] | None = None  # a racing sender, run before each claim

    def claim(self, requests: list[ClaimRequest], now: datetime, wall: float) -> ClaimResult:
        result = ClaimResult(slots={}, full={}, lost=set())
        for r in requests:
            if self.before_claim is not None:
                self.before_claim()
            message = self.messages.messages.get(r.message_id)
            if message is None or message.status not in PENDING_STATUSES or message.claim != r.takeover:
                result.lost.add(r.message_id)
                continue
            full = next(
                (
                    k
                    for k, limit in r.periods
                    if r.message_id not in self.counters.get(k, set()) and len(self.counters.get(k, set())) >= limit
                ),
                None,
            )
            if full is not None:
                result.full[r.message_id] = full
                continue
            for key, _ in r.periods:
                self.counters.setdefault(key, set()).add(r.message_id)
            message.claim, message.claimed_at = r.claim, datetime.fromtimestamp(wall, UTC)
            message.attempts += 1
            if r.provider in self.rates:
                times, self.schedules[r.provider] = book(
                    self.schedules.get(r.provider, []), [r.parts], int(wall * 1000), self.rates[r.provider]
                )
                result.slots[r.message_id] = times[0] / 1000
            else:
                result.slots[r.message_id] = wall
        return result

    def book(self, provider: str, parts: list[int], wall: float) -> list[float]:
        if provider not in self.rates:
            return [wall] * len(parts)
        times, self.schedules[provider] = book(
            self.schedules.get(provider, []), parts, int(wall * 1000), self.rates[provider]
        )
        return [t / 1000 for t in times]


class FakeSendQueue:
    """Records every id enqueued (and when it was decided); ``fail_next`` makes the next enqueue raise
    (SQS refusing a batch)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.decided_at: list[datetime | None] = []
        self.fail_next = False

    @contextmanager
    def batched(self) -> Iterator[None]:
        yield

    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SQS refused the batch")
        self.batches.append(list(message_ids))
        self.decided_at.append(at)

    @property
    def ids(self) -> list[str]:
        return [mid for batch in self.batches for mid in batch]


class FakeProvider:
    """Records what it was asked to send. ``fail_with(retryable=...)`` makes the next sends raise
    ``ProviderError`` (``times`` of them, or all with ``times=None``); ``receipt`` adds an immediate
    receipt of that status to each result, as the sandbox does."""

    dedupes = False
    can_lookup = False
    channels = frozenset({Channel.SMS, Channel.IM})
    send_unavailable: str | None = None

    def __init__(self, name: str = "fake", receipt: MessageStatus | None = None) -> None:
        self.name = name
        self.receipt = receipt
        self.sends: list[OutboundMessage] = []
        self.attempts = 0
        self._error: ProviderError | None = None
        self._error_times: int | None = 0

    def fail_with(
        self,
        *,
        retryable: bool,
        message: str = "provider said no",
        times: int | None = 1,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self._error = ProviderError(message, retryable=retryable, code=code, retry_after=retry_after)
        self._error_times = times

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        for sent in self.sends:
            if sent.message_id == message.message_id:
                return SendResult(f"{self.name}-{message.message_id}", 1)
        return None

    def fetch(self, event: Any, cursors: Any, now: datetime) -> list[Any]:
        return []

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.attempts += 1
        if self._error is not None and (self._error_times is None or self._error_times > 0):
            if self._error_times is not None:
                self._error_times -= 1
            raise self._error
        self.sends.append(message)
        provider_message_id = f"{self.name}-{message.message_id}"
        parts = count_parts(message.text) if message.channel == "sms" else 1
        receipts: tuple[Receipt, ...] = ()
        if self.receipt is not None:
            receipts = (Receipt(message.message_id, provider_message_id, self.receipt, now),)
        return SendResult(provider_message_id, parts, receipts)


@dataclass(frozen=True)
class OutboxEntry:
    provider_message_id: str
    message: OutboundMessage
    parts: int
    at: datetime


class FakeOutbox:
    def __init__(self) -> None:
        self.entries: list[OutboxEntry] = []

    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None:
        self.entries.append(OutboxEntry(provider_message_id, message, parts, at))

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        for entry in self.entries:
            if entry.provider_message_id == provider_message_id:
                return entry.parts, entry.at
        return None


class FakeApiKeyStore:
    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}
        self.lookups = 0

    def is_active(self, key_hash: str) -> bool:
        self.lookups += 1
        entry = self.keys.get(key_hash)
        return bool(entry and entry["active"])

    def put(self, key_hash: str, key_id: str, label: str, created_at: datetime) -> None:
        self.keys[key_hash] = {"key_id": key_id, "label": label, "created_at": created_at, "active": True}

    def add(self, key: str, *, active: bool = True) -> None:
        """Test helper: store the hash of a plain key."""
        self.put(api_keys.hash_key(key), key[:10], "test", NOW)
        self.keys[api_keys.hash_key(key)]["active"] = active


# -- builders ---------------------------------------------------------------------------------------

RULES_TOML = """
[store]
name = "乐乐玩具"
tiers = ["regular", "silver", "gold", "platinum"]

[store.tier_benefits]
gold = "全场9折"

[rules.welcome]
class = "transactional"
channels = ["im", "sms"]

[rules.welcome.templates]
zh-CN = "{{ member.name | default: '亲爱的会员' }}，欢迎加入{{ store.name }}！"
zh-TW = "{{ member.name | default: '親愛的會員' }}，歡迎加入{{ store.name }}！"
en = "Welcome to {{ store.name }}, {{ member.name | default: 'friend' }}!"

[rules.tier_upgraded]
class = "transactional"
channels = ["im", "sms"]

[rules.tier_upgraded.templates]
zh-CN = "恭喜升级为{{ tier.name }}会员：{{ tier.benefits | default: '详见会员中心' }}"

[rules.new_arrivals]
class = "marketing"
channels = ["sms"]

[rules.new_arrivals.templates]
zh-CN = "新品到店啦"
"""


def rule_book(*, without: tuple[str, ...] = ()) -> RuleBook:
    """A rule book with welcome, tier_upgraded and a marketing rule (new_arrivals), minus ``without``."""
    book = parse_rule_book(RULES_TOML)
    return RuleBook(book.store, {k: v for k, v in book.rules.items() if k not in without})


def member(member_id: str = "m-1", **fields: Any) -> Member:
    """A member reachable on both channels with default consent (sms, im; no marketing)."""
    values: dict[str, Any] = {
        "name": "王小明",
        "phone": "+8613800138000",
        "im_user_id": "agora_u1",
        "joined_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return Member(member_id=member_id, **values)


# -- timers, audience, catalog (the schedule store's ports) ------------------------------------------


def _iso(at: datetime) -> str:
    from chalicelib.domain.isotime import to_iso

    return to_iso(at)


class FakeTimerStore:
    """``TimerStore`` in memory, with ``DynamoTimerStore``'s semantics:

    * ``put`` writes each slot whole (status ``pending``, no reason, the given ``fired``) with a firing
      time ``max(due_at, now + SETTLE)`` (a timer already due fires at the next sweep, a minute on at
      the earliest) filed under that time's UTC hour bucket;
    * ``finish`` succeeds only if the slot is pending *and* still holds ``occurrence``; it appends the
      occurrence to ``fired`` and takes the slot off the ``due`` index;
    * ``due(after, until)`` lists pending timers whose firing time is in (``after``, ``until``], read
      at second precision (as the stored ISO strings are), hour bucket by hour bucket, each bucket in
      firing-time order;
    * the watermark is the ``until`` of the last sweep, got and set.
    """

    SETTLE_SECONDS = 60  # ``schedule_store.SETTLE`` (not imported: that would load PynamoDB and botocore)

    def __init__(self) -> None:
        from datetime import timedelta

        self.settle = timedelta(seconds=self.SETTLE_SECONDS)
        self.rows: dict[tuple[str, str], StoredTimer] = {}
        self.fire_at: dict[tuple[str, str], datetime] = {}  # the sparse ``due`` index: pending slots only
        self.mark: datetime | None = None
        self.write_clock: Callable[[], datetime] = lambda: datetime.min.replace(tzinfo=UTC)
        self.puts = 0
        self.sweeps: list[tuple[datetime, datetime]] = []

    def for_member(self, member_id: str) -> list[StoredTimer]:
        return [copy.deepcopy(t) for (mid, _), t in sorted(self.rows.items()) if mid == member_id]

    def get(self, member_id: str, key: str) -> StoredTimer | None:
        stored = self.rows.get((member_id, key))
        return copy.deepcopy(stored) if stored is not None else None

    def put(self, timers: list[StoredTimer], now: datetime) -> None:
        for stored in timers:
            t = stored.timer
            slot = (t.member_id, t.key)
            self.rows[slot] = StoredTimer(copy.deepcopy(t), "pending", None, tuple(stored.fired))
            # Like DynamoTimerStore: the write time, not the record's, keeps a late timer ahead of the sweep.
            self.fire_at[slot] = max(t.due_at, max(now, self.write_clock()) + self.settle)
            self.puts += 1

    def delete(self, member_id: str, keys: list[str]) -> None:
        for key in keys:
            self.rows.pop((member_id, key), None)
            self.fire_at.pop((member_id, key), None)

    def finish(self, member_id: str, key: str, occurrence: str, status: str, reason: str | None, now: datetime) -> bool:
        slot = (member_id, key)
        stored = self.rows.get(slot)
        if stored is None or stored.status != "pending" or stored.timer.occurrence != occurrence:
            return False
        self.rows[slot] = StoredTimer(
            stored.timer, status, reason if reason else stored.reason, (*stored.fired, occurrence)
        )
        self.fire_at.pop(slot, None)
        return True

    def due(self, after: datetime, until: datetime) -> Iterator[tuple[str, str]]:
        from datetime import timedelta

        self.sweeps.append((after, until))
        low, high = _iso(after + timedelta(seconds=1)), _iso(until)
        if low > high:
            return
        hour = after.replace(minute=0, second=0, microsecond=0)
        while hour <= until:
            bucket = _iso(hour)[:13]
            rows = sorted(
                (_iso(at), slot)
                for slot, at in self.fire_at.items()
                if _iso(at)[:13] == bucket and low <= _iso(at) <= high
            )
            for _, slot in rows:
                yield slot
            hour += timedelta(hours=1)

    def watermark(self) -> datetime | None:
        return self.mark

    def set_watermark(self, until: datetime) -> None:
        self.mark = datetime.fromisoformat(_iso(until).replace("Z", "+00:00"))  # stored at second precision

    # -- test helpers ------------------------------------------------------------------------------
    def pending(self, member_id: str | None = None) -> dict[tuple[str, str], StoredTimer]:
        return {
            slot: t
            for slot, t in self.rows.items()
            if t.status == "pending" and (member_id is None or slot[0] == member_id)
        }


class FakeTimerQueue:
    """Records each ``enqueue`` as ``(at, keys)``; counts requests like ``SqsTimerQueue`` (50 keys per
    message, ten messages per request). ``drain`` hands over (and forgets) what arrived so far."""

    BATCH = 50

    def __init__(self) -> None:
        self.received: list[tuple[datetime, list[tuple[str, str]]]] = []
        self._drained = 0

    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        self.received.append((at, list(keys)))
        bodies = -(-len(keys) // self.BATCH)
        return -(-bodies // 10)

    def drain(self) -> list[tuple[datetime, list[tuple[str, str]]]]:
        batches, self._drained = self.received[self._drained :], len(self.received)
        return batches

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [k for _, keys in self.received for k in keys]


class FakeAudienceStore:
    """Segment → {member_id: child_index}, like the audience table (segment hash, member range key)."""

    def __init__(self) -> None:
        self.segments: dict[str, dict[str, int | None]] = {}

    def members_in(self, segment: str) -> Iterator[tuple[str, int | None]]:
        yield from sorted(self.segments.get(segment, {}).items())

    def update(self, member_id: str, add: dict[str, int | None], remove: list[str]) -> None:
        for segment, child_index in add.items():
            self.segments.setdefault(segment, {})[member_id] = child_index
        for segment in remove:
            self.segments.get(segment, {}).pop(member_id, None)


class FakeCatalog:
    """The whole catalog as it is now (``DynamoCatalog`` guarantees the same); ``reads`` counts calls."""

    def __init__(self, products: dict[str, Product] | None = None) -> None:
        self.items: dict[str, Product] = dict(products or {})
        self.reads = 0

    def products(self) -> Mapping[str, Product]:
        self.reads += 1
        return dict(self.items)

    def add(self, *products: Product) -> None:
        for product in products:
            self.items[product.sku] = product


# -- inbound: the inbound log, look-ups by address, conversations, handoffs, links, staff ------------


class FakeInboundStore:
    """``InboundStore`` in memory: a claim succeeds unless the event was finished before."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    def claim(self, provider: str, event_id: str, kind: str, at: datetime, now: datetime) -> bool:
        row = self.rows.get((provider, event_id))
        if row is not None and row["status"] == "done":
            return False
        self.rows[(provider, event_id)] = {"kind": kind, "at": at, "status": "processing"}
        return True

    def finish(
        self, provider: str, event_id: str, outcome: str, now: datetime, record: dict[str, object] | None = None
    ) -> None:
        row = self.rows[(provider, event_id)]
        row.update(status="done", outcome=outcome, record=copy.deepcopy(record))


class FakeMemberDirectory:
    """Look-ups over a ``FakeMemberStore`` (like the sparse GSIs on the members table)."""

    def __init__(self, members: FakeMemberStore) -> None:
        self.store = members

    def by_phone(self, phone: str) -> str | None:
        return next((m.member_id for m in self.store.members.values() if m.phone == phone), None)

    def by_im_user(self, im_user_id: str) -> str | None:
        return next((m.member_id for m in self.store.members.values() if m.im_user_id == im_user_id), None)


class FakeMessageIndex:
    def __init__(self, messages: FakeMessageStore) -> None:
        self.store = messages

    def by_provider_id(self, provider_message_id: str) -> str | None:
        return next(
            (m.message_id for m in self.store.messages.values() if m.provider_message_id == provider_message_id), None
        )


class FakeConversationLog:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[str, object]] = {}

    def append(self, member_id: str, at: datetime, event_id: str, data: dict[str, object]) -> None:
        self.entries.setdefault((member_id, f"CHAT#{_iso(at)}#{event_id}"), dict(data))


class FakeHandoffStore:
    def __init__(self) -> None:
        from chalicelib.domain.replies import HandoffTicket

        self.tickets: dict[str, HandoffTicket] = {}

    def get(self, ticket_id: str) -> Any:
        return self.tickets.get(ticket_id)

    def open(self, ticket: Any) -> bool:
        if ticket.ticket_id in self.tickets:
            return False
        self.tickets[ticket.ticket_id] = ticket
        return True

    def mark_notified(self, ticket_id: str) -> None:
        from dataclasses import replace

        self.tickets[ticket_id] = replace(self.tickets[ticket_id], notified=True)

    def list(self, status: str, limit: int = 100) -> list[Any]:
        found = [t for t in self.tickets.values() if t.status == status]
        return sorted(found, key=lambda t: t.created_at, reverse=True)[:limit]


class FakeStaffNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []
        self.fail_next = False

    def notify(self, subject: str, body: dict[str, object]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SNS unavailable")
        self.sent.append((subject, dict(body)))


class FakeLinkStore:
    def __init__(self) -> None:
        self.links: dict[str, Any] = {}
        self.clicks: dict[str, list[datetime]] = {}

    def put(self, links: list[Any], now: datetime) -> None:
        for link in links:
            self.links.setdefault(link.token, link)

    def get(self, token: str) -> Any:
        return self.links.get(token)

    def record_click(self, link: Any, at: datetime) -> None:
        self.clicks.setdefault(link.token, []).append(at)


class FakeCursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def put(self, key: str, value: str) -> None:
        self.values[key] = value


class FakeSendRetries:
    def __init__(self) -> None:
        self.retries: list[tuple[str, int]] = []

    def retry_later(self, receipt_handle: str, seconds: int) -> bool:
        self.retries.append((receipt_handle, seconds))
        return True


class FakeInboundQueue:
    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []
        self.fail_next = False

    def put(self, events: list[dict[str, object]]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SQS refused the events")
        self.events.extend(copy.deepcopy(events))


class FakeFollowUp:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def get(self, url: str) -> int:
        self.urls.append(url)
        return 200


# -- store activities ----------------------------------------------------------------------------------


class FakeActivityStore:
    """``ActivityStore`` in memory with ``DynamoActivityStore``'s semantics: a sign-up draws the next
    ticket and takes a seat or the end of the line in one step (``domain/waitlist.place``, with the
    adapter's conditions: open, not started, sign-up not closed); ``move`` applies only when the book
    and each registration are still as read; ``record`` and ``save`` are version-checked.
    ``before_next_move`` runs once just before the next ``move`` checks (a concurrent writer)."""

    def __init__(self) -> None:
        from chalicelib.domain.activities import Activity, Registration
        from chalicelib.domain.waitlist import SeatBook

        self.activities: dict[str, Activity] = {}
        self.books: dict[str, SeatBook] = {}
        self.regs: dict[tuple[str, str], Registration] = {}
        self.invitations: dict[tuple[str, str], datetime] = {}
        self.before_next_move: Callable[[], None] | None = None
        self.writes = 0

    def get(self, activity_id: str) -> Any:
        from chalicelib.ports import StoredActivity

        activity = self.activities.get(activity_id)
        if activity is None:
            return None
        return StoredActivity(copy.deepcopy(activity), self.books[activity_id])

    def save(self, activity: Any) -> None:
        from dataclasses import replace

        from chalicelib.domain.waitlist import SeatBook

        stored = self.activities.get(activity.activity_id)
        if (stored is None and activity.version != 0) or (stored is not None and stored.version != activity.version):
            raise VersionConflict(activity.activity_id)
        self.activities[activity.activity_id] = replace(activity, version=activity.version + 1)
        book = self.books.get(activity.activity_id)
        self.books[activity.activity_id] = SeatBook(
            activity.capacity, book.seats if book else {}, book.waiting if book else {}, book.last_ticket if book else 0
        )
        self.writes += 1

    def listed(self, since: datetime | None = None, limit: int = 500) -> list[Any]:
        found = [a for a in self.activities.values() if since is None or a.starts_at >= since]
        return [copy.deepcopy(a) for a in sorted(found, key=lambda a: (a.starts_at, a.activity_id))[:limit]]

    def place(self, activity_id: str, member_id: str, now: datetime) -> Any:
        from chalicelib.domain.waitlist import place

        activity = self.activities.get(activity_id)
        if activity is None or activity.accepts_signups(now) is not None:
            return None
        book, placement = place(self.books[activity_id], member_id, line_first=activity.promotes(now))
        self.books[activity_id] = book
        self.writes += 1
        return placement

    def record(self, registration: Any, expected: Any) -> bool:
        from dataclasses import replace

        key = (registration.activity_id, registration.member_id)
        current = self.regs.get(key)
        if expected is None and current is not None:
            return False
        if expected is not None and (current is None or current.version != expected.version):
            return False
        version = expected.version if expected is not None else 0
        self.regs[key] = replace(registration, version=version + 1)
        self.writes += 1
        return True

    def move(self, activity_id: str, book: Any, leaving: Any, promoted: list[Any]) -> bool:
        from dataclasses import replace

        from chalicelib.domain.waitlist import SeatBook

        hook, self.before_next_move = self.before_next_move, None
        if hook is not None:
            hook()
        current = self.books.get(activity_id)
        if current is None:
            return False
        involved = [leaving.member_id] if leaving is not None else []
        involved += [new.member_id for new, _ in promoted]
        if any(current.where(m) != book.where(m) or current.ticket(m) != book.ticket(m) for m in involved):
            return False
        if promoted and len(current.seats) != len(book.seats):
            return False
        writes = ([(leaving, leaving)] if leaving is not None else []) + list(promoted)
        for new, old in writes:
            stored = self.regs.get((activity_id, new.member_id))
            if (old is None) != (stored is None) or (old is not None and stored.version != old.version):
                return False
        seats = dict(current.seats)
        waiting = dict(current.waiting)
        if leaving is not None:
            seats.pop(leaving.member_id, None)
            waiting.pop(leaving.member_id, None)
        for new, _ in promoted:
            seats[new.member_id] = waiting.pop(new.member_id)
        self.books[activity_id] = SeatBook(current.capacity, seats, waiting, current.last_ticket)
        for new, old in writes:
            version = old.version if old is not None else 0
            self.regs[(activity_id, new.member_id)] = replace(new, version=version + 1)
        self.writes += 1
        return True

    def registration(self, activity_id: str, member_id: str) -> Any:
        return copy.deepcopy(self.regs.get((activity_id, member_id)))

    def registrations(self, activity_id: str) -> list[Any]:
        return [copy.deepcopy(r) for (a, _), r in sorted(self.regs.items()) if a == activity_id]

    def of_member(self, member_id: str) -> list[Any]:
        return [copy.deepcopy(r) for (_, m), r in sorted(self.regs.items()) if m == member_id]

    def invite(self, activity_id: str, member_ids: list[str], at: datetime) -> None:
        for member_id in member_ids:
            self.invitations[(activity_id, member_id)] = at

    def invited(self, activity_id: str) -> list[str]:
        return sorted(m for (a, m) in self.invitations if a == activity_id)

    def last_invited(self, member_id: str) -> str | None:
        mine = [(at, a) for (a, m), at in self.invitations.items() if m == member_id]
        return max(mine)[1] if mine else None


class FakeAdapters:
    """Every port of ``bootstrap.Adapters`` in memory; pass to ``bootstrap.bootstrap(adapters=…)``
    (or use :func:`fake_app`). Replace any attribute before the app builds its services."""

    def __init__(self, providers: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None) -> None:
        self.members = FakeMemberStore()
        self.products = FakeProductStore()
        self.messages = FakeMessageStore()
        self.api_keys = FakeApiKeyStore()
        self.timers = FakeTimerStore()
        self.timer_queue = FakeTimerQueue()
        self.audience = FakeAudienceStore()
        self.catalog = FakeCatalog()
        self.products.products = self.catalog.items  # one catalog: what the API puts, the rules read
        self.send_queue = FakeSendQueue()
        self.send_retries = FakeSendRetries()
        self.send_gate = FakeSendGate(self.messages)
        default = {"sandbox": FakeProvider("sandbox")}
        self.providers: Mapping[str, Any] = providers if providers is not None else default  # the caller's, live
        self.inbound_log = FakeInboundStore()
        self.directory = FakeMemberDirectory(self.members)
        self.message_index = FakeMessageIndex(self.messages)
        self.conversations = FakeConversationLog()
        self.handoffs = FakeHandoffStore()
        self.links = FakeLinkStore()
        self.cursors = FakeCursors()
        self.inbound_queue = FakeInboundQueue()
        self.staff = FakeStaffNotifier()
        self.follow_up = FakeFollowUp()
        self.activities = FakeActivityStore()
        self.secret_values: dict[str, str] = dict(secrets or {})

    def secrets(self) -> Mapping[str, str]:
        return dict(self.secret_values)


def fake_app(
    adapters: FakeAdapters | None = None,
    book: RuleBook | None = None,
    log: Callable[..., None] | None = None,
    **settings: Any,
) -> Any:
    """An ``App`` wired with fakes (``bootstrap.bootstrap``), settings overridable by field name."""
    from dataclasses import replace

    from chalicelib import bootstrap
    from chalicelib.settings import Settings, _read

    base: Settings = replace(_read(), **settings)
    fakes = adapters if adapters is not None else FakeAdapters()
    return bootstrap.bootstrap(base, fakes, book=book, log=log or (lambda *a, **k: None))
