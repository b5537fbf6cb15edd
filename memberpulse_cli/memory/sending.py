"""The send side in memory: the send gate (``chalicelib/adapters/send_gate.py``: claims, frequency
caps counted once per message, slots on each provider's rate), the send queue and its retries
(SQS), and the outbox where the sandbox provider records what it 'sent'."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from chalicelib.domain.model import PENDING_STATUSES
from chalicelib.domain.ratelimit import Booking, book, without
from chalicelib.ports import ClaimRequest, ClaimResult, OutboundMessage, Requeue

from .messages import MemoryMessageStore


class MemorySendGate:
    """``SendGate``. Requests are decided one after the other in the order given (as the DynamoDB
    gate's successive rounds decide requests sharing a counter): a claim holds only on a pending
    message with no claim (or the one taken over); a marketing message over a full cap period is
    reported ``full`` and not claimed; a message id counts once per period, however often it is
    claimed. The claimed sends of a provider with a rate are booked together, ``pace_ms`` apart (the
    slowest pace asked); a provider without a rate gets no slot (None)."""

    def __init__(self, messages: MemoryMessageStore, rates: dict[str, int] | None = None) -> None:
        self.messages = messages
        self.rates = dict(rates or {})
        self.counters: dict[str, set[str]] = {}  # cap period key → message ids counted
        self.schedules: dict[str, list[Booking]] = {}

    def _claiming(self) -> None:
        """Called before each request is decided (test doubles hook racing senders in here)."""

    def claim(self, requests: list[ClaimRequest], now: datetime, wall: float) -> ClaimResult:
        result = ClaimResult(slots={}, full={}, lost=set())
        claimed: list[ClaimRequest] = []
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
            message.call_started = False if r.tracks_call else None
            message.attempts += 1
            claimed.append(r)
        for provider in dict.fromkeys(r.provider for r in claimed):
            batch = [r for r in claimed if r.provider == provider]
            pace_ms = max(r.pace_ms for r in batch)
            slots = self._book(provider, [r.parts for r in batch], wall, pace_ms, ())
            result.slots.update({r.message_id: slot for r, slot in zip(batch, slots, strict=True)})
        return result

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
        return self._book(provider, parts, wall, pace_ms, release, ready)

    def _book(
        self,
        provider: str,
        parts: list[int],
        wall: float,
        pace_ms: int,
        release: Sequence[tuple[float, int]],
        ready: float | None = None,
    ) -> list[float | None]:
        rate = self.rates.get(provider)
        if rate is None:
            return [None] * len(parts)
        history = without(self.schedules.get(provider, []), release)
        from_ms = None if ready is None else int(ready * 1000)
        times, self.schedules[provider] = book(history, parts, int(wall * 1000), rate, pace_ms=pace_ms, from_ms=from_ms)
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
    """``SendRetries``: records each hand-back (``receipt handle``, seconds) and each fresh copy
    (``requeued``); the consumer that took the intent decides when it comes back."""

    def __init__(self) -> None:
        self.retries: list[tuple[str, int]] = []
        self.requeued: list[Requeue] = []

    def retry_later(self, receipt_handle: str, seconds: int) -> bool:
        self.retries.append((receipt_handle, seconds))
        return True

    def requeue(self, intents: list[Requeue]) -> set[str]:
        self.requeued += intents
        return set()


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
