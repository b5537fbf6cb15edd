"""What segments read about a member's purchases, kept on the member's own item. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .calendar import local_date, zone
from .model import Member, Order, Product


def with_order(member: Member, order: Order, catalog: Mapping[str, Product], store_zone: str) -> Member:
    """The member after counting ``order``: one more order, its total spent, and each category it
    bought with the later of the day already known and the order's day (in the member's zone)."""
    day = local_date(order.purchased_at, zone(member.timezone, store_zone))
    bought = dict(member.bought)
    for item in order.items:
        product = catalog.get(item.sku)
        if product is None or not product.category:
            continue
        known = bought.get(product.category)
        bought[product.category] = day if known is None or day > known else known
    return replace(
        member,
        orders_count=member.orders_count + 1,
        total_spent=round(member.total_spent + order.total, 2),
        bought=bought,
    )
