"""Test doubles of the ports in ``chalicelib/ports.py``: the product's in-memory adapters
(``memberpulse_cli.memory``, which pass the same contract tests as the DynamoDB adapters:
``tests/integration/contract``) plus what tests need on top — failure injection (a concurrent
writer, a refusing queue, a failing provider), counters and look-ups.

Also a few builders (``member``, ``rule_book``) shared by the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import api_keys
from chalicelib.domain.campaigns import Campaign
from chalicelib.domain.consent import ConsentChange
from chalicelib.domain.model import Channel, Member, Message, MessageStatus, Product
from chalicelib.domain.rulebook import RuleBook, parse_rule_book
from chalicelib.domain.sms_parts import parts_to
from chalicelib.ports import (
    OutboundMessage,
    ProviderError,
    Receipt,
    Requeue,
    SendResult,
    SentRecord,
    StoredTimer,
    VersionConflict,
)
from memberpulse_cli.memory import (
    MemoryActivityLog,
    MemoryActivityStore,
    MemoryAdapters,
    MemoryApiKeyStore,
    MemoryAudienceStore,
    MemoryCampaignQueue,
    MemoryCampaignStore,
    MemoryCatalog,
    MemoryConversationLog,
    MemoryCursors,
    MemoryErasureQueue,
    MemoryFollowUp,
    MemoryHandoffStore,
    MemoryInboundQueue,
    MemoryInboundStore,
    MemoryLinkStore,
    MemoryMemberDirectory,
    MemoryMemberStore,
    MemoryMessageIndex,
    MemoryMessageLog,
    MemoryMessageStore,
    MemoryOutbox,
    MemoryPollBox,
    MemoryProductStore,
    MemorySegmentStore,
    MemorySendGate,
    MemorySendQueue,
    MemorySendRetries,
    MemoryStaffNotifier,
    MemoryTallies,
    MemoryTimerQueue,
    MemoryTimerStore,
)

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


class FakeMemberStore(MemoryMemberStore):
    """``before_next_write`` simulates a concurrent writer: a callable run once, just before the next
    ``save``/``add_order``/``add_points`` checks the version (it may itself call ``save``).
    ``always_conflict`` makes every versioned write fail, as under a storm of concurrent writers.
    ``writes`` counts the versioned writes that went through (and the erasures)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.before_next_write: Callable[[], None] | None = None
        self.always_conflict = False

    def _writing(self) -> None:
        hook, self.before_next_write = self.before_next_write, None
        if hook is not None:
            hook()

    def _check_version(self, member: Member) -> None:
        if self.always_conflict:
            raise VersionConflict(member.member_id)
        super()._check_version(member)

    def _commit(self, member: Member) -> None:
        super()._commit(member)
        self.writes += 1

    def erase(self, member_id: str, at: datetime) -> str:
        outcome = super().erase(member_id, at)
        if outcome == "erased":
            self.writes += 1
        return outcome

    def delete(self, member_id: str) -> None:
        """The member disappears (no tombstone)."""
        self.members.pop(member_id, None)

    def consent_changes(self, member_id: str) -> list[ConsentChange]:
        """The member's consent history, oldest first."""
        return [item for item in self.activity_of(member_id).values() if isinstance(item, ConsentChange)]


class FakeProductStore(MemoryProductStore):
    pass


class FakeMessageStore(MemoryMessageStore):
    """``record_calls`` counts the calls to ``record_sent`` (one per sender batch), ``unclaim_calls``
    those to ``unclaim_all`` (one per hand-back reason), ``recent_calls`` the queries of a member's
    recent messages (``recent_for_member``)."""

    def __init__(self, orders: MemoryMemberStore | None = None) -> None:
        super().__init__(orders)
        self.record_calls = 0
        self.unclaim_calls = 0
        self.recent_calls = 0

    def recent_for_member(self, member_id: str, since: datetime, limit: int = 50) -> list[Message]:
        self.recent_calls += 1
        return super().recent_for_member(member_id, since, limit)

    def record_sent(self, sends: list[SentRecord]) -> list[str]:
        self.record_calls += 1
        return super().record_sent(sends)

    def unclaim_all(self, claims: list[tuple[str, str]], reason: str) -> None:
        self.unclaim_calls += 1
        super().unclaim_all(claims, reason)


class FakeMessageLog(MemoryMessageLog):
    """``reads`` counts the stored messages the pages read (what the ``budget`` bounds)."""

    def __init__(self, messages: MemoryMessageStore) -> None:
        super().__init__(messages)
        self.reads = 0

    def _read(self) -> None:
        self.reads += 1


class FakeSendGate(MemorySendGate):
    """``before_claim``: a racing sender, run before each request is decided."""

    def __init__(self, messages: MemoryMessageStore, rates: dict[str, int] | None = None) -> None:
        super().__init__(messages, rates)
        self.before_claim: Callable[[], None] | None = None

    def _claiming(self) -> None:
        if self.before_claim is not None:
            self.before_claim()


