"""``memberpulse simulate``: a time-travel preview of who would receive which rule, and the text,
day by day, from a snapshot (the local stack's tables or a directory of CSVs). Nothing is sent.

It runs the engine itself, not a copy: the services of ``chalicelib.bootstrap`` (rule engine,
timers, lifecycle, sender) over the in-memory adapters of ``memberpulse_cli.memory``, with the
sandbox provider recording into an in-memory outbox (a dry run). The snapshot is loaded as of the
first moment of ``--from`` (in the easternmost zone among the members): each member's timers are
restored from their record and history through ``RuleEngine.restore`` (what fell due before that
moment counts as handled, not sent), products arriving from then on reach their audience
(``RuleEngine.restore_arrival``). Then the clock jumps from one due timer to the next, at the
schedule's minute ticks: ``TimerService.release_due`` and ``fire``, then the sender on the send queue
— so consent and quiet hours at send time, the frequency caps, deferrals and their resend timers,
and the IM→SMS fallback behave as they do live. A test (``tests/integration/test_simulate_agrees``)
runs a 60-day scenario through both and compares them message for message.

Per member the cost grows with the timers in the window, not with members × days.

Scope: a snapshot has no new events, so rules fired by an event (welcome, points_changed,
tier_upgraded, coupon_issued, replies) do not appear; the date-based and follow-up rules do. It
holds no send history either: caps count the messages of the walk only, and messages waiting at the
snapshot (deferred, queued) are not in it.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
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
from .project import CliError

FIELDS = (
    "date",
    "due_utc",
    "due_local",
    "member_id",
    "rule",
    "channel",
    "status",
    "reason",
    "text",
    "occurrence",
    "message_id",
)


@dataclass(frozen=True)
class Row:
    """One message the rules would produce (or, with ``include_dropped``, a timer that would be dropped)."""

    date: date  # the member's local calendar day
    due_utc: datetime
    due_local: datetime
    member_id: str
    rule: str
    channel: str
    status: str  # queued / suppressed (no consent; ``reason`` says why) / dropped
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


def simulate(
    members: Iterable[Member],
    orders: Iterable[Order],
    coupons: Iterable[Coupon],
    products: Iterable[Product] | Mapping[str, Product],
    book: RuleBook,
    start: date,
    days: int,
    store_zone: str,
    *,
    rules: Iterable[str] | None = None,
    include_dropped: bool = False,
    only: Collection[str] | None = None,
) -> list[Row]:
    """Every message the engine would plan for ``members`` on the local days ``[start, start + days)``
    (each member's own calendar days), sorted by day, due time, member and rule.

    ``rules`` keeps only those rule ids in the output (the others still run, as they move the
    member's timers and use their caps); ``only`` walks just those members (the snapshot's moment
    is still that of all of them, so a member's rows are the same either way)."""
    if days <= 0:
        return []
    roster = list(members)
    end_day = start + timedelta(days=days)
    cut, end = window(start, end_day, store_zone, (m.timezone for m in roster))
    if only is not None:
        keep = set(only)
        roster = [m for m in roster if m.member_id in keep]
    chosen = {m.member_id for m in roster}
    catalog = list(products.values()) if isinstance(products, Mapping) else list(products)
    simulation = Simulation(book, store_zone)
    simulation.load(
        roster,
        [o for o in orders if o.member_id in chosen],
        [c for c in coupons if c.member_id in chosen],
        catalog,
        cut,
        arrivals_until=end_day,
    )
    simulation.run_until(end)
    return simulation.rows(start, end_day, rules=rules, include_dropped=include_dropped)


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
        self.adapters = MemoryAdapters()
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


# -- snapshots --------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    members: list[Member]
    orders: list[Order]
    coupons: list[Coupon]
    products: list[Product]
    skipped: int = 0  # rows/items that could not be read


def plain(value: Any) -> Any:
    """DynamoDB numbers (``Decimal``) as ``int``/``float``, sets as sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB-JSON item (``{"name": {"S": "…"}}``) as plain Python."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: plain(deserializer.deserialize(value)) for key, value in item.items()}


def snapshot_from_items(
    member_items: Iterable[Mapping[str, Any]],
    activity_items: Iterable[Mapping[str, Any]],
    product_items: Iterable[Mapping[str, Any]],
) -> Snapshot:
    """Domain objects from the raw (DynamoDB-JSON) items of the members, activity and products
    tables. Points lots live on the member record; ``POINTS#`` items are history and not needed."""
    from chalicelib.adapters.codec import coupon_from_data, member_from_item, order_from_data, product_from_data

    snap = Snapshot([], [], [], [])
    for raw in member_items:
        try:
            snap.members.append(member_from_item(from_dynamo(raw)))
        except (KeyError, ValueError, TypeError):
            snap.skipped += 1
    for raw in activity_items:
        item = from_dynamo(raw)
        sk, data = str(item.get("sk", "")), item.get("data") or {}
        try:
            if sk.startswith("ORDER#"):
                snap.orders.append(order_from_data(item["member_id"], data))
            elif sk.startswith("COUPON#"):
                snap.coupons.append(coupon_from_data(item["member_id"], data))
        except (KeyError, ValueError, TypeError):
            snap.skipped += 1
    for raw in product_items:
        item = from_dynamo(raw)
        if "data" not in item and "version" in item:
            continue  # the catalog's version item (adapters/product_store.py), not a product
        try:
            snap.products.append(product_from_data(item.get("data") or {}))
        except (KeyError, ValueError, TypeError):
            snap.skipped += 1
    return snap


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend(page.get("Items", []))
    return items


def snapshot_from_stack(target: Mapping[str, Any]) -> Snapshot:
    """Scan the members, activity and products tables of the stack in ``target`` (a stack.json)."""
    from .aws import Aws, explained

    tables = target.get("tables") or {}
    missing = [t for t in ("members", "activity", "products") if t not in tables]
    if missing:
        raise CliError(f"the stack file lists no {', '.join(missing)} table(s): redeploy (`make up`)")
    aws = Aws(target.get("endpoint_url"), target.get("region"))
    client = aws.client("dynamodb")
    members, activity, products = explained(
        lambda: tuple(_scan(client, tables[t]) for t in ("members", "activity", "products")),
        target.get("endpoint_url"),
    )
    return snapshot_from_items(members, activity, products)


# -- output -----------------------------------------------------------------------------------------------


def _short(row: Row) -> list[str]:
    status = row.status + (f" ({row.reason})" if row.reason else "")
    return [
        row.date.isoformat(),
        to_iso(row.due_utc)[11:16] + "Z",
        row.due_local.strftime("%H:%M %z"),
        row.member_id,
        row.rule,
        row.channel,
        status,
        row.text,
    ]


def format_table(rows: Sequence[Row]) -> str:
    """An aligned table; the text column last (CJK text is two cells wide, so nothing follows it)."""
    header = ["DATE", "UTC", "LOCAL", "MEMBER", "RULE", "CHANNEL", "STATUS", "TEXT"]
    cells = [header, *(_short(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header) - 1)]
    out = io.StringIO()
    for line in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1] + "\n")
    return out.getvalue()


