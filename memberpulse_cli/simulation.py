"""The engine in memory, driven by a clock that jumps: the services of ``chalicelib.bootstrap`` (rule
engine, timers, lifecycle, sender) over the in-memory adapters of ``memberpulse_cli.memory``, with
the sandbox provider recording into an in-memory outbox (nothing is sent). ``memberpulse simulate``
loads a snapshot into it and reads the messages back as rows.

The walk is the deployed system's: at each of the schedule's minute ticks with something due, the
sweep releases the due timers (``TimerService.release_due``), the timer queue's consumer fires them
(``TimerService.fire``), and the send queue's consumer sends in batches (``SendService
.deliver_batch``) — consent and quiet hours at send time, the frequency caps, deferrals and their
resend timers, the IM→SMS fallback. Only the clock differs: it jumps to the next tick that finds
something due, and a sender's wait for its rate slot passes at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.bootstrap import App, bootstrap
from chalicelib.domain.calendar import at_local, zone
from chalicelib.domain.ids import message_id
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.model import Coupon, Member, Message, MessageStatus, Order, Product
from chalicelib.domain.rulebook import RuleBook
from chalicelib.domain.timers import ACK_RULE, RESEND_RULE
from chalicelib.services.sending import SendRequest
from chalicelib.settings import settings_with

from .memory import MemoryAdapters


@dataclass(frozen=True)
class Row:
    """One message the rules would plan (or, with ``include_dropped``, a timer that would be dropped)."""

    date: date  # the member's local calendar day
    due_utc: datetime
    due_local: datetime
    member_id: str
    rule: str
    channel: str
    status: str  # queued / deferred / capped / suppressed / failed (``reason`` says why) / dropped
    text: str
    reason: str | None
    occurrence: str
    message_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "due_utc": to_iso(self.due_utc),
            "due_local": self.due_local.replace(microsecond=0).isoformat(),
            "member_id": self.member_id,
            "rule": self.rule,
            "channel": self.channel,
            "status": self.status,
            "reason": self.reason,
            "text": self.text,
            "occurrence": self.occurrence,
            "message_id": self.message_id,
        }


def window(start: date, end: date, store_zone: str, zones: Iterable[str | None]) -> tuple[datetime, datetime]:
    """(the snapshot's moment, the end of the walk): the first moment of ``start`` and of ``end``
    in the easternmost and the westernmost of the members' zones (the store's for a member with none)."""
    tzs = {zone(z, store_zone) for z in zones} | {ZoneInfo(store_zone)}
    midnight = clock_time(0)
    return min(at_local(start, midnight, tz) for tz in tzs), max(at_local(end, midnight, tz) for tz in tzs)


def schedule_tick(at: datetime) -> datetime:
    """The first tick of the schedule (every minute, on the minute) at or after ``at``."""
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


SEND_BATCH = 10  # records per invocation of the Send function (app.py: the send queue's batch_size)


class Clock:
    """The simulation's clock: where the walk is. A sender waiting for its rate slot moves it on."""

    def __init__(self) -> None:
        self.now = datetime(1970, 1, 1, tzinfo=UTC)
        self.waited = 0.0

    def at(self, now: datetime) -> None:
        self.now, self.waited = now, 0.0

    def wall(self) -> float:
        return self.now.timestamp() + self.waited

    def sleep(self, seconds: float) -> None:
        self.waited += max(seconds, 0.0)


