"""The rule table applied: every enabled rule's hook for an event, and the check when a timer fires.
Pure; the engine service (``services/engine.py``) does the reading and writing around it, and the
simulator runs the same service."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta

from .action_links import ActionLinks
from .activities import ActivityEvent, Standing
from .model import Coupon, Member, Order, PointsTxn, Product
from .rulebook import RuleBook, RulesConfigError
from .rules import RULES, Check, Context, Drop, Plan, Rule
from .timers import Timer


def check_sections(book: RuleBook, rules: Mapping[str, Rule] = RULES) -> None:
    """Every rule module has its section in rules.toml (its class, channels and templates)."""
    for rule_id in rules:
        if rule_id not in book.rules:
            raise RulesConfigError(
                f"rules.{rule_id}: chalicelib/domain/rules/{rule_id}.py has no [rules.{rule_id}] section"
            )


def _enabled(
    book: RuleBook,
    now: datetime,
    store_zone: str,
    done: frozenset[tuple[str, str]] = frozenset(),
    links: ActionLinks | None = None,
) -> Iterator[tuple[Rule, Context]]:
    for rule_id, rule in RULES.items():
        config = book.get(rule_id)
        if config is not None:
            yield rule, Context(config, book, now, store_zone, done, links=links)


def _collect(book: RuleBook, now: datetime, store_zone: str, hook: Callable[[Rule, Context], list[Plan]]) -> list[Plan]:
    return [plan for rule, ctx in _enabled(book, now, store_zone) for plan in hook(rule, ctx)]


def on_member_change(old: Member | None, new: Member, book: RuleBook, now: datetime, store_zone: str) -> list[Plan]:
    return _collect(book, now, store_zone, lambda rule, ctx: rule.on_member_change(old, new, ctx))


def on_order(
    order: Order, member: Member, catalog: Mapping[str, Product], book: RuleBook, now: datetime, store_zone: str
) -> list[Plan]:
    return _collect(book, now, store_zone, lambda rule, ctx: rule.on_order(order, member, catalog, ctx))


def on_points(txn: PointsTxn, member: Member, book: RuleBook, now: datetime, store_zone: str) -> list[Plan]:
    return _collect(book, now, store_zone, lambda rule, ctx: rule.on_points(txn, member, ctx))


def on_coupon(coupon: Coupon, member: Member, book: RuleBook, now: datetime, store_zone: str) -> list[Plan]:
    return _collect(book, now, store_zone, lambda rule, ctx: rule.on_coupon(coupon, member, ctx))


def on_arrival(product: Product, member: Member, book: RuleBook, now: datetime, store_zone: str) -> list[Plan]:
    return _collect(book, now, store_zone, lambda rule, ctx: rule.on_arrival(product, member, ctx))


def on_activity(
    event: ActivityEvent, member: Member, book: RuleBook, now: datetime, store_zone: str, links: ActionLinks | None
) -> list[Plan]:
    """Something happened to the member's place in an activity: every enabled rule's plans."""
    return [
        plan
        for rule, ctx in _enabled(book, now, store_zone, links=links)
        for plan in rule.on_activity(event, member, ctx)
    ]


def product_arrived(old: Product | None, new: Product) -> bool:
    """A product change is an arrival: it has an arrival day and is in stock, and was not already
    (a new product, a new arrival day, or back in stock)."""
    if new.arrived_on is None or not new.in_stock:
        return False
    return old is None or old.arrived_on != new.arrived_on or not old.in_stock


def member_dates(
    member: Member, book: RuleBook, now: datetime, store_zone: str, done: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, Timer]:
    """Every timer the member's own record calls for, keyed by slot: the next occurrence of each,
    skipping occurrences in ``done`` (slot, occurrence) and ones already stale."""
    out: dict[str, Timer] = {}
    for rule, ctx in _enabled(book, now, store_zone, done):
        for timer in rule.member_dates(member, ctx):
            out[timer.key] = timer
    return out


def keeps_member_dates(rule_id: str) -> bool:
    """The rule's timers follow the member's record (a slot it no longer asks for is cancelled)."""
    rule = RULES.get(rule_id)
    return rule is not None and rule.keeps_member_dates()


def reads_catalog(rule_id: str) -> bool:
    rule = RULES.get(rule_id)
    return rule is not None and rule.reads_catalog


def reads_standing(rule_id: str) -> bool:
    """The rule's timers check the activity and the member's registration when they fire."""
    rule = RULES.get(rule_id)
    return rule is not None and rule.reads_standing


def check(
    timer: Timer,
    member: Member,
    catalog: Mapping[str, Product],
    book: RuleBook,
    now: datetime,
    store_zone: str,
    standing: Standing | None = None,
    links: ActionLinks | None = None,
) -> Check:
    """At firing time: still applies (with refreshed facts), or dropped with a reason — the rule is
    off, the timer is stale, or the rule's own check says so (an activity rule reads
    ``standing``: the activity and the member's registration as they are now)."""
    rule = RULES.get(timer.rule_id)
    config = book.get(timer.rule_id)
    if rule is None or config is None:
        return Drop("rule disabled")
    if now - timer.due_at > timedelta(hours=config.stale_after_hours):
        hours = (now - timer.due_at).total_seconds() / 3600
        return Drop(f"stale: {hours:.0f} h overdue (stale_after {config.stale_after_hours} h)")
    return rule.check(timer, member, catalog, Context(config, book, now, store_zone, standing=standing, links=links))
