"""Questions about the product catalog that rules and replies ask. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from .model import Product


def accessories_for(product: Product, catalog: Mapping[str, Product]) -> list[Product]:
    """In-stock products that name ``product`` (its SKU or its category) in ``accessory_of``."""
    wanted = {product.sku} | ({product.category} if product.category else set())
    return sorted(
        (
            p
            for p in catalog.values()
            if p.accessory_of and p.in_stock and p.sku != product.sku and not wanted.isdisjoint(p.accessory_of)
        ),
        key=lambda p: p.sku,
    )


def age_fit(
    catalog: Mapping[str, Product], age_months: int, gender: str, limit: int = 3, on: date | None = None
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


def same_series(product_sku: str, category: str | None, catalog: Mapping[str, Product]) -> list[Product]:
    """Other in-stock products of the category (the next puzzle of a series), by SKU."""
    return sorted(
        (p for p in catalog.values() if p.in_stock and p.category == category and p.sku != product_sku),
        key=lambda p: p.sku,
    )


def in_age_range(months: int, product: Product) -> bool:
    """A child of ``months`` is in the product's range (no upper bound: two years above the lower)."""
    low = product.age_min_months if product.age_min_months is not None else 0
    high = product.age_max_months if product.age_max_months is not None else low + 24
    return low <= months <= high
