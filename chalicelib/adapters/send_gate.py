"""The send gate (DynamoDB): claim messages, count marketing ones against their frequency caps and
book their slots on each provider's rate schedule — in ONE transaction per round, so a message is
claimed, counted and booked together or not at all, whichever Lambda gets there first.

Items written per round: each message (its claim; with ``tracks_call``, ``call_started`` False
until the sender marks the call), each of a marketing message's cap counters
(``cap#<member>#<period>``, counting each message id once), and each provider's rate schedule
(``rate#<provider>``: the bookings of the last second, versioned by ``n``). A cancelled transaction
says which item failed: a lost claim drops that message, a full counter drops it with the period,
a moved schedule (another sender booked meanwhile) is read again. Two requests touching the same
counter go in successive rounds (a transaction may touch an item once), in the order given: the
caller orders by rule priority, so when caps compete the higher-priority rule wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..domain.isotime import to_iso
from ..domain.model import PENDING_STATUSES
from ..domain.ratelimit import DEFAULT_MARGIN_MS, Booking, book, without
from ..ports import ClaimRequest, ClaimResult
from .models import CounterModel, MessageModel
from .pynamo import conditional_failed, shared_connection

MAX_ROUNDS = 8
CAP_TTL_DAYS = 40


class DynamoSendGate:
    def __init__(
        self,
        rates: Mapping[str, int],
        margins: Mapping[str, int] | None = None,
        lead_ms: int = 250,
        ready_lead_ms: int = 100,
        *,
        follow_clock: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(rates)
        # provider → its schedule's margin (ms; ``domain/ratelimit.margin_ms``); the default for others
        self.margins = dict(margins or {})
        # Slots start ahead of the moment they are booked, by what the write still to come takes
        # (the claim's transaction, or one update for sends booking again): a sender that gets to
        # its slot later than the margin must book again (see SendService._wait_for_turn). At least
        # these leads; with ``follow_clock``, as long as this gate's writes have been taking (×1.5),
        # and from the real time elapsed since the caller's ``wall`` (rounds under contention).
        self.lead_ms = lead_ms
        self.ready_lead_ms = ready_lead_ms
        self.follow_clock = follow_clock
        self.clock = clock
        self._write_ms: dict[str, float] = {}  # "claim" / "book" → moving average, booked → done
        self._booked_at = 0.0

    def _margin(self, provider: str) -> int:
        return self.margins.get(provider, DEFAULT_MARGIN_MS)

    def claim(self, requests: list[ClaimRequest], now: datetime, wall: float) -> ClaimResult:
        started = self._booked_at = self.clock()
        result = self._claim(requests, now, wall, started)
        if any(r.provider in self.rates for r in requests):
            self._learn("claim")
        return result

    def _claim(self, requests: list[ClaimRequest], now: datetime, wall: float, started: float) -> ClaimResult:
        result = ClaimResult(slots={}, full={}, lost=set())
        pending = list(requests)
        counted: set[tuple[str, str]] = set()  # (message, period) already counted by an earlier try
        for _ in range(MAX_ROUNDS + sum(1 + len(r.periods) for r in requests)):  # rounds a batch needs, plus contention
            if not pending:
                break
            round_, later = _one_round(pending)
            outcome = self._try(round_, counted, now, wall, self._start_ms(wall, started, "claim", self.lead_ms))
            if outcome is None:
                continue  # a schedule moved under us: read it again
            slots, failed = outcome
            result.slots.update(slots)
            for request, item_kind, key in failed:
                if item_kind == "claim":
                    result.lost.add(request.message_id)
                elif _already_counted(key, request.message_id):
                    counted.add((request.message_id, key))  # a retry of a counted send: try again without it
                else:
                    result.full[request.message_id] = key
            # A cancelled round decided only its failing items: the rest go again, in their order.
            done = set(result.slots) | set(result.full) | result.lost
            pending = [r for r in round_ if r.message_id not in done] + later
        else:
            raise RuntimeError("send gate: too much contention; the batch is retried")
        return result

    def _try(
        self, requests: list[ClaimRequest], counted: set[tuple[str, str]], now: datetime, wall: float, start_ms: int
    ) -> tuple[dict[str, float | None], list[tuple[ClaimRequest, str, str]]] | None:
        items: list[tuple[ClaimRequest | None, str, str]] = []
        slots: dict[str, float | None] = {}
        schedules: dict[str, tuple[int | None, list[Booking]]] = {}
        for provider in sorted({r.provider for r in requests if r.provider in self.rates}):
            version, history = _read_schedule(provider)
            batch = [r for r in requests if r.provider == provider]
            pace = max(r.pace_ms for r in batch)
            times, keep = book(
                history, [r.parts for r in batch], start_ms, self.rates[provider], self._margin(provider), pace
            )
            slots.update({r.message_id: t / 1000 for r, t in zip(batch, times, strict=True)})
            schedules[provider] = (version, keep)
        for r in requests:
            slots.setdefault(r.message_id, None)
        self._booked_at = self.clock()
        ttl = int(now.timestamp()) + CAP_TTL_DAYS * 86400
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                for r in requests:
                    held = (
                        MessageModel.claim.does_not_exist() if r.takeover is None else MessageModel.claim == r.takeover
                    )
                    tx.update(
                        MessageModel(r.message_id),
                        actions=[
                            MessageModel.claim.set(r.claim),
                            MessageModel.claimed_at.set(to_iso(datetime.fromtimestamp(wall, UTC))),  # real time
                            MessageModel.attempts.add(1),
                            MessageModel.call_started.set(False)
                            if r.tracks_call
                            else MessageModel.call_started.remove(),
                        ],
                        condition=MessageModel.message_id.exists()
                        & MessageModel.status.is_in(*[s.value for s in PENDING_STATUSES])
                        & held,
                    )
                    items.append((r, "claim", r.message_id))
                    for key, limit in r.periods:
                        if (r.message_id, key) in counted:
                            continue
                        tx.update(
                            CounterModel(key),
                            actions=[
                                CounterModel.n.add(1),
                                CounterModel.ids.add({r.message_id}),
                                CounterModel.expires.set(ttl),
                            ],
                            condition=(CounterModel.n.does_not_exist() | (CounterModel.n < limit))
                            & ~CounterModel.ids.contains(r.message_id),
                        )
                        items.append((r, "cap", key))
                for provider, (version, keep) in schedules.items():
                    tx.update(
                        CounterModel(f"rate#{provider}"),
                        actions=[
                            CounterModel.n.set((version or 0) + 1),
                            CounterModel.bookings.set([[t, p] for t, p in keep]),
                            CounterModel.at.set(to_iso(now)),
                        ],
                        condition=CounterModel.n.does_not_exist() if version is None else CounterModel.n == version,
                    )
                    items.append((None, "rate", provider))
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) if r else None for r in (exc.cancellation_reasons or [])]
            if "ConditionalCheckFailed" not in reasons:
                raise
            failed = [
                (req, kind, key)
                for (req, kind, key), code in zip(items, reasons, strict=False)
                if code == "ConditionalCheckFailed"
            ]
            if any(kind == "rate" for _, kind, _ in failed):
                return None
            return {}, [(req, kind, key) for req, kind, key in failed if req is not None]
        return slots, []

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
        rate = self.rates.get(provider)
        if rate is None:
            return [None] * len(parts)
        started = self.clock()
        for _ in range(MAX_ROUNDS * 4):
            version, history = _read_schedule(provider)
            start_ms = self._start_ms(wall, started, "book", self.ready_lead_ms)
            times, keep = book(
                without(history, release),
                parts,
                start_ms,
                rate,
                self._margin(provider),
                pace_ms,
                None if ready is None else int(ready * 1000),
            )
            self._booked_at = self.clock()
            condition = CounterModel.n.does_not_exist() if version is None else CounterModel.n == version
            try:
                CounterModel(f"rate#{provider}").update(
                    actions=[
                        CounterModel.n.set((version or 0) + 1),
                        CounterModel.bookings.set([list(b) for b in keep]),
                    ],
                    condition=condition,
                )
            except UpdateError as exc:
                if conditional_failed(exc):
                    continue
                raise
            self._learn("book")
            return [t / 1000 for t in times]
        raise RuntimeError("send gate: too much contention on the rate schedule")

    def _start_ms(self, wall: float, started: float, kind: str, lead_ms: int) -> int:
        if not self.follow_clock:
            return int(wall * 1000) + lead_ms
        elapsed = (self.clock() - started) * 1000
        return int(wall * 1000 + elapsed + max(lead_ms, 1.5 * self._write_ms.get(kind, 0.0)))

    def _learn(self, kind: str) -> None:
        took = (self.clock() - self._booked_at) * 1000
        self._write_ms[kind] = took if kind not in self._write_ms else (self._write_ms[kind] + took) / 2


def _one_round(requests: list[ClaimRequest]) -> tuple[list[ClaimRequest], list[ClaimRequest]]:
    """Split off the requests that would touch an item a request before them touches."""
    seen: set[str] = set()
    now_: list[ClaimRequest] = []
    later: list[ClaimRequest] = []
    for r in requests:
        keys = {r.message_id, *(k for k, _ in r.periods)}
        if keys & seen:
            later.append(r)
        else:
            seen |= keys
            now_.append(r)
    return now_, later


def _read_schedule(provider: str) -> tuple[int | None, list[Booking]]:
    try:
        item = CounterModel.get(f"rate#{provider}", consistent_read=True)
    except CounterModel.DoesNotExist:
        return None, []
    return int(item.n), [(int(t), int(p)) for t, p in item.bookings or []]


def _already_counted(key: str, message_id: str) -> bool:
    try:
        ids = CounterModel.get(key, consistent_read=True).ids or set()
    except CounterModel.DoesNotExist:
        return False
    return message_id in ids
