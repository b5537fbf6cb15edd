"""What follow-up messages say about the order they follow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Order, Product


def bought(order: Order, catalog: Mapping[str, Product]) -> list[Product]:
    """The order's products that are in the catalog, in order-line order."""
    return [catalog[item.sku] for item in order.items if item.sku in catalog]


def order_facts(order: Order, catalog: Mapping[str, Product]) -> dict[str, Any]:
    return {"order": {"id": order.order_id, "products": [p.name for p in bought(order, catalog)]}}
