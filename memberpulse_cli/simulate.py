"""``memberpulse simulate``: a time-travel preview of who would receive which rule, and the text,
day by day, from a snapshot (the local stack's tables or a directory of CSVs). Nothing is sent.

It runs the engine itself, not a copy (``simulation.py``): the services of ``chalicelib.bootstrap``
(rule engine, timers, lifecycle, sender) over the in-memory adapters of ``memberpulse_cli.memory``,
with the sandbox provider recording into an in-memory outbox (a dry run). The snapshot is loaded as of the
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.calendar import at_local
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.model import Coupon, Member, Order, Product
from chalicelib.domain.rulebook import RuleBook

from .project import CliError
from .simulation import Row, Simulation, message_rows, shown_status, window

__all__ = [
    "FIELDS",
    "Options",
    "Row",
    "Simulation",
    "Snapshot",
    "format_csv",
    "format_json",
    "format_table",
    "from_dynamo",
    "message_rows",
    "run",
    "shown_status",
    "simulate",
    "snapshot_from_items",
    "snapshot_from_stack",
    "window",
]

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
    tables. Points lots live on the member record; ``POINTS#`` items are history and not needed,
    nor are consent changes and chats. Erased members (their tombstones) are left out, and with
    them whatever of their history the purge has not deleted yet."""
    from chalicelib.adapters.codec import coupon_from_data, member_from_item, order_from_data, product_from_data

    snap = Snapshot([], [], [], [])
    erased: set[str] = set()
    for raw in member_items:
        if "erased_at" in raw:
            erased.add(str(from_dynamo(raw).get("member_id")))
            continue  # an erased member's tombstone: no one to preview
        try:
            snap.members.append(member_from_item(from_dynamo(raw)))
        except (KeyError, ValueError, TypeError):
            snap.skipped += 1
    for raw in activity_items:
        item = from_dynamo(raw)
        if item.get("member_id") in erased:
            continue  # an erased member's history the purge has not deleted yet
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
    walked = len(snap.members)
    if opts.members:
        known = {m.member_id for m in snap.members}
        missing = [m for m in opts.members if m not in known]
        if missing:
            print(f"not in the snapshot: {', '.join(missing)}", file=stderr)
        walked = len(set(opts.members) & known)
    print(
        f"snapshot: {len(snap.members)} members, {len(snap.orders)} orders, {len(snap.coupons)} coupons, "
        f"{len(snap.products)} products (read in {time.perf_counter() - loaded:.2f} s)",
        file=stderr,
    )

    began = time.perf_counter()
    rows = simulate(
        snap.members,
        snap.orders,
        snap.coupons,
        snap.products,
        book,
        start,
        opts.days,
        opts.store_zone,
        rules=opts.rules or None,
        include_dropped=opts.include_dropped,
        only=opts.members or None,
    )
    elapsed = time.perf_counter() - began
    render = {"json": format_json, "csv": format_csv}.get(opts.fmt, format_table)
    stdout.write(render(rows))
    print(throughput_line(walked, opts.days, elapsed, rows), file=stderr)
    return 0
