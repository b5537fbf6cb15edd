"""The send side in memory: the send gate (``chalicelib/adapters/send_gate.py``: claims, frequency
caps counted once per message, slots on each provider's rate), the send queue and its retries
(SQS), and the outbox where the sandbox provider records what it 'sent'."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from chalicelib.domain.model import PENDING_STATUSES
from chalicelib.domain.ratelimit import Booking, book
from chalicelib.ports import ClaimRequest, ClaimResult, OutboundMessage

from .messages import MemoryMessageStore


class MemorySendGate:
    """``SendGate``. Requests are decided one after the other in the order given (as the DynamoDB
    gate's successive rounds decide requests sharing a counter): a claim holds only on a pending
    message with no claim (or the one taken over); a marketing message over a full cap period is
    reported ``full`` and not claimed; a message id counts once per period, however often it is
    claimed."""

    def __init__(self, messages: MemoryMessageStore, rates: dict[str, int] | None = None) -> None:
        self.messages = messages
        self.rates = dict(rates or {})
        self.counters: dict[str, set[str]] = {}  # cap period key → message ids counted
        self.schedules: dict[str, list[Booking]] = {}

    def _claiming(self) -> None:
        """Called before each request is decided (test doubles hook racing senders in here)."""

    def claim(self, requests: list[ClaimRequest], now: datetime, wall: float) -> ClaimResult:
        result = ClaimResult(slots={}, full={}, lost=set())
        for r in requests:
            self._claiming()
            message = self.messages.messages.get(r.message_id)
            if message is None or message.status not in PENDING_STATUSES or message.claim != r.takeover:
                result.lost.add(r.message_id)
                continue
            full = next(
                (
                    key
                    for key, limit in r.periods
                    if r.message_id not in self.counters.get(key, ()) and len(self.counters.get(key, ())) >= limit
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
            result.slots[r.message_id] = self.book(r.provider, [r.parts], wall)[0]
        return result

    def book(self, provider: str, parts: list[int], wall: float) -> list[float]:
        rate = self.rates.get(provider)
        if rate is None:
            return [wall] * len(parts)
        times, self.schedules[provider] = book(self.schedules.get(provider, []), parts, int(wall * 1000), rate)
        return [t / 1000 for t in times]

    def counted(self, key: str) -> int:
        """How many messages a cap period (``cap#<member>#week#…``) holds."""
        return len(self.counters.get(key, ()))


Intent = tuple[str, datetime | None]  # (message id, when it was decided)


class MemorySendQueue:
    """``SendQueue``: intents wait in arrival order until taken. Inside :meth:`batched` they are
    held and arrive together at the end (nothing arrives if the block fails), as with SQS."""

    def __init__(self) -> None:
        self.intents: deque[Intent] = deque()
        self._held: list[Intent] | None = None

    @contextmanager
    def batched(self) -> Iterator[None]:
        self._held = []
        try:
            yield
            held, self._held = self._held, None
            self.intents.extend(held)
        finally:
            self._held = None

    def enqueue(self, message_ids: list[str], at: datetime | None = None) -> None:
        intents = [(mid, at) for mid in message_ids]
        if self._held is not None:
            self._held.extend(intents)
        else:
            self.intents.extend(intents)

    def take(self, limit: int = 10) -> list[Intent]:
        """Up to ``limit`` intents, oldest first (a consumer's batch)."""
        return [self.intents.popleft() for _ in range(min(limit, len(self.intents)))]

    def waiting(self) -> int:
        """How many sends wait to be taken (SQS's approximate number of messages; exact here)."""
        return len(self.intents)

    def __len__(self) -> int:
        return len(self.intents)


class MemorySendRetries:
    """``SendRetries``: records each hand-back (``receipt handle``, seconds); the consumer that took
    the intent decides when it comes back."""

    def __init__(self) -> None:
        self.retries: list[tuple[str, int]] = []

    def retry_later(self, receipt_handle: str, seconds: int) -> bool:
        self.retries.append((receipt_handle, seconds))
        return True


class MemoryOutbox:
    """The sandbox provider's ``Outbox``: what it 'sent', by its message id."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[OutboundMessage, int, datetime]] = {}

    def record(self, provider_message_id: str, message: OutboundMessage, parts: int, at: datetime) -> None:
        self.sent[provider_message_id] = (message, parts, at)

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        found = self.sent.get(provider_message_id)
        return (found[1], found[2]) if found is not None else None

    def forget(self, message_id: str) -> None:
        """The rows of our message (its number and text)."""
        for provider_message_id in [k for k, (m, _, _) in self.sent.items() if m.message_id == message_id]:
            del self.sent[provider_message_id]
