"""``memberpulse simulate``: a time-travel preview of who would receive which rule, and the text,
day by day, from a snapshot (the local stack's tables or a directory of CSVs). Nothing is sent.

It runs the deployed rule code (``chalicelib.domain``): ``member_timers`` / ``order_timers`` /
``coupon_timer`` / ``arrival_timer`` decide when, ``refresh_facts`` whether the timer still applies
at firing time, ``plan_message`` the channel, consent and text. Like the timer service, it fires
each timer at its due time, records its occurrence as done, and re-derives the member's own timers
only after one of them fired (which is how next year's birthday gets scheduled).

Per member, the timers are computed once and walked in due order, so the cost grows with the
messages in the window, not with members × days.

Scope: a snapshot has no new events, so rules fired by an event (welcome, points_changed,
tier_upgraded, coupon_issued, replies) do not appear; the date-based and follow-up rules do.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain import scheduling
from chalicelib.domain.audience import arrival_segments, member_segments
from chalicelib.domain.calendar import age_in_months, at_local, zone
from chalicelib.domain.eligibility import Policy
from chalicelib.domain.ids import message_id
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.model import Channel, Coupon, Member, Order, Product
from chalicelib.domain.planning import plan_message
from chalicelib.domain.rulebook import RuleBook
from chalicelib.domain.rules import Drop, Plan
from chalicelib.domain.timers import Timer
from chalicelib.domain.triggers import Trigger

from .project import CliError

DEFAULT_PROVIDERS: dict[Channel, str] = {Channel.SMS: "sandbox", Channel.IM: "sandbox"}
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
    providers: Mapping[Channel, str] | None = None,
    rules: Iterable[str] | None = None,
    include_dropped: bool = False,
    _indexed: bool = True,
) -> list[Row]:
    """Every message the rules would plan for ``members`` on the local days ``[start, start + days)``
    (each member's own calendar days), sorted by day, due time, member and rule.

    Timers due before ``start`` count as already handled; ``rules`` keeps only those rule ids in
    the output (the others still run, as they move the member's timers). ``_indexed=False`` hands
    the rule code the whole catalog every time (slow; the tests compare both)."""
    if days <= 0:
        return []
    catalog = dict(products) if isinstance(products, Mapping) else {p.sku: p for p in products}
    chosen = providers or DEFAULT_PROVIDERS
    provider_map = dict(chosen)
    wanted = frozenset(rules) if rules is not None else None
    roster = list(members)
    orders_of: dict[str, list[Order]] = {}
    for order in orders:
        orders_of.setdefault(order.member_id, []).append(order)
    coupons_of: dict[str, list[Coupon]] = {}
    for coupon in coupons:
        coupons_of.setdefault(coupon.member_id, []).append(coupon)
    end = start + timedelta(days=days)
    arrivals = _arrivals(roster, catalog, book, start, end)
    views = CatalogViews(catalog, indexed=_indexed)
    rows: list[Row] = []
    for member in roster:
        _walk(
            member,
            orders_of.get(member.member_id, []),
            coupons_of.get(member.member_id, []),
            arrivals.get(member.member_id, []),
            views,
            book,
            start,
            end,
            store_zone,
            provider_map,
            wanted,
            include_dropped,
            rows,
        )
    rows.sort(key=lambda r: (r.date, r.due_utc, r.member_id, r.rule, r.occurrence))
    return rows


def _arrivals(
    members: Sequence[Member], catalog: dict[str, Product], book: RuleBook, start: date, end: date
) -> dict[str, list[Product]]:
    """New-arrival audiences, found as ``RuleEngine.product_changed`` finds them (the audience
    segments): the in-stock products arriving around the window, per member in their audience.
    Whether a product suits the member is the rule's own decision (``on_arrival``)."""
    out: dict[str, list[Product]] = {}
    if book.get("new_arrivals") is None:
        return out
    landing = [
        p
        for p in catalog.values()
        if p.in_stock and p.arrived_on is not None and start - timedelta(days=2) <= p.arrived_on <= end
    ]
    if not landing:
        return out
    audience: dict[str, list[Member]] = {}
    for member in sorted(members, key=lambda m: m.member_id):
        for segment in member_segments(member):
            audience.setdefault(segment, []).append(member)
    for product in sorted(landing, key=lambda p: p.sku):
        seen: set[str] = set()
        for segment in arrival_segments(product):
            for member in audience.get(segment, ()):
                if member.member_id not in seen:
                    seen.add(member.member_id)
                    out.setdefault(member.member_id, []).append(product)
    return out


# Rules whose refresh_facts never looks at the catalog.
_NO_CATALOG = frozenset(
    {"dormant_45d", "winback_90d", "points_expiring", "balance_expiring", "coupon_expiring", "post_purchase_care"}
)


class CatalogViews:
    """The part of the catalog each rule's code reads, so that scans over every product happen once
    per catalog instead of once per message. Each view holds every product the rule code could
    pick (the others it would skip anyway), so the results are the same as with the whole catalog:
    the order's products and the in-stock accessories naming them or their categories for
    cross-sell, the in-stock products of one category for repurchase, the in-stock products
    fitting one age in months for birthday picks."""

    def __init__(self, catalog: dict[str, Product], indexed: bool = True) -> None:
        self.catalog = catalog
        self.indexed = indexed
        self.in_stock = [p for p in catalog.values() if p.in_stock]
        self.accessories_of: dict[str, list[Product]] = {}  # SKU or category → accessories naming it
        for p in self.in_stock:
            for target in p.accessory_of:
                self.accessories_of.setdefault(target, []).append(p)
        self.by_category: dict[str | None, dict[str, Product]] = {}
        for p in self.in_stock:
            self.by_category.setdefault(p.category, {})[p.sku] = p
        self._by_age: dict[int, dict[str, Product]] = {}

    def _with_accessories(self, skus: Iterable[str]) -> dict[str, Product]:
        """The products ``skus`` and every accessory naming one of them or their categories."""
        out: dict[str, Product] = {}
        targets: set[str] = set()
        for sku in skus:
            product = self.catalog.get(sku)
            if product is not None:
                out[sku] = product
                targets.add(sku)
                if product.category:
                    targets.add(product.category)
        for target in targets:
            for accessory in self.accessories_of.get(target, ()):
                out.setdefault(accessory.sku, accessory)
        return out

    def for_order(self, order: Order) -> dict[str, Product]:
        if not self.indexed:
            return self.catalog
        return self._with_accessories(i.sku for i in order.items)

    def for_timer(self, timer: Timer) -> dict[str, Product]:
        if not self.indexed:
            return self.catalog
        rule, facts = timer.rule_id, timer.facts
        product = facts.get("product") or {}
        try:
            if rule in _NO_CATALOG:
                return {}
            if rule == "cross_sell":
                return self._with_accessories([product.get("sku", "")])
            if rule == "repurchase":
                return self.by_category.get(product.get("category"), {})
            if rule == "new_arrivals":
                sku = product.get("sku", "")
                return {sku: self.catalog[sku]} if sku in self.catalog else {}
            if rule == "child_birthday":
                child = facts.get("child") or {}
                months = age_in_months(date.fromisoformat(child["birth_date"]), date.fromisoformat(child["birthday"]))
                return self._fits(months)
        except (KeyError, TypeError, ValueError):
            pass
        return self.catalog

    def _fits(self, months: int) -> dict[str, Product]:
        if months not in self._by_age:
            self._by_age[months] = {
                p.sku: p
                for p in self.in_stock
                if (p.age_min_months is None or p.age_min_months <= months)
                and (p.age_max_months is None or months <= p.age_max_months)
            }
        return self._by_age[months]


def _walk(
    member: Member,
    orders: list[Order],
    coupons: list[Coupon],
    arrivals: list[Product],
    views: CatalogViews,
    book: RuleBook,
    start: date,
    end: date,
    store_zone: str,
    providers: dict[Channel, str],
    wanted: frozenset[str] | None,
    include_dropped: bool,
    rows: list[Row],
) -> None:
    """One member's timeline: every timer once, in due order; the member's own timers re-derived
    after each of them fires."""
    tz = zone(member.timezone, store_zone)
    w0 = at_local(start, clock_time(0), tz)
    w1 = at_local(end, clock_time(0), tz)
    done: set[tuple[str, str]] = set()
    sent: set[str] = set()  # message ids planned so far

    derived = scheduling.member_dates(member, book, w0, store_zone)
    while early := [t for t in derived.values() if t.due_at < w0]:  # before the window: handled already
        done.update((t.key, t.occurrence) for t in early)
        derived = scheduling.member_dates(member, book, w0, store_zone, frozenset(done))

    def timers(plans: list[Plan]) -> dict[str, Timer]:
        return {p.key: p for p in plans if isinstance(p, Timer)}

    pending: dict[str, Timer] = {}
    for order in sorted(orders, key=lambda o: (o.purchased_at, o.order_id)):
        catalog = views.for_order(order)
        pending.update(
            timers(scheduling.on_order(order, member, catalog, book, w0, store_zone))
        )  # later orders move slots
    for coupon in coupons:
        pending.update(timers(scheduling.on_coupon(coupon, member, book, w0, store_zone)))
    for product in arrivals:
        pending.update(timers(scheduling.on_arrival(product, member, book, w0, store_zone)))
    pending = {k: t for k, t in pending.items() if t.due_at >= w0}
    pending.update(derived)

    while pending:
        timer = min(pending.values(), key=lambda t: (t.due_at, t.key))
        if timer.due_at >= w1:
            break
        del pending[timer.key]
        done.add((timer.key, timer.occurrence))
        rule = book.get(timer.rule_id)
        if rule is None:
            continue
        catalog = views.for_timer(timer)
        verdict = scheduling.check(timer, member, catalog, book, timer.due_at, store_zone)
        facts, reason = (None, verdict.reason) if isinstance(verdict, Drop) else (verdict.facts, None)
        show = wanted is None or timer.rule_id in wanted
        mid = message_id(member.member_id, timer.rule_id, timer.occurrence)
        if facts is None or mid in sent:
            # Dropped at firing time; or the same (member, rule, occurrence) as an earlier message,
            # which the message store refuses to create again (so nothing is sent).
            if show and include_dropped:
                why = reason if facts is None else "duplicate occurrence: same message id as an earlier message"
                rows.append(_row(timer, member.member_id, tz, mid, "", "dropped", "", why))
            if facts is None:
                continue
        else:
            sent.add(mid)
            if show:
                trigger = Trigger(timer.rule_id, member.member_id, timer.occurrence, timer.due_at, facts)
                message = plan_message(member, trigger, Policy(book, store_zone), providers, timer.due_at)
                channel, status = message.channel.value, message.status.value
                rows.append(_row(timer, member.member_id, tz, mid, channel, status, message.text, message.reason))
        if scheduling.keeps_member_dates(timer.rule_id):  # as TimerService._fire_one: reconcile after firing
            fresh = scheduling.member_dates(member, book, timer.due_at, store_zone, frozenset(done))
            pending = {k: t for k, t in pending.items() if not scheduling.keeps_member_dates(t.rule_id)}
            pending.update(fresh)


def _row(
    timer: Timer, member_id: str, tz: ZoneInfo, mid: str, channel: str, status: str, text: str, reason: str | None
) -> Row:
    local = timer.due_at.astimezone(tz)
    return Row(
        local.date(),
        timer.due_at,
        local,
        member_id,
        timer.rule_id,
        channel,
        status,
        text,
        reason,
        timer.occurrence,
        mid,
    )


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
        if "erased_at" in raw:
            continue  # an erased member's tombstone: no one to preview
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
        try:
            snap.products.append(product_from_data(from_dynamo(raw).get("data") or {}))
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
