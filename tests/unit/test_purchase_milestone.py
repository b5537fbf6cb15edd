"""purchase_milestone: every Nth order (default 3), once per milestone, with its coupon granted once
and announced by its own message (not also by coupon_issued)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.model import Consent, Order, OrderItem
from chalicelib.domain.rulebook import load_rule_book
from tests.fakes import FakeAdapters, fake_app, member

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def test_every_third_order_once_with_its_coupon() -> None:
    fakes = FakeAdapters()
    app = fake_app(fakes, book=load_rule_book())
    m = member("m-1", consent=Consent(sms=True, im=True, marketing=True), version=1)
    fakes.members.members["m-1"] = m
    for i in range(1, 7):
        order = Order("m-1", f"o-{i}", NOW + timedelta(hours=i), (OrderItem("X", 1, 10.0),), 10.0)
        stored = fakes.members.get("m-1")
        assert stored is not None
        fakes.members.add_order(order, stored)
        for _ in range(2):  # a replayed stream record changes nothing
            app.facts.order_placed(order, order.purchased_at)
            app.engine.order_recorded(order, order.purchased_at)
    milestones = sorted(m.occurrence for m in fakes.messages.messages.values() if m.trigger == "purchase_milestone")
    assert milestones == ["orders:3", "orders:6"]
    coupons = sorted(c.coupon_id for c in fakes.members.coupons("m-1"))
    assert coupons == ["milestone-3-m-1", "milestone-6-m-1"]
    text = next(m.text for m in fakes.messages.messages.values() if m.occurrence == "orders:3")
    assert "第3次" in text and "升级礼遇券" in text
    for coupon in fakes.members.coupons("m-1"):
        app.engine.coupon_issued(coupon, NOW)
    assert not [m for m in fakes.messages.messages.values() if m.trigger == "coupon_issued"]
    assert fakes.members.get("m-1").orders_count == 6  # type: ignore[union-attr]
