"""Domain objects ↔ stored dicts round-trip without loss."""

from __future__ import annotations

from datetime import date, timedelta

from chalicelib.adapters import codec
from chalicelib.domain.model import (
    Channel,
    Child,
    Consent,
    Coupon,
    Message,
    MessageStatus,
    Order,
    OrderItem,
    PointsLot,
    PointsTxn,
    Product,
    StatusChange,
    StoredValue,
)
from tests.fakes import NOW, member


def test_member_round_trips_with_every_field() -> None:
    original = member(
        timezone="Asia/Shanghai",
        locale="en",
        tier="gold",
        store_id="s-1",
        tags=["lego"],
        children=[Child("小宝", date(2022, 3, 4), "boy")],
        consent=Consent(sms=False, im=True, marketing=True),
        stored_value=StoredValue(100.5, date(2027, 1, 31)),
        points_lots=[PointsLot("t1", 10, None), PointsLot("t2", 5, date(2027, 6, 30))],
        last_purchase_at=NOW - timedelta(days=1),
        version=7,
    )
    item = codec.member_to_item(original)
    assert item["points_balance"] == 15
    assert codec.member_from_item(item) == original


def test_member_from_a_sparse_item_gets_defaults() -> None:
    m = codec.member_from_item({"member_id": "m-1"})
    assert (m.name, m.locale, m.consent, m.version, m.points_lots) == ("", "zh-CN", Consent(), 0, [])


def test_order_points_coupon_product_round_trip() -> None:
    order = Order("m-1", "o-1", NOW, (OrderItem("lego-1", 2, 49.5),), 99.0, "s-1")
    assert codec.order_from_data("m-1", codec.order_to_data(order)) == order
    txn = PointsTxn("m-1", "t-1", -5, "redeem", None, NOW)
    assert codec.points_from_data("m-1", codec.points_to_data(txn)) == txn
    coupon = Coupon("m-1", "c-1", "满100减20", 20.0, date(2026, 12, 31), NOW)
    assert codec.coupon_from_data("m-1", codec.coupon_to_data(coupon)) == coupon
    product = Product("lego-1", "Lego", "blocks", 48, 96, "any", ("lego",), 99.0, ("blocks",), date(2026, 11, 1))
    assert codec.product_from_data(codec.product_to_data(product)) == product


def test_message_round_trips_with_history() -> None:
    message = Message(
        message_id="m" + "a" * 25,
        member_id="m-1",
        trigger="welcome",
        occurrence="join",
        channel=Channel.SMS,
        provider="sandbox",
        text="hi",
        status=MessageStatus.DELIVERED,
        created_at=NOW,
        rule_class="transactional",
        sent_at=NOW,
        delivered_at=NOW + timedelta(seconds=3),
        provider_message_id="p-1",
        parts=2,
        history=[StatusChange(MessageStatus.QUEUED, NOW), StatusChange(MessageStatus.SENT, NOW, "ok")],
    )
    item = codec.message_to_item(message)
    assert item["history"] == [
        {"status": "queued", "at": "2026-11-22T08:00:00Z"},
        {"status": "sent", "at": "2026-11-22T08:00:00Z", "reason": "ok"},
    ]
    assert codec.message_from_item(item) == message