class FakeSendQueue(MemorySendQueue):
    """Records every ``enqueue`` call (``batches``, and when each was decided); ``fail_next`` makes
    the next enqueue raise (SQS refusing a batch); ``backlog``, when set, is what ``waiting`` says
    (a queue the senders have not drained, for campaign planning's pacing)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.decided_at: list[datetime | None] = []
        self.fail_next = False
        self.backlog: int | None = None

    def waiting(self) -> int:
        return self.backlog if self.backlog is not None else super().waiting()

    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SQS refused the batch")
        self.batches.append(list(message_ids))
        self.decided_at.append(at)
        super().enqueue(message_ids, at)

    @property
    def ids(self) -> list[str]:
        return [mid for batch in self.batches for mid in batch]


class FakeProvider:
    """Records what it was asked to send. ``fail_with(retryable=...)`` makes the next sends raise
    ``ProviderError`` (``times`` of them, or all with ``times=None``); ``receipt`` adds an immediate
    receipt of that status to each result, as the sandbox does."""

    dedupes = False
    can_lookup = False
    can_query_status = False
    gives_receipts = True
    channels = frozenset({Channel.SMS, Channel.IM})
    send_unavailable: str | None = None

    def __init__(self, name: str = "fake", receipt: MessageStatus | None = None) -> None:
        self.name = name
        self.receipt = receipt
        self.sends: list[OutboundMessage] = []
        self.attempts = 0
        self._error: ProviderError | None = None
        self._error_times: int | None = 0
        self.status_answers: dict[str, MessageStatus] = {}  # what ``query_status`` reports, by message id
        self.queried: list[str] = []

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

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        self.queried.append(message_id)
        status = self.status_answers.get(message_id)
        return Receipt(message_id, provider_message_id, status, now) if status is not None else None

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.attempts += 1
        if self._error is not None and (self._error_times is None or self._error_times > 0):
            if self._error_times is not None:
                self._error_times -= 1
            raise self._error
        self.sends.append(message)
        provider_message_id = f"{self.name}-{message.message_id}"
        parts = parts_to(message.to, message.text) if message.channel == "sms" else 1
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


class FakeOutbox(MemoryOutbox):
    """Also keeps every record in order (``entries``)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[OutboxEntry] = []

    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None:
        super().record(provider_message_id, message, parts, at)
        self.entries.append(OutboxEntry(provider_message_id, message, parts, at))

    def forget(self, message_id: str) -> None:
        super().forget(message_id)
        self.entries = [e for e in self.entries if e.message.message_id != message_id]


