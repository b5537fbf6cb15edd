"""cross_sell: ``after_days`` (default 14) after buying a product that has accessories in stock
(products naming its SKU or category in ``accessory_of``), the accessories; dropped when they are
sold out by then (read from the current catalog at firing time)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..calendar import local_date
from ..catalog import accessories_for
from ..model import Member, Order, Product
from ..timers import Timer
from ._order import bought, order_facts
from .base import Check, Context, Drop, Fire, Plan, Rule


class CrossSell(Rule):
    rule_id = "cross_sell"
    reads_catalog = True

    def on_order(self, order: Order, member: Member, catalog: Mapping[str, Product], ctx: Context) -> list[Plan]:
        day = local_date(order.purchased_at, ctx.zone(member)) + timedelta(days=int(ctx.param("after_days", 14)))
        out: list[Plan] = []
        for product in bought(order, catalog):
            if accessories_for(product, catalog):
                ref = f"{order.order_id}:{product.sku}"
                facts = {**order_facts(order, catalog), "product": {"sku": product.sku, "name": product.name}}
                if timer := ctx.timer(member, ref, ref, ctx.on_day(day, member), facts):
                    out.append(timer)
        return out

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        product = catalog.get((timer.facts.get("product") or {}).get("sku", ""))
        accessories = accessories_for(product, catalog) if product else []
        if not accessories:
            return Drop("accessories sold out")
        return Fire({**timer.facts, "accessories": [p.name for p in accessories[: int(ctx.param("picks", 3))]]})


RULE = CrossSell()
