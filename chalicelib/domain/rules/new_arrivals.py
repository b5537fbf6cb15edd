"""new_arrivals: on a product's arrival day, at ``local_time``, members whose child is in its age
range (and of a fitting gender) or who carry one of its tags; dropped when it is out of stock by
then (read from the current catalog at firing time)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..calendar import age_in_months
from ..catalog import in_age_range
from ..model import Member, Product
from ..timers import Timer
from .base import Check, Context, Drop, Fire, Plan, Rule


def suited_child(product: Product, member: Member) -> dict[str, Any] | bool | None:
    """The child the product suits ({name, gender}), None when it suits the member through a tag,
    False when it suits neither."""
    if product.arrived_on is not None and product.age_min_months is not None:
        for child in member.children:
            if product.gender not in ("any", child.gender) and child.gender != "unknown":
                continue
            if in_age_range(age_in_months(child.birthday, product.arrived_on), product):
                return {"name": child.name, "gender": child.gender}
    if set(product.tags) & set(member.tags):
        return None
    return False


class NewArrivals(Rule):
    rule_id = "new_arrivals"
    reads_catalog = True

    def on_arrival(self, product: Product, member: Member, ctx: Context) -> list[Plan]:
        child = suited_child(product, member)
        if child is False or product.arrived_on is None:
            return []
        facts = {"product": {"sku": product.sku, "name": product.name}, "child": child}
        timer = ctx.timer(member, product.sku, product.sku, ctx.on_day(product.arrived_on, member), facts)
        return [timer] if timer else []

    def check(self, timer: Timer, member: Member, catalog: Mapping[str, Product], ctx: Context) -> Check:
        product = catalog.get((timer.facts.get("product") or {}).get("sku", ""))
        if product is None or not product.in_stock:
            return Drop("product no longer in stock")
        return Fire(dict(timer.facts))


RULE = NewArrivals()
