"""This week's new arrivals for ``reply_new_arrivals``: pure picks from the catalog."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.model import Product
from chalicelib.domain.replies import new_arrival_facts, new_arrivals

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def catalog(*products: Product) -> dict[str, Product]:
    return {p.sku: p for p in products}


def test_the_last_seven_days_up_to_today_newest_first_in_stock_only() -> None:
    shelf = catalog(
        Product("A", "a", arrived_on=date(2026, 11, 16)),  # six days before: in
        Product("B", "b", arrived_on=date(2026, 11, 15)),  # seven days before: out
        Product("C", "c", arrived_on=date(2026, 11, 22)),  # today: in
        Product("D", "d", arrived_on=date(2026, 11, 23)),  # announced for tomorrow: out
        Product("E", "e", arrived_on=date(2026, 11, 20), in_stock=False),
        Product("F", "f"),  # no arrival date
        Product("G", "g", arrived_on=date(2026, 11, 20)),
    )
    assert [p.sku for p in new_arrivals(shelf, NOW, limit=10)] == ["C", "G", "A"]
    assert [p.sku for p in new_arrivals(shelf, NOW, limit=2)] == ["C", "G"]
    assert new_arrival_facts(shelf, NOW, 1) == {"arrivals": ["c"]}


def test_same_day_arrivals_in_a_stable_order() -> None:
    shelf = catalog(*(Product(sku, sku, arrived_on=date(2026, 11, 21)) for sku in ("X2", "X1", "X3")))
    assert [p.sku for p in new_arrivals(shelf, NOW)] == ["X3", "X2", "X1"]


def test_today_is_the_stores_day() -> None:
    # 2026-11-22 20:00 UTC is already the 23rd in Shanghai: a product arriving on the 23rd is new there
    late = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    shelf = catalog(Product("N", "n", arrived_on=date(2026, 11, 23)))
    assert new_arrivals(shelf, late) == []
    assert [p.sku for p in new_arrivals(shelf, late, zone=ZoneInfo("Asia/Shanghai"))] == ["N"]


def test_nothing_new_is_an_empty_list() -> None:
    assert new_arrival_facts({}, NOW) == {"arrivals": []}