class FakeApiKeyStore(MemoryApiKeyStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def is_active(self, key_hash: str) -> bool:
        self.lookups += 1
        return super().is_active(key_hash)

    def add(self, key: str, *, active: bool = True) -> None:
        """Store the hash of a plain key."""
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


# -- timers, audience, catalog ---------------------------------------------------------------------------


class FakeTimerStore(MemoryTimerStore):
    """Also counts the timers written (``puts``) and records each sweep's range (``sweeps``)."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0
        self.sweeps: list[tuple[datetime, datetime]] = []

    def put(self, timers: list[StoredTimer], now: datetime) -> None:
        super().put(timers, now)
        self.puts += len(timers)

    def due(self, after: datetime, until: datetime) -> Iterator[tuple[str, str]]:
        self.sweeps.append((after, until))
        return super().due(after, until)

    def pending(self, member_id: str | None = None) -> dict[tuple[str, str], StoredTimer]:
        return {
            slot: t
            for slot, t in self.rows.items()
            if t.status == "pending" and (member_id is None or slot[0] == member_id)
        }


class FakeTimerQueue(MemoryTimerQueue):
    """Also keeps every ``enqueue`` as ``(at, keys)`` (``received``); ``drain`` hands over what arrived
    since the last drain."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[datetime, list[tuple[str, str]]]] = []
        self._drained = 0

    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        self.received.append((at, list(keys)))
        return super().enqueue(at, keys)

    def drain(self) -> list[tuple[datetime, list[tuple[str, str]]]]:
        batches, self._drained = self.received[self._drained :], len(self.received)
        return batches

    @property
    def keys(self) -> list[tuple[str, str]]:
        return [k for _, keys in self.received for k in keys]


class FakeAudienceStore(MemoryAudienceStore):
    pass


class FakeCatalog(MemoryCatalog):
    """``reads`` counts calls; ``add`` puts products; ``items`` is the products as stored."""

    def __init__(self, store: MemoryProductStore | None = None) -> None:
        super().__init__(store if store is not None else FakeProductStore())
        self.reads = 0

    def products(self) -> Mapping[str, Product]:
        self.reads += 1
        return super().products()

    def add(self, *products: Product) -> None:
        for product in products:
            self.store.put(product)

    @property
    def items(self) -> dict[str, Product]:
        return self.store.products


# -- inbound: the inbound log, look-ups by address, conversations, handoffs, links, staff ------------


class FakeInboundStore(MemoryInboundStore):
    pass


class FakeMemberDirectory(MemoryMemberDirectory):
    pass


class FakeMessageIndex(MemoryMessageIndex):
    pass


class FakeConversationLog(MemoryConversationLog):
    pass


class FakeHandoffStore(MemoryHandoffStore):
    pass


class FakeStaffNotifier(MemoryStaffNotifier):
    """``fail_next``: the next notification raises (SNS unavailable)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    def notify(self, subject: str, body: dict[str, object]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SNS unavailable")
        super().notify(subject, body)


class FakeLinkStore(MemoryLinkStore):
    def __init__(self, messages: MemoryMessageStore | None = None) -> None:
        super().__init__(messages if messages is not None else FakeMessageStore())


class FakeCursors(MemoryCursors):
    pass


class FakeSendRetries(MemorySendRetries):
    """``refuse`` lists message ids the queue will not take again."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    def requeue(self, intents: list[Requeue]) -> set[str]:
        refused = {i.message_id for i in intents if i.message_id in self.refuse}
        return refused | super().requeue([i for i in intents if i.message_id not in refused])


class FakeInboundQueue(MemoryInboundQueue):
    """``fail_next``: the next put raises (SQS refusing the events)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    def put(self, events: list[dict[str, object]]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SQS refused the events")
        super().put(events)


class FakeFollowUp(MemoryFollowUp):
    pass


class FakeActivityLog(MemoryActivityLog):
    pass


class FakeErasureQueue(MemoryErasureQueue):
    """``requests``: each purge asked for (member id, at, round, delay seconds); ``take`` hands them over."""


# -- segments, campaigns, polls, counters ------------------------------------------------------------


class FakeSegmentStore(MemorySegmentStore):
    pass


class FakeCampaignStore(MemoryCampaignStore):
    """``get_calls`` counts the reads of one campaign."""

    def __init__(self) -> None:
        super().__init__()
        self.get_calls = 0

    def get(self, campaign_id: str) -> Campaign | None:
        self.get_calls += 1
        return super().get(campaign_id)


class FakePollBox(MemoryPollBox):
    pass


class FakeTallies(MemoryTallies):
    pass


class FakeCampaignQueue(MemoryCampaignQueue):
    pass


# -- store activities ----------------------------------------------------------------------------------


class FakeActivityStore(MemoryActivityStore):
    """``before_next_move`` runs once just before the next ``move`` checks (a concurrent writer);
    ``writes`` counts the writes that went through."""

    def __init__(self) -> None:
        super().__init__()
        self.before_next_move: Callable[[], None] | None = None
        self.writes = 0

    def _wrote(self) -> None:
        self.writes += 1

    def _moving(self) -> None:
        hook, self.before_next_move = self.before_next_move, None
        if hook is not None:
            hook()


class FakeAdapters(MemoryAdapters):
    """Every port of ``bootstrap.Adapters`` as a test double; pass to ``bootstrap.bootstrap(adapters=…)``
    (or use :func:`fake_app`). Replace any attribute before the app builds its services. The default
    provider is a :class:`FakeProvider` named ``sandbox``."""

    def __init__(self, providers: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None) -> None:
        super().__init__(secrets=secrets)
        self.members = FakeMemberStore()
        self.products = FakeProductStore()
        self.catalog = FakeCatalog(self.products)  # one catalog: what the API puts, the rules read
        self.messages = FakeMessageStore(self.members)
        self.message_log = FakeMessageLog(self.messages)
        self.api_keys = FakeApiKeyStore()
        self.timers = FakeTimerStore()
        self.timer_queue = FakeTimerQueue()
        self.audience = FakeAudienceStore()
        self.send_queue = FakeSendQueue()
        self.send_retries = FakeSendRetries()
        self.send_gate = FakeSendGate(self.messages)
        default = {"sandbox": FakeProvider("sandbox")}
        self.providers = providers if providers is not None else default  # the caller's, live
        self.inbound_log = FakeInboundStore()
        self.directory = FakeMemberDirectory(self.members)
        self.message_index = FakeMessageIndex(self.messages)
        self.conversations = FakeConversationLog()
        self.handoffs = FakeHandoffStore()
        self.links = FakeLinkStore(self.messages)
        self.cursors = FakeCursors()
        self.inbound_queue = FakeInboundQueue()
        self.staff = FakeStaffNotifier()
        self.follow_up = FakeFollowUp()
        self.outbox = FakeOutbox()
        self.activity = FakeActivityLog(self.members, self.conversations)
        self.erasure_queue = FakeErasureQueue()
        self.segments = FakeSegmentStore()
        self.campaigns = FakeCampaignStore()
        self.polls = FakePollBox()
        self.tallies = FakeTallies()
        self.campaign_queue = FakeCampaignQueue()
        self.attendance = self.members
        self.activities = FakeActivityStore()


def fake_app(
    adapters: FakeAdapters | None = None,
    book: RuleBook | None = None,
    log: Callable[..., None] | None = None,
    **settings: Any,
) -> Any:
    """An ``App`` wired with fakes (``bootstrap.bootstrap``), settings overridable by field name."""
    from chalicelib import bootstrap
    from chalicelib.settings import settings_with

    base = settings_with(**settings)
    fakes = adapters if adapters is not None else FakeAdapters()
    return bootstrap.bootstrap(base, fakes, book=book, log=log or (lambda *a, **k: None))
