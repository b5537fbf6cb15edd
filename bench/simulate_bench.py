"""Simulate throughput: member-days previewed per second by ``memberpulse simulate`` (the engine's
services over the in-memory adapters), on synthetic members (children, points lots, purchases,
orders) and a small catalog."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

MEMBERS = 5_000
DAYS = (30, 365)


def run() -> dict[int, float]:
    from chalicelib.domain.model import Child, Consent, Member, Order, OrderItem, PointsLot, Product
    from chalicelib.domain.rulebook import load_rule_book
    from memberpulse_cli.simulate import simulate

    rng = random.Random(7)
    start = date(2026, 12, 1)
    products = [
        Product(
            f"P{i}",
            f"玩具{i}",
            category=rng.choice(("puzzle", "doll", "blocks")),
            age_min_months=rng.randint(12, 60),
            age_max_months=rng.randint(61, 120),
        )
        for i in range(300)
    ]
    members, orders = [], []
    for i in range(MEMBERS):
        bought = datetime.combine(start - timedelta(days=rng.randint(0, 60)), datetime.min.time(), tzinfo=UTC)
        members.append(
            Member(
                member_id=f"m{i}",
                phone="+8613800138000",
                consent=Consent(marketing=True),
                children=[Child(f"c{i}", start - timedelta(days=rng.randint(365, 3650)), "boy")],
                points_lots=[PointsLot(f"t{i}", 100, start + timedelta(days=rng.randint(1, 365)))],
                last_purchase_at=bought,
            )
        )
        sku = rng.choice(products).sku
        orders.append(Order(f"m{i}", f"o{i}", bought, (OrderItem(sku, 1, 10.0),), 10.0))
    book = load_rule_book()
    print(f"Simulate throughput ({MEMBERS} members, {len(products)} products; the engine in memory, no AWS)")
    results = {}
    for days in DAYS:
        began = time.perf_counter()
        rows = simulate(members, orders, [], products, book, start, days, "Asia/Shanghai")
        seconds = time.perf_counter() - began
        results[days] = MEMBERS * days / seconds
        print(f"  {days:>3} days: {len(rows):>6} messages previewed, {results[days]:>10,.0f} member-days/s")
    return results
