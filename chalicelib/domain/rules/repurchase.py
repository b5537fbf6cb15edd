"""repurchase: for categories with an ``interval_days`` entry (a puzzle series), that many days
after buying one, the next ones in stock. One slot per category: buying the next puzzle moves the
reminder instead of adding one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..calendar import local_date
from ..catalog import same_series
from ..model import Member, Order, Product
from ..timers import Timer
from ._order import bought, order_facts
from .base import Check, Context, Fire, Plan, Rule


class Repurchase(Rule):
    rule_id = "repurchase"
    reads_catalog = True

    def on_order(self, order: Order, member: Member, catalog: Mapping[str, Product], ctx: Context) -> list[Plan]:
        intervals = dict(ctx.param("interval_days", {}))
        day = local_date(order.purchased_at, ctx.zone(member))
        out: dict[str, Timer] = {}
        for product in bought(order, catalog):
            category = product.category
            if category is None or category not in intervals:
                continue
            due = ctx.on_day(day + timedelta(days=int(intervals[category])), member)
            facts = {
                **order_facts(order, catalog),
                "product": {"sku": product.sku, "name": product.name, "category": category},
            }
            if timer := ctx.timer(member, category, f"{order.order_id}:{category}", due, facts):
                out[timer.key] = timer
        return list(out.values())

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        last = timer.facts.get("product") or {}
        nxt = same_series(str(last.get("sku", "")), last.get("category"), catalog)
        return Fire({**timer.facts, "next": [p.name for p in nxt[: int(ctx.param("picks", 3))]]})


RULE = Repurchase()