def format_json(rows: Sequence[Row]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2) + "\n"


def format_csv(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.as_dict().items()})
    return out.getvalue()


def throughput_line(members: int, days: int, seconds: float, rows: Sequence[Row]) -> str:
    member_days = members * days
    rate = member_days / seconds if seconds > 0 else float("inf")
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
    return (
        f"simulated {members} members x {days} days = {member_days} member-days in {seconds:.3f} s "
        f"({rate:,.0f} member-days/s); {len(rows)} messages: {statuses}"
    )


# -- the verb ----------------------------------------------------------------------------------------------


@dataclass
class Options:
    days: int
    start: date | None
    source: str
    stack_file: Path
    fmt: str  # table / json / csv
    rules: list[str]
    members: list[str]
    rules_file: Path | None
    store_zone: str
    phone_region: str
    include_dropped: bool


def run(opts: Options, out: Any = None, err: Any = None) -> int:
    from chalicelib.domain.rulebook import RULES_FILE, RulesConfigError, load_rule_book

    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    if opts.days <= 0:
        raise CliError("--days must be at least 1")
    try:
        ZoneInfo(opts.store_zone)
    except (ValueError, OSError):
        raise CliError(f"--store-timezone {opts.store_zone}: not an IANA time zone") from None
    try:
        book = load_rule_book(opts.rules_file or RULES_FILE)
    except (OSError, RulesConfigError) as exc:
        raise CliError(f"rules: {exc}") from None
    unknown = [r for r in opts.rules if r not in book.rules]
    if unknown:
        raise CliError(f"--rule {', '.join(unknown)}: not in the rule book ({', '.join(sorted(book.rules))})")
    start = opts.start or datetime.now(ZoneInfo(opts.store_zone)).date()

    loaded = time.perf_counter()
    if opts.source == "stack":
        from .stackinfo import read_stack_file

        snap = snapshot_from_stack(read_stack_file(opts.stack_file))
    else:
        from .snapshot import read_snapshot_dir

        as_of = at_local(start, clock_time(0), ZoneInfo(opts.store_zone))
        csv_snap = read_snapshot_dir(Path(opts.source), opts.store_zone, opts.phone_region, as_of)
        snap = Snapshot(csv_snap.members, csv_snap.orders, csv_snap.coupons, csv_snap.products, len(csv_snap.errors))
        for name, columns in csv_snap.unknown_columns.items():
            if columns:
                print(f"{name}: ignoring unknown column(s) {', '.join(columns)}", file=stderr)
    if snap.skipped:
        print(
            f"skipped {snap.skipped} bad row(s)/item(s) (for CSVs, `memberpulse import --dry-run` lists them)",
            file=stderr,
        )
    members = snap.members
    if opts.members:
        known = {m.member_id for m in members}
        missing = [m for m in opts.members if m not in known]
        if missing:
            print(f"not in the snapshot: {', '.join(missing)}", file=stderr)
        keep = set(opts.members)
        members = [m for m in members if m.member_id in keep]
    print(
        f"snapshot: {len(snap.members)} members, {len(snap.orders)} orders, {len(snap.coupons)} coupons, "
        f"{len(snap.products)} products (read in {time.perf_counter() - loaded:.2f} s)",
        file=stderr,
    )

    began = time.perf_counter()
    rows = simulate(
        members,
        snap.orders,
        snap.coupons,
        snap.products,
        book,
        start,
        opts.days,
        opts.store_zone,
        rules=opts.rules or None,
        include_dropped=opts.include_dropped,
    )
    elapsed = time.perf_counter() - began
    render = {"json": format_json, "csv": format_csv}.get(opts.fmt, format_table)
    stdout.write(render(rows))
    print(throughput_line(len(members), opts.days, elapsed, rows), file=stderr)
    return 0
