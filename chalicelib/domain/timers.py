"""Durable timers: "fire rule R for member M at instant T, for occurrence O", as pure values.

A timer's ``key`` (``rule#ref``) names the slot it occupies per member: writing a timer with the same
key replaces the old one, which is how a new purchase moves the 45-day wake-up and how a consumed
points lot loses its reminder. The occurrence goes into the message id, so a timer that fires twice
still sends once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .calendar import age_in_months, age_on, anniversary, at_local, local_date, parse_clock, zone
from .model import Coupon, Member, Order, Product
from .rules import RuleBook, RuleConfig
from .triggers import coupon_facts, display_amount

RELEASE_RULE = "release_send"  # a deferred message going back on the send queue
ACK_RULE = "ack_check"  # an IM message that needs a receipt by now, else SMS instead
MEMBER_DERIVED = ("child_birthday", "points_expiring", "balance_expiring", "dormant_45d", "winback_90d")


@dataclass(frozen=True)
class Timer:
    member_id: str
    key: str  # rule#ref: one slot per member
    rule_id: str
    occurrence: str
    due_at: datetime
    facts: dict[str, Any] = field(default_factory=dict)


def _when(rule: RuleConfig, day: Any, member: Member, store_zone: str) -> datetime:
    clock = parse_clock(str(rule.params.get("local_time", "10:00")))
    return at_local(day, clock, zone(member.timezone, store_zone))


def is_stale(timer_due: datetime, rule: RuleConfig, now: datetime) -> bool:
    return now - timer_due > timedelta(hours=rule.stale_after_hours)


def member_timers(
    member: Member, book: RuleBook, now: datetime, store_zone: str, done: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, Timer]:
    """Every timer the member's own record calls for, keyed by slot: only the next occurrence of
    each, skipping occurrences in ``done`` (slot, occurrence) and ones already stale."""
    out: dict[str, Timer] = {}
    tz = zone(member.timezone, store_zone)
    today = local_date(now, tz)

    def add(rule: RuleConfig, ref: str, occurrence: str, due: datetime, facts: dict[str, Any]) -> bool:
        key = f"{rule.rule_id}#{ref}"
        if (key, occurrence) in done or is_stale(due, rule, now):
            return False
        out[key] = Timer(member.member_id, key, rule.rule_id, occurrence, due, facts)
        return True

    if rule := book.get("child_birthday"):
        lead = int(rule.params.get("lead_days", 3))
        for index, child in enumerate(member.children):
            for year in range(today.year - 1, today.year + 3):
                birthday = anniversary(child.birthday, year)
                if birthday <= child.birthday:
                    continue
                due = _when(rule, birthday - timedelta(days=lead), member, store_zone)
                facts = {
                    "child": {
                        "name": child.name,
                        "gender": child.gender,
                        "birthday": birthday.isoformat(),
                        "age": age_on(child.birthday, birthday),
                        "birth_date": child.birthday.isoformat(),
                    }
                }
                if add(rule, f"child{index}", f"{index}:{child.name}:{year}", due, facts):
                    break
    if rule := book.get("points_expiring"):
        lead = int(rule.params.get("lead_days", 3))
        for lot in member.points_lots:
            if lot.expires_on and lot.remaining > 0:
                due = _when(rule, lot.expires_on - timedelta(days=lead), member, store_zone)
                add(
                    rule,
                    lot.txn_id,
                    lot.txn_id,
                    due,
                    {"expiring": {"amount": lot.remaining, "date": lot.expires_on.isoformat()}},
                )
    if (rule := book.get("balance_expiring")) and member.stored_value and member.stored_value.expires_on:
        sv = member.stored_value
        if sv.balance > 0 and sv.expires_on is not None:
            lead = int(rule.params.get("lead_days", 7))
            due = _when(rule, sv.expires_on - timedelta(days=lead), member, store_zone)
            add(
                rule,
                "stored_value",
                sv.expires_on.isoformat(),
                due,
                {"balance": {"amount": display_amount(sv.balance), "date": sv.expires_on.isoformat()}},
            )
    if member.last_purchase_at is not None:
        bought = local_date(member.last_purchase_at, tz)
        for rule_id, default_days in (("dormant_45d", 45), ("winback_90d", 90)):
            if rule := book.get(rule_id):
                days = int(rule.params.get("after_days", default_days))
                due = _when(rule, bought + timedelta(days=days), member, store_zone)
                add(rule, "last_purchase", bought.isoformat(), due, {"last_purchase": bought.isoformat(), "days": days})
    return out


def order_timers(
    order: Order, member: Member, catalog: dict[str, Product], book: RuleBook, now: datetime, store_zone: str
) -> dict[str, Timer]:
    """Follow-ups an order calls for: care check, accessories, the next in a series."""
    out: dict[str, Timer] = {}
    tz = zone(member.timezone, store_zone)
    bought_day = local_date(order.purchased_at, tz)
    products = [catalog[i.sku] for i in order.items if i.sku in catalog]
    names = [p.name for p in products]

    def add(rule: RuleConfig, ref: str, due: datetime, facts: dict[str, Any]) -> None:
        if not is_stale(due, rule, now):
            key = f"{rule.rule_id}#{ref}"
            out[key] = Timer(
                member.member_id,
                key,
                rule.rule_id,
                ref,
                due,
                {"order": {"id": order.order_id, "products": names}, **facts},
            )

    if rule := book.get("post_purchase_care"):
        add(rule, order.order_id, order.purchased_at + timedelta(hours=int(rule.params.get("after_hours", 24))), {})
    if rule := book.get("cross_sell"):
        days = int(rule.params.get("after_days", 14))
        for product in products:
            if accessories_for(product, catalog):
                due = _when(rule, bought_day + timedelta(days=days), member, store_zone)
                facts = {"product": {"sku": product.sku, "name": product.name}}
                add(rule, f"{order.order_id}:{product.sku}", due, facts)
    if rule := book.get("repurchase"):
        intervals = dict(rule.params.get("interval_days", {}))
        for product in products:
            if product.category in intervals:
                due = _when(rule, bought_day + timedelta(days=int(intervals[product.category])), member, store_zone)
                # One slot per category: buying the next puzzle moves the reminder instead of adding one.
                key = f"{rule.rule_id}#{product.category}"
                if not is_stale(due, rule, now):
                    out[key] = Timer(
                        member.member_id,
                        key,
                        rule.rule_id,
                        f"{order.order_id}:{product.category}",
                        due,
                        {
                            "order": {"id": order.order_id, "products": names},
                            "product": {"sku": product.sku, "name": product.name, "category": product.category},
                        },
                    )
    return out


def accessories_for(product: Product, catalog: dict[str, Product]) -> list[Product]:
    """In-stock products that name ``product`` (its SKU or its category) in ``accessory_of``."""
    wanted = {product.sku} | ({product.category} if product.category else set())
    return sorted(
        (p for p in catalog.values() if p.in_stock and p.sku != product.sku and wanted & set(p.accessory_of)),
        key=lambda p: p.sku,
    )


def age_fit(
    catalog: dict[str, Product], age_months: int, gender: str, limit: int = 3, on: date | None = None
) -> list[Product]:
    """In-stock products (already arrived by ``on``) whose age range holds ``age_months`` and whose
    gender fits; newest arrivals first."""
    fits = [
        p
        for p in catalog.values()
        if p.in_stock
        and (on is None or p.arrived_on is None or p.arrived_on <= on)
        and (p.age_min_months is None or p.age_min_months <= age_months)
        and (p.age_max_months is None or age_months <= p.age_max_months)
        and (gender in ("unknown", "") or p.gender in ("any", gender))
    ]
    fits.sort(key=lambda p: (p.arrived_on.isoformat() if p.arrived_on else "", p.sku), reverse=True)
    return fits[:limit]


def coupon_timer(coupon: Coupon, member: Member, book: RuleBook, now: datetime, store_zone: str) -> Timer | None:
    rule = book.get("coupon_expiring")
    if rule is None:
        return None
    lead = int(rule.params.get("lead_days", 3))
    due = _when(rule, coupon.expires_on - timedelta(days=lead), member, store_zone)
    if is_stale(due, rule, now):
        return None
    key = f"coupon_expiring#{coupon.coupon_id}"
    return Timer(member.member_id, key, "coupon_expiring", coupon.coupon_id, due, {"coupon": coupon_facts(coupon)})


def arrival_timer(
    product: Product, member: Member, child: dict[str, Any] | None, book: RuleBook, now: datetime, store_zone: str
) -> Timer | None:
    rule = book.get("new_arrivals")
    if rule is None or product.arrived_on is None:
        return None
    due = _when(rule, product.arrived_on, member, store_zone)
    if is_stale(due, rule, now):
        return None
    key = f"new_arrivals#{product.sku}"
    return Timer(
        member.member_id,
        key,
        "new_arrivals",
        product.sku,
        due,
        {"product": {"sku": product.sku, "name": product.name}, "child": child},
    )


def arrival_segments(product: Product) -> list[str]:
    """Audience segments a new product speaks to: children born in the months that put them in its
    age range on its arrival day (``born#YYYY-MM``), and its tags (``tag#…``)."""
    segments: list[str] = []
    if product.arrived_on is not None and product.age_min_months is not None:
        top = product.age_max_months if product.age_max_months is not None else product.age_min_months + 24
        # +2: a child in the oldest birth month may still be within range on arrival day
        for months in range(product.age_min_months, min(top, product.age_min_months + 216) + 2):
            year, month = divmod(product.arrived_on.year * 12 + product.arrived_on.month - 1 - months, 12)
            segments.append(f"born#{year:04d}-{month + 1:02d}")
    segments.extend(f"tag#{tag}" for tag in product.tags)
    return segments


def member_segments(member: Member) -> dict[str, int | None]:
    """The audience segments a member belongs to, with the child index for birth-month segments."""
    out: dict[str, int | None] = {}
    for index, child in enumerate(member.children):
        out.setdefault(f"born#{child.birthday.year:04d}-{child.birthday.month:02d}", index)
    for tag in member.tags:
        out.setdefault(f"tag#{tag}", None)
    return out


def refresh_facts(
    timer: Timer, member: Member, catalog: dict[str, Product], store_zone: str, picks: int = 3
) -> tuple[dict[str, Any] | None, str | None]:
    """At firing time: does the timer still apply, and with what up-to-date facts?
    Returns (facts, None) to send, or (None, reason) to drop."""
    facts = dict(timer.facts)
    rule = timer.rule_id
    if rule in ("dormant_45d", "winback_90d"):
        if member.last_purchase_at is None:
            return None, "no purchase on record"
        bought = local_date(member.last_purchase_at, zone(member.timezone, store_zone)).isoformat()
        if bought != timer.occurrence:
            return None, f"bought again on {bought}"
    elif rule == "points_expiring":
        lot = next((lot for lot in member.points_lots if lot.txn_id == timer.occurrence), None)
        if lot is None or lot.remaining <= 0:
            return None, "points already used"
        facts["expiring"] = {**facts.get("expiring", {}), "amount": lot.remaining}
    elif rule == "balance_expiring":
        sv = member.stored_value
        if sv is None or sv.balance <= 0 or sv.expires_on is None or sv.expires_on.isoformat() != timer.occurrence:
            return None, "stored value used or its expiry changed"
        facts["balance"] = {"amount": display_amount(sv.balance), "date": sv.expires_on.isoformat()}
    elif rule == "child_birthday":
        child = facts.get("child") or {}
        match = [
            c
            for c in member.children
            if c.name == child.get("name") and c.birthday.isoformat() == child.get("birth_date")
        ]
        if not match:
            return None, "child no longer on the profile"
        birthday = date.fromisoformat(child["birthday"])
        fits = age_fit(
            catalog, age_in_months(match[0].birthday, birthday), match[0].gender, picks, on=timer.due_at.date()
        )
        facts["picks"] = [p.name for p in fits]
    elif rule == "cross_sell":
        product = catalog.get((facts.get("product") or {}).get("sku", ""))
        accessories = accessories_for(product, catalog) if product else []
        if not accessories:
            return None, "accessories sold out"
        facts["accessories"] = [p.name for p in accessories[:picks]]
    elif rule == "repurchase":
        last = facts.get("product") or {}
        nxt = sorted(
            (
                p
                for p in catalog.values()
                if p.in_stock and p.category == last.get("category") and p.sku != last.get("sku")
            ),
            key=lambda p: p.sku,
        )
        facts["next"] = [p.name for p in nxt[:picks]]
    elif rule == "new_arrivals":
        product = catalog.get((facts.get("product") or {}).get("sku", ""))
        if product is None or not product.in_stock:
            return None, "product no longer in stock"
    return facts, None
