"""The ports, all in one place: what the services need from the outside world and from each other.

Adapters implement the outside ones (``chalicelib/adapters``, one module per port; the composition
root ``bootstrap.py`` wires them); services implement the ones between services (``FollowUps``,
``Replier``, ``ReceiptBook``). The in-memory adapters (``memberpulse_cli/memory``: what
``memberpulse simulate`` runs on, and what the test doubles of ``tests/fakes.py`` build on) pass the
same contract tests as the DynamoDB adapters (``tests/integration/contract``)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: a function imports the domain modules its own work needs
    from .domain.activities import Activity, Registration, Standing
    from .domain.consent import ConsentChange
    from .domain.inbound import InboundEvent
    from .domain.links import Link
    from .domain.model import Channel, Coupon, Member, Message, MessageStatus, Order, PointsTxn, Product
    from .domain.replies import HandoffTicket
    from .domain.timers import Timer
    from .domain.triggers import Trigger
    from .domain.waitlist import Placement, SeatBook

if TYPE_CHECKING:  # the message log's types (their module loads the message's public shape)
    from .domain.message_log import LogPage, LogPosition, LogQuery

if TYPE_CHECKING:
    from .domain.campaigns import Campaign
    from .domain.segments import Segment


class VersionConflict(Exception):
    """Someone else changed the record since it was read; read again and retry."""


class MemberStore(Protocol):
    def get(self, member_id: str) -> Member | None:
        """The member; None when there is none, or it was erased (only its tombstone is left)."""

    def get_many(self, member_ids: list[str]) -> dict[str, Member]:
        """Members by id, read together (the sender's batch); ids not found or erased are left out."""

    def save(self, member: Member, consent: ConsentChange | None = None) -> None:
        """Create (version 0 → 1) or replace if ``member.version`` is still the stored one (an erased
        member's tombstone is never replaced: VersionConflict). ``consent``: the consent change this
        write makes, recorded with it (atomically) in the member's history."""

    def erased_at(self, member_id: str) -> datetime | None:
        """When the member was erased (their tombstone), or None."""

    def erase(self, member_id: str, at: datetime) -> str:
        """Replace the member by its tombstone (member id, ``erased_at``): ``erased``, ``already``
        (erased before), or ``unknown`` (no such member)."""

    def add_order(self, order: Order, member: Member) -> bool:
        """Store the order and the member's new last purchase atomically; False if the order id exists."""

    def add_points(self, txn: PointsTxn, member: Member) -> bool:
        """Store the transaction and the member's new lots atomically; False if the txn id exists."""

    def add_coupon(self, coupon: Coupon) -> bool: ...

    def get_order(self, member_id: str, order_id: str) -> Order | None: ...

    def get_points(self, member_id: str, txn_id: str) -> PointsTxn | None: ...

    def count_order(self, order: Order, member: Member) -> bool:
        """Keep ``member`` (its order count, total spent and categories already updated for this
        order) together with the order's "counted" mark, atomically; False (nothing written) if
        the order was counted before (a stream replay). VersionConflict if the member changed."""

    def scan_page(self, part: int, parts: int, cursor: str | None, limit: int) -> tuple[list[Member], str | None]:
        """One page of part ``part`` of ``parts`` of a parallel scan over every member, from
        ``cursor`` (None: the start); returns the members and where the next page starts (None: done).
        An erased member's tombstone is not a member: never returned (a page may hold fewer than
        ``limit`` members and still have a next one)."""

    def mark_unreachable(self, member_id: str, channel: str, why: str) -> None:
        """A provider said the member's address on ``channel`` is unusable (bad number, opted out
        at the provider): no further sends there until the member's address or consent changes."""


class ProductStore(Protocol):
    def put(self, product: Product) -> None: ...

    def get(self, sku: str) -> Product | None: ...


class MessageStore(Protocol):
    def create(self, message: Message) -> bool:
        """Store a new message; False (and nothing written) if its id already exists."""

    def get(self, message_id: str) -> Message | None: ...

    def get_many(self, message_ids: list[str]) -> dict[str, Message]:
        """Messages by id, read together (the sender's batch); ids not found are left out."""

    def list_for_member(self, member_id: str, limit: int = 100) -> list[Message]: ...

    def for_member(self, member_id: str, until: datetime | None = None) -> Iterator[Message]:
        """All the member's messages, newest first (created at or before ``until``), read lazily."""

    def erase(self, message: Message, expect: MessageStatus) -> bool:
        """Store ``message`` (``domain/erasure.erased_message``) in place of the stored one, if that
        is still in status ``expect``; False otherwise (read again and retry)."""

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
        """Move a message to ``status`` only if it is now in one of ``expect`` (and, with ``claim``,
        only if that claim still holds it; the claim is then removed); False otherwise."""

    def unclaim(self, message_id: str, claim: str, reason: str) -> bool:
        """Give up a claim without an outcome (a retryable failure): the message is pending again."""

    def unclaim_all(self, claims: list[tuple[str, str]], reason: str) -> None:
        """Give up several claims (message id, claim) at once, each only while it holds (sends
        handed back to wait): one request where the store can."""

    def record_sent(self, sends: list[SentRecord]) -> list[str]:
        """Record provider-accepted sends (all at once where the store can); each only while its
        claim holds. Returns the ids recorded."""

    def mark_call_started(self, message_id: str, claim: str, sent: list[SentRecord]) -> bool:
        """Written just before the provider call of a claimed message (``call_started``), together
        with the batch's sends recorded so far (``sent``, as ``record_sent``; one request where the
        store can). False, and no call, when the claim no longer holds; ``sent`` is recorded anyway."""

    def recent_for_member(self, member_id: str, since: datetime, limit: int = 50) -> list[Message]:
        """The member's messages created since ``since``, newest first (the ``by_member`` index)."""

    def convert(self, message_id: str, member_id: str, order_id: str, revenue: float, at: datetime) -> bool:
        """The order converts the message: once per order (the order is marked with the message,
        atomically with the message's ``converted_at``, ``revenue`` and ``last_order``). False if
        the order was attributed before."""

    # A message recorded ``sent`` awaits its receipt (the sparse ``awaiting_receipt`` index: by
    # provider, when it was sent or last looked at) until any other status is recorded or it is
    # erased. The reconciler (services/reconciler.py) reads it instead of scanning the table.
    def awaiting_receipt(self, provider: str, checked_before: datetime, limit: int) -> list[str]:
        """Ids of messages sent by ``provider`` still awaiting a receipt, sent or last looked at
        (``recheck_later``) at or before ``checked_before``, oldest first, at most ``limit``."""

    def recheck_later(self, message_id: str, at: datetime) -> bool:
        """The message was looked at, at ``at``, and still awaits its receipt; False if it no longer does."""

    def stop_awaiting(self, message_id: str) -> bool:
        """The message no longer awaits a receipt (none will come); its status stays. False if it did not."""


class MessageLog(Protocol):
    """Messages by the time they were created, for the message log (``domain/message_log.py``)."""

    def page(self, query: LogQuery, after: LogPosition | None, limit: int, budget: int) -> LogPage:
        """The messages ``query`` admits, newest first, after ``after``: at most ``limit``, reading
        at most ``budget`` stored items (whatever the filters let through). ``next`` says where the
        next page starts; None when the range holds no more."""


@dataclass(frozen=True)
class SentRecord:
    message_id: str
    claim: str
    at: datetime
    provider_message_id: str
    parts: int
    delivered_at: datetime | None = None  # a provider that confirms delivery in its answer


@dataclass(frozen=True)
class ClaimRequest:
    """Take a message for sending: its claim token, the provider and parts (for the provider's rate),
    the cap periods a marketing message counts against, and the stale claim it takes over, if any.
    ``tracks_call``: the claim starts with ``call_started`` False (the sender marks the call before
    making it); ``pace_ms``: how long a send to that provider takes this sender (its slots are booked
    at least that far apart: from when it will be ready for each)."""

    message_id: str
    claim: str
    provider: str
    parts: int
    periods: tuple[tuple[str, int], ...] = ()
    takeover: str | None = None
    tracks_call: bool = False
    pace_ms: int = 0


@dataclass
class ClaimResult:
    # message id → when (epoch seconds) it may go to the provider; None: no rate for that provider,
    # it goes as soon as the send before it is done
    slots: dict[str, float | None]
    full: dict[str, str]  # message id → the cap period that is full
    lost: set[str]  # someone else claimed or finished it meanwhile


class SendGate(Protocol):
    def claim(self, requests: list[ClaimRequest], now: datetime, wall: float) -> ClaimResult:
        """Claim messages, count marketing ones against their caps and book their slots on each
        provider's rate, atomically per round."""

    def book(
        self,
        provider: str,
        parts: list[int],
        wall: float,
        *,
        pace_ms: int = 0,
        release: Sequence[tuple[float, int]] = (),
        ready: float | None = None,
    ) -> list[float | None]:
        """New slots on the provider's rate from ``wall`` (the time it is) on, or from ``ready``
        when the sender is busy until then, one per send and ``pace_ms`` apart (for sends that
        could not keep theirs, whose old slots (at, parts) go back in ``release``); None for each
        when the provider has no rate."""


class SendQueue(Protocol):
    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        """Queue sends; ``at`` is when they were decided (a send is never recorded before that)."""

    def batched(self) -> AbstractContextManager[None]:
        """Inside, intents are held and queued together at the end (one handler invocation)."""

    def waiting(self) -> int:
        """About how many sends wait on the queue now (campaign planning paces itself by it)."""


@dataclass(frozen=True)
class Requeue:
    """A send intent put back on the send queue as a fresh message, ``delay`` seconds from now."""

    message_id: str
    decided_at: str | None  # the intent's ``at``, as it came
    delay: int


class SendRetries(Protocol):
    def retry_later(self, receipt_handle: str, seconds: int) -> bool:
        """Hand a send-queue record back to the queue after ``seconds`` (False if it would not take it).
        The next receive counts towards the dead-letter queue: for a try that failed."""

    def requeue(self, intents: list[Requeue]) -> set[str]:
        """Fresh copies of send intents on the queue (their receives start again from none): for a
        wait that is not a try. Returns the message ids the queue refused."""


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
    """A provider adapter as the services see it (``adapters/providers/base.py``): its send side,
    and the inbound worker's part of its webhook side."""

    @property
    def channels(self) -> frozenset[Channel]: ...

    @property
    def send_unavailable(self) -> str | None:
        """Why the adapter cannot send here (webhook side only), or None."""

    def fetch(self, event: InboundEvent, cursors: Cursors, now: datetime) -> list[InboundEvent]:
        """For a ``FETCH`` event (the provider only notified us): pull the real events."""

    @property
    def name(self) -> str: ...

    @property
    def dedupes(self) -> bool:
        """A repeated send with the same message id is dropped by the provider itself."""

    @property
    def can_lookup(self) -> bool:
        """``lookup`` can tell whether the provider accepted a message."""

    def send(self, message: OutboundMessage, now: datetime) -> SendResult: ...

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None: ...

    @property
    def gives_receipts(self) -> bool:
        """The provider reports what became of a message it accepted (receipts, or a status query)."""

    @property
    def can_query_status(self) -> bool:
        """``query_status`` can ask the provider what became of a message it accepted."""

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        """The provider's word on a sent message whose receipt never came (reconciliation): a
        delivered/undelivered/failed/read receipt, or None while it knows no more. Raises
        ProviderError when the provider cannot be asked now."""


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

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete every timer of the member (their facts name children and products)."""

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

    def forget_member(self, member_id: str) -> int:
        """Erasure: take the member out of every segment."""


class Catalog(Protocol):
    def products(self) -> Mapping[str, Product]:
        """The catalog as it is now: never older than the last product change written before the
        call (a cache must check). A decision to drop or change a message reads this."""


# -- store activities (services/activities.py, services/registrations.py) ----------------------------


@dataclass(frozen=True)
class StoredActivity:
    """An activity as kept: its definition and its book of seats and waiting members."""

    activity: Activity
    book: SeatBook


class ActivityStore(Protocol):
    """Activities, their seats and waiting lines, registrations and invitations. Every change of the
    book (who holds a seat, who waits) is atomic with the registrations it concerns."""

    def get(self, activity_id: str) -> StoredActivity | None: ...

    def save(self, activity: Activity) -> None:
        """Create (version 0 → 1, an empty book) or replace the definition if ``activity.version``
        is still the stored one (VersionConflict otherwise); the book is never touched here."""

    def listed(self, since: datetime | None = None, limit: int = 500) -> list[Activity]:
        """Activities by start time (from ``since``), soonest first."""

    def place(self, activity_id: str, member_id: str, now: datetime) -> Placement | None:
        """Give the member a seat or a place in line, or the place they hold, in ONE atomic step
        with the ticket that fixes their arrival order (``domain/waitlist.place``, with the line
        first while the activity promotes). None when the activity takes no sign-ups now."""

    def record(self, registration: Registration, expected: Registration | None) -> bool:
        """Write the member's registration: new (``expected`` None: only if there is none) or over
        ``expected`` (only if still at its version). False when someone else wrote first."""

    def move(
        self,
        activity_id: str,
        book: SeatBook,
        leaving: Registration | None,
        promoted: list[tuple[Registration, Registration | None]],
    ) -> bool:
        """Atomically: ``leaving`` (its new state) leaves the book, each promoted member (new
        state, state read) moves from the line to a seat, as long as the book and each registration
        are still as read (``book``, versions). False when anything moved meanwhile: read again."""

    def registration(self, activity_id: str, member_id: str) -> Registration | None: ...

    def registrations(self, activity_id: str) -> list[Registration]: ...

    def of_member(self, member_id: str) -> list[Registration]:
        """Every registration of the member (any activity, any status)."""

    def invite(self, activity_id: str, member_ids: list[str], at: datetime) -> None:
        """Record invitations (each member once per activity; a stream record each)."""

    def invited(self, activity_id: str) -> list[str]: ...

    def last_invited(self, member_id: str) -> str | None:
        """The activity the member was invited to last."""

    def invitations_of(self, member_id: str) -> list[tuple[str, datetime]]:
        """Every invitation of the member: (activity id, when), oldest first."""

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete every registration and invitation of the member (found by member, no
        scan); a place the member still holds in a book goes with its registration, in one step (a
        seat is never left taken by nobody; nobody moves up here: the erasure cancels first, which
        passes the seat on). Returns how many items were deleted."""


class ActivityKeeper(Protocol):
    """What the timers ask of the activities (``RegistrationService``)."""

    def expire_offer(self, activity_id: str, member_id: str, ticket: int, now: datetime) -> str:
        """An offer's claim window passed: unclaimed, the seat passes on. Returns what happened."""

    def standing(self, activity_id: str, member_id: str, now: datetime) -> Standing:
        """The activity and the member's registration as they are now (an activity rule's check)."""


class PlaceGiver(Protocol):
    """What the erasure asks of the activities (``RegistrationService``)."""

    def cancel(self, activity_id: str, member_id: str, now: datetime, reason: str = ...) -> Registration | None:
        """The member's place given up (idempotent): a freed seat goes to the first in line
        (confirmed at once, or offered). NotFound when the activity is gone."""


# -- inbound: receipts, replies, handoffs, clicks (services/inbound.py, handlers/webhooks.py) --------


class InboundStore(Protocol):
    """Every inbound event once, keyed on (provider, event id); kept for a while (TTL)."""

    def claim(self, provider: str, event_id: str, kind: str, at: datetime, now: datetime) -> bool:
        """Start handling an event: False if it was handled to the end before (a replay). The claim
        row holds no personal data; an event whose handling died half-way may be claimed again."""

    def finish(
        self,
        provider: str,
        event_id: str,
        outcome: str,
        now: datetime,
        record: dict[str, object] | None = None,
        member_id: str | None = None,
    ) -> None:
        """Mark the event handled, with what it led to (the dedupe row: ids only, kept as long as
        providers may repeat an event). ``record`` (``inbound_codec.kept_record``: masked) only
        where keeping it is allowed: kept apart, for a shorter time, under ``member_id`` so the
        member's erasure finds it."""

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete the kept records of the member's events; returns how many."""


class MemberDirectory(Protocol):
    def by_phone(self, phone: str) -> str | None:
        """The id of the member with this E.164 phone number."""

    def by_im_user(self, im_user_id: str) -> str | None: ...

    def phones_of(self, member_ids: list[str]) -> dict[str, str]:
        """The E.164 phone of each of these members that has one (one batched read)."""


class MessageIndex(Protocol):
    def by_provider_id(self, provider_message_id: str) -> str | None:
        """Our message id for a provider's message id (BizId, sid, MessageSid, …)."""


class ConversationLog(Protocol):
    def append(self, member_id: str, at: datetime, event_id: str, data: dict[str, object]) -> None:
        """What a member wrote, kept with the member (idempotent on ``event_id``)."""


class StaffNotifier(Protocol):
    def notify(self, subject: str, body: dict[str, object]) -> None: ...


class InboundQueue(Protocol):
    def put(self, events: list[dict[str, object]]) -> None:
        """Queue normalised events (as plain data) for the inbound worker."""


class HandoffStore(Protocol):
    def get(self, ticket_id: str) -> HandoffTicket | None: ...

    def open(self, ticket: HandoffTicket) -> bool:
        """Store a new ticket; False (nothing written) if its id exists."""

    def mark_notified(self, ticket_id: str) -> None: ...

    def for_member(self, member_id: str) -> list[HandoffTicket]: ...

    def list(self, status: str, limit: int = 100) -> list[HandoffTicket]: ...

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete the member's tickets (their words)."""

    def page(
        self, status: str, limit: int, after: tuple[str, str] | None = None
    ) -> tuple[builtins.list[HandoffTicket], tuple[str, str] | None]:
        """Tickets with ``status``, newest first, after the ticket (``created_at``, ``ticket_id``)
        ``after``; at most ``limit``, and where the next page starts (None on the last)."""


class LinkStore(Protocol):
    def put(self, links: list[Link], now: datetime) -> None:
        """Store each token once (idempotent: a replanned message repeats its tokens)."""

    def get(self, token: str) -> Link | None: ...

    def record_click(self, link: Link, at: datetime) -> None: ...

    def forget_message(self, message_id: str) -> int:
        """Erasure: delete the tracked links of a message (a target may carry the member)."""


class Cursors(Protocol):
    """Where a pulling adapter keeps its place (WeCom's ``next_cursor``)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class FollowUp(Protocol):
    def get(self, url: str) -> int:
        """A webhook follow-up an adapter asked for (confirm an SNS subscription): GET, the status."""


class Outbox(Protocol):
    """What the sandbox provider 'sent'."""

    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None: ...

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        """(parts, at) of a recorded send."""

    def forget(self, message_id: str) -> None:
        """Erasure: the outbox row of our message (its number and text), if any."""


# -- member data: history, export, erasure (services/member_data.py, services/erasure.py) ----------


@dataclass(frozen=True)
class ActivityRecord:
    """One item of a member's history in the activity table: an order, a points transaction, a
    coupon, what they wrote (chat), a consent change."""

    member_id: str
    key: str  # ORDER#…, POINTS#…, COUPON#…, CHAT#…, CONSENT#…
    kind: str  # order / points / coupon / chat / consent
    at: datetime
    data: dict[str, Any]


class ActivityLog(Protocol):
    def for_member(self, member_id: str) -> list[ActivityRecord]:
        """Everything in the member's partition of the activity table."""

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete the member's whole partition; returns how many items."""


class ErasureQueue(Protocol):
    def request(self, member_id: str, at: datetime, round_no: int, delay_seconds: int = 0) -> None:
        """Queue the purge of an erased member's data (round 1 now; round 2 after a delay, for what
        a handler in flight wrote meanwhile)."""


class Attendance(Protocol):
    """What the activities work tells the member's record (segments' ``attended_activity``)."""

    def attended(self, member_id: str, activity_id: str, at: datetime) -> bool:
        """The member checked in at the activity (kept on the member's item); False if known already
        or there is no such member (an erased member's tombstone takes nothing)."""


class Registrations(Protocol):
    """Activity registration, provided by the activities work: what a campaign keyword's
    ``activity_id`` action asks for (``services/campaign_replies.py``)."""

    def register(self, activity_id: str, member_id: str, now: datetime) -> str:
        """Register the member (idempotent per member): ``confirmed`` / ``waitlisted`` / ``offered``.
        Raises NotFound for an unknown activity."""


# -- segments and campaigns (services/segments.py, services/campaigns.py, …) -------------------------


class SegmentStore(Protocol):
    def put(self, segment: Segment, now: datetime) -> None: ...

    def get(self, segment_id: str) -> Segment | None: ...


class CampaignStore(Protocol):
    def get(self, campaign_id: str) -> Campaign | None: ...

    def save(self, campaign: Campaign) -> None:
        """Create (version 0) or replace while ``campaign.version`` is the stored one (else VersionConflict)."""

    def all(self) -> list[Campaign]: ...

    def with_status(self, status: str) -> list[Campaign]: ...

    def move(self, campaign_id: str, allowed: frozenset[str], to: str, at: datetime) -> Campaign | None:
        """Change the status if it is one of ``allowed`` (the planning cursors stay where they are:
        a resume carries on from them); the campaign as it was before, or None if it was not allowed."""

    def advance(self, campaign_id: str, part: int, cursor: str, to: str) -> dict[str, str] | None:
        """Move part ``part``'s planning cursor from ``cursor`` to ``to`` (``$``: done), only if it
        is still at ``cursor``: every part's cursor after the move, or None (a duplicate chunk)."""

    def claim_keyword(self, campaign_id: str, member_id: str, at: datetime) -> bool:
        """The member's keyword reply was acted on (once): False if it had been before."""

    def keyword_claimed(self, campaign_id: str, member_id: str) -> bool: ...

    def keyword_claims(self, member_id: str) -> list[tuple[str, datetime]]:
        """The member's keyword claims: (campaign id, when), by campaign (the member's export)."""

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete the member's keyword claims; returns how many."""


class PollBox(Protocol):
    def vote(self, campaign_id: str, member_id: str, option: str, at: datetime) -> str | None:
        """The member's vote (the last one counts; the tally moves atomically): the option it replaced."""

    def tally(self, campaign_id: str) -> tuple[dict[str, int], int]:
        """Votes per option and voters."""

    def votes_of(self, member_id: str) -> list[tuple[str, str, datetime]]:
        """The member's votes: (campaign id, option, when), by campaign (the member's export)."""

    def forget_member(self, member_id: str) -> int:
        """Erasure: delete the member's votes (the counts stay: they name no one); returns how many."""


class Tallies(Protocol):
    def feed(self, message_id: str, event: str, keys: list[str], deltas: dict[str, float]) -> bool:
        """Add ``deltas`` to every counter in ``keys``, once per (message, event): False for a replay."""

    def feed_all(self, message_id: str, events: list[tuple[str, dict[str, float]]], keys: list[str]) -> int:
        """Several (event, deltas) of one change, each once per (message, event), in as few writes
        as the store can; returns how many were new."""

    def feed_many(
        self, changes: list[tuple[str, list[tuple[str, dict[str, float]]], list[str]]]
    ) -> list[int | Exception]:
        """Many changes (message id, its (event, deltas), its counters: a stream batch), each feed
        once per (message, event), in as few writes as the store can; per change, how many feeds
        were new, or the error that kept it from being counted (the others still count)."""

    def read(self, keys: list[str]) -> dict[str, dict[str, float]]: ...

    def funnel_days(self, days: list[date]) -> list[tuple[str, dict[str, float]]]:
        """The funnel counters of these days (``funnel#<day>#…``, every field), by day: one
        read per counter, however many messages fed it."""


class CampaignQueue(Protocol):
    def enqueue(self, chunks: list[dict[str, Any]], delay_seconds: int = 0) -> int:
        """Queue planning chunks (returns the SQS requests made)."""


# -- between services -------------------------------------------------------------------------------


class LinkBatch(Protocol):
    def shorten(self, message_id: str, text: str) -> str:
        """The text with its links rewritten to tracked ones (kept until ``save``)."""

    def save(self, now: datetime) -> None:
        """Store the links made so far (before the messages that carry them)."""


class LinkShortener(Protocol):
    def batch(self) -> LinkBatch: ...


class Planner(Protocol):
    """Plans, records and queues messages (``LifecycleService``): what the timers and the engine use."""

    def fire(self, triggers: list[Trigger], member: Member, now: datetime) -> list[Message]:
        """Plan the triggers' messages, record each once and queue the ones that may go."""

    def resend(self, message_id: str, now: datetime) -> None:
        """A deferred message's window opened: back on the send queue."""

    def check_ack(self, message_id: str, now: datetime) -> Message | None:
        """An IM message's acknowledgement deadline passed: the SMS instead, if no receipt came."""


class TimerKeeper(Protocol):
    """Keeps a member's timers (``TimerService``): what the engine uses."""

    def reconcile_member(self, member: Member, now: datetime) -> dict[str, int]:
        """The member's date timers in line with the record."""

    def schedule(self, member_id: str, timers: list[Timer], now: datetime) -> int:
        """Add follow-up timers, never re-adding a fired occurrence; returns how many were new."""

    def restore(self, member_id: str, follow_ups: list[Timer], now: datetime) -> int:
        """Follow-up timers of loaded history: the latest plan per slot, if still ahead of ``now``."""

    def restore_dates(self, member: Member, now: datetime) -> int:
        """The member's date timers as of ``now``, occurrences due before it recorded as fired."""


class ConsentKeeper(Protocol):
    def set_consent(self, member_id: str, channel: Channel, on: bool, now: datetime, source: str) -> Member | None:
        """Set one channel's consent (``source``: who said so, for the record); None for an unknown member."""


class FollowUps(Protocol):
    """What the sender asks of the planner (``LifecycleService``) about a message."""

    def hold_until(self, member_id: str, message_id: str, when: datetime, now: datetime) -> None:
        """A deferred message goes back on the send queue at ``when`` (a durable timer)."""

    def fall_back(self, message: Message, reason: str, now: datetime) -> Message | None:
        """The SMS instead of an IM message that could not go (once)."""

    def expect_ack(self, message: Message, by: datetime, now: datetime) -> None:
        """An IM message that needs a delivered/read receipt by ``by``, else the SMS goes."""


class Replier(Protocol):
    """Answer a member on the channel they wrote on (``LifecycleService.reply``)."""

    def reply(
        self,
        member: Member,
        rule_id: str,
        occurrence: str,
        channel: Channel,
        facts: dict[str, Any],
        now: datetime,
        provider: str | None = None,
    ) -> list[Message]: ...


class ReceiptBook(Protocol):
    def apply(self, receipt: Receipt) -> bool:
        """Record a provider's receipt; never moves a message backwards. False when it changed nothing."""


class Intent(Protocol):
    """What the keyword router (``domain/keywords.py``) makes of a reply."""

    @property
    def kind(self) -> str: ...

    @property
    def reply_rule(self) -> str | None: ...

    @property
    def age_months(self) -> int | None: ...

    @property
    def gender(self) -> str | None: ...