class Simulation:
    """The live services (``chalicelib.bootstrap``) over in-memory adapters, driven by a clock that
    jumps from one due timer to the next."""

    def __init__(self, book: RuleBook, store_zone: str) -> None:
        self.book = book
        self.store_zone = store_zone
        self.adapters = MemoryAdapters(sign_name=book.store.name)  # as a China SMS platform signs: parts
        self.clock = Clock()
        settings = settings_with(
            store_timezone=store_zone,
            sms_provider="sandbox",
            im_provider="sandbox",
            public_api_url="",
            send_rates="",
            sandbox_faults="",
        )
        self.app: App = bootstrap(
            settings, self.adapters, book=book, log=_quiet, wall=self.clock.wall, sleep=self.clock.sleep
        )
        self.retries: list[tuple[datetime, str, int]] = []  # (when SQS offers it again, message id, receives)

    def load(
        self,
        members: Iterable[Member],
        orders: Iterable[Order],
        coupons: Iterable[Coupon],
        products: Iterable[Product],
        at: datetime,
        arrivals_until: date | None = None,
    ) -> None:
        """The snapshot as it stood at ``at``: products, members with their orders and coupons, the
        timers their history calls for (``RuleEngine.restore``) and the arrivals their audience will
        hear of (``RuleEngine.restore_arrival``; those after ``arrivals_until`` cannot matter)."""
        store, engine = self.adapters.members, self.app.engine
        catalog = list(products)
        for product in catalog:
            self.adapters.products.put(product)
        orders_of: dict[str, list[Order]] = {}
        for order in orders:
            orders_of.setdefault(order.member_id, []).append(order)
        coupons_of: dict[str, list[Coupon]] = {}
        for coupon in coupons:
            coupons_of.setdefault(coupon.member_id, []).append(coupon)
        for loaded in members:
            member = replace(loaded, version=0)
            store.save(member)
            mine, theirs = orders_of.get(member.member_id, []), coupons_of.get(member.member_id, [])
            for order in mine:
                store.add_order(order, member)
            for coupon in theirs:
                store.add_coupon(coupon)
            engine.restore(member, mine, theirs, at)
        last = arrivals_until + timedelta(days=1) if arrivals_until is not None else None
        for product in sorted(catalog, key=lambda p: p.sku):
            if last is None or product.arrived_on is None or product.arrived_on <= last:
                engine.restore_arrival(product, at)

    def next_tick(self) -> datetime | None:
        """The schedule's next tick with something to do: a timer due, or a send SQS hands back."""
        due = [t for t in (self.adapters.timers.next_due(), *(r[0] for r in self.retries)) if t is not None]
        return schedule_tick(min(due)) if due else None

    def run_until(self, end: datetime) -> None:
        """Every tick with something to do, up to ``end`` (excluded)."""
        last: datetime | None = None
        while (tick := self.next_tick()) is not None and tick < end:
            if last is not None and tick <= last:
                raise RuntimeError(f"the simulation did not move on from {to_iso(tick)}")
            self.tick(tick)
            last = tick

    def tick(self, now: datetime) -> None:
        """One tick, as live: the sweep releases what fell due, the timer queue's consumer fires it,
        the send queue's consumer sends in batches (and what SQS hands back later, then)."""
        self.clock.at(now)
        timers = self.app.timers
        timers.release_due(now)
        for at, keys in self.adapters.timer_queue.take():
            timers.fire(keys, at)
        self._send(now)

    def _send(self, now: datetime) -> None:
        queue, sender = self.adapters.send_queue, self.app.sender
        handed_back = [SendRequest(mid, receives) for at, mid, receives in self.retries if at <= now]
        self.retries = [r for r in self.retries if r[0] > now]
        while handed_back or len(queue):
            if handed_back:
                batch, handed_back = handed_back[:SEND_BATCH], handed_back[SEND_BATCH:]
            else:
                batch = [SendRequest(mid) for mid, _ in queue.take(SEND_BATCH)]
            for request, outcome in zip(batch, sender.deliver_batch(batch, now), strict=True):
                # SQS offers it again after the backoff, until its last receive (then the DLQ).
                if outcome.retry_in is not None and request.receive_count < sender.max_receives:
                    when = now + timedelta(seconds=outcome.retry_in)
                    self.retries.append((when, request.message_id, request.receive_count + 1))

    # -- what it shows -----------------------------------------------------------------------------
    def rows(
        self, start: date, end: date, *, rules: Iterable[str] | None = None, include_dropped: bool = False
    ) -> list[Row]:
        """The messages planned on the members' local days ``[start, end)``, as rows (and, with
        ``include_dropped``, the timers dropped when they fired and the occurrences refused)."""
        members = self.adapters.members.members
        zones = {mid: m.timezone for mid, m in members.items()}
        out = message_rows(self.adapters.messages.messages.values(), zones, start, end, self.store_zone, rules)
        if include_dropped:
            wanted = frozenset(rules) if rules is not None else None
            dropped: list[tuple[str, str, str, datetime, str | None]] = [
                (s.timer.member_id, s.timer.rule_id, s.timer.occurrence, at, s.reason)
                for s, at in self.adapters.timers.finished
                if s.status == "dropped" and s.timer.rule_id not in (RESEND_RULE, ACK_RULE)
            ]
            dropped += [
                (m.member_id, m.trigger, m.occurrence, m.created_at, DUPLICATE) for m in self.adapters.messages.refused
            ]
            for member_id, rule, occurrence, at, reason in dropped:
                if member_id not in zones or (wanted is not None and rule not in wanted):
                    continue
                local = at.astimezone(zone(zones[member_id], self.store_zone))
                if start <= local.date() < end:
                    mid = message_id(member_id, rule, occurrence)
                    out.append(
                        Row(local.date(), at, local, member_id, rule, "", "dropped", "", reason, occurrence, mid)
                    )
        out.sort(key=_row_order)
        return out


def message_rows(
    messages: Iterable[Message],
    zones: Mapping[str, str | None],
    start: date,
    end: date,
    store_zone: str,
    rules: Iterable[str] | None = None,
) -> list[Row]:
    """Rows of the ``messages`` of the members in ``zones`` (member id → IANA zone or None) planned
    on their local days ``[start, end)``: day and time are when the message was planned."""
    wanted = frozenset(rules) if rules is not None else None
    out: list[Row] = []
    for message in messages:
        if message.member_id not in zones or (wanted is not None and message.trigger not in wanted):
            continue
        local = message.created_at.astimezone(zone(zones[message.member_id], store_zone))
        if start <= local.date() < end:
            out.append(
                Row(
                    local.date(),
                    message.created_at,
                    local,
                    message.member_id,
                    message.trigger,
                    message.channel.value,
                    shown_status(message),
                    message.text,
                    message.reason,
                    message.occurrence,
                    message.message_id,
                )
            )
    out.sort(key=_row_order)
    return out


def _row_order(row: Row) -> tuple[date, datetime, str, str, str, str]:
    return (row.date, row.due_utc, row.member_id, row.rule, row.occurrence, row.status)


DUPLICATE = "duplicate occurrence: same message id as an earlier message"
_WENT = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ})


def shown_status(message: Message) -> str:
    """A message's outcome in the preview: ``queued`` (the sender would send it when planned),
    ``deferred`` (held first: quiet hours or a full cap; ``reason`` says which — sent later, or still
    waiting when the window ends), or its status as it stands (``suppressed``, ``capped``, ``failed``…)."""
    if message.status in _WENT:
        held = any(h.status is MessageStatus.DEFERRED for h in message.history)
        return MessageStatus.DEFERRED.value if held else MessageStatus.QUEUED.value
    return message.status.value


def _quiet(*args: Any, **kwargs: Any) -> None:
    """The services' log: a preview prints its table, not their log lines."""
