"""post_purchase_care: ``after_hours`` (default 24) after an order, a care check ("how is the new
toy?"), once per order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ..model import Member, Order, Product
from ._order import order_facts
from .base import Context, Plan, Rule


class PostPurchaseCare(Rule):
    rule_id = "post_purchase_care"

    def on_order(self, order: Order, member: Member, catalog: Mapping[str, Product], ctx: Context) -> list[Plan]:
        due = order.purchased_at + timedelta(hours=int(ctx.param("after_hours", 24)))
        timer = ctx.timer(member, order.order_id, order.order_id, due, order_facts(order, catalog))
        return [timer] if timer else []


RULE = PostPurchaseCare()
