"""``memberpulse simulate``: the day-by-day preview of a snapshot, through the live services over the
in-memory adapters (its agreement with the live engine on DynamoDB: tests/integration)."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.adapters.codec import coupon_to_data, member_to_item, order_to_data, product_to_data
from chalicelib.domain.model import Child, Consent, Coupon, Member, MessageStatus, Order, OrderItem, PointsLot, Product
from chalicelib.domain.rulebook import RuleBook, load_rule_book
from memberpulse_cli.main import main
from memberpulse_cli.project import CliError
from memberpulse_cli.simulate import (
    Options,
    Row,
    Simulation,
    format_csv,
    format_json,
    format_table,
    run,
    simulate,
    snapshot_from_items,
    window,
)
from memberpulse_cli.simulation import schedule_tick

DATA = Path(__file__).resolve().parent.parent / "data"
START = date(2026, 12, 1)
ZONE = "Asia/Shanghai"


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rule_book()


def person(member_id: str, **fields: Any) -> Member:
    values: dict[str, Any] = {"name": "王小明", "phone": "+8613800138000", "consent": Consent(marketing=True)}
    values.update(fields)
    return Member(member_id=member_id, **values)


def shanghai(day: date, hour: int = 12) -> datetime:
    """Noon (by default) on ``day`` in Shanghai, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


def rows_for(rows: list[Row], member_id: str, rule: str | None = None) -> list[Row]:
    return [r for r in rows if r.member_id == member_id and (rule is None or r.rule == rule)]


def day_index(row: Row) -> int:
    return (row.date - START).days


# -- the walk ------------------------------------------------------------------------------------------


def test_a_birthday_three_days_ahead_fires_on_the_first_day(book: RuleBook) -> None:
    kid = person("m-bday", children=[Child("乐乐", date(2020, 12, 4), "boy")])  # 6 on 2026-12-04
    rows = simulate([kid], [], [], [], book, START, 7, ZONE)
    (row,) = rows_for(rows, "m-bday", "child_birthday")
    assert row.date == START
    assert row.due_utc == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert row.due_local.hour == 10
    assert row.status == "queued"
    assert row.channel == "sms"  # no IM id on file
    assert row.text.startswith("乐乐6岁生日快到啦")


def test_a_birthday_fires_lead_days_before_it(book: RuleBook) -> None:
    kid = person("m-bday", children=[Child("乐乐", date(2020, 12, 11), "girl")])
    rows = simulate([kid], [], [], [], book, START, 30, ZONE)
    (row,) = rows_for(rows, "m-bday", "child_birthday")
    assert row.date == date(2026, 12, 8)  # birthday on the 11th, lead_days = 3
    assert row.occurrence == "0:乐乐:2026"
    assert "6岁" in row.text


def test_dormant_on_day_45_then_winback_on_day_90(book: RuleBook) -> None:
    member = person("m-dorm", last_purchase_at=shanghai(START, 9))
    rows = simulate([member], [], [], [], book, START, 120, ZONE)
    assert [(r.rule, day_index(r)) for r in rows] == [("dormant_45d", 45), ("winback_90d", 90)]
    assert all(r.status == "queued" for r in rows)


def test_no_marketing_consent_shows_suppressed_with_the_reason_and_the_text(book: RuleBook) -> None:
    member = person(
        "m-nomkt",
        consent=Consent(sms=True, im=True, marketing=False),
        last_purchase_at=shanghai(START, 9),
        points_lots=[PointsLot("p-1", 120, START + timedelta(days=10))],
    )
    rows = simulate([member], [], [], [], book, START, 50, ZONE)
    by_rule = {r.rule: r for r in rows}
    dormant = by_rule["dormant_45d"]
    assert dormant.status == "suppressed"
    assert dormant.reason == "no marketing consent"
    assert "好久不见" in dormant.text
    points = by_rule["points_expiring"]  # transactional: consent to marketing is not needed
    assert points.status == "queued"
    assert points.reason is None
    assert "120积分" in points.text
    assert day_index(points) == 7


def test_each_occurrence_once_over_400_days_including_next_years_birthday(book: RuleBook) -> None:
    member = person(
        "m-year",
        children=[Child("乐乐", date(2020, 12, 4), "boy"), Child("安安", date(2023, 3, 15), "girl")],
        last_purchase_at=shanghai(START, 9),
        points_lots=[PointsLot("p-1", 50, date(2027, 2, 1))],
    )
    rows = simulate([member], [], [], [], book, START, 400, ZONE)
    seen = Counter((r.member_id, r.rule, r.occurrence) for r in rows)
    assert all(n == 1 for n in seen.values()), seen
    birthdays = [(r.occurrence, r.date) for r in rows if r.rule == "child_birthday"]
    assert birthdays == [
        ("0:乐乐:2026", date(2026, 12, 1)),
        ("1:安安:2027", date(2027, 3, 12)),
        ("0:乐乐:2027", date(2027, 12, 1)),  # next year's, scheduled after this year's fired
    ]
    assert "7岁" in rows_for(rows, "m-year", "child_birthday")[-1].text
    assert Counter(r.rule for r in rows) == Counter(
        {"child_birthday": 3, "dormant_45d": 1, "winback_90d": 1, "points_expiring": 1}
    )


def test_timers_due_before_the_window_count_as_handled(book: RuleBook) -> None:
    # The birthday reminder was due yesterday (not stale yet): the running system has sent it.
    member = person("m-past", children=[Child("乐乐", date(2020, 12, 3), "boy")])
    rows = simulate([member], [], [], [], book, START, 30, ZONE)
    assert rows == []


def test_days_are_the_members_local_days(book: RuleBook) -> None:
    member = person(
        "m-la", timezone="America/Los_Angeles", locale="en", children=[Child("Leo", date(2021, 12, 10), "boy")]
    )
    (row,) = simulate([member], [], [], [], book, START, 30, ZONE)
    assert row.date == date(2026, 12, 7)
    assert row.due_local.isoformat() == "2026-12-07T10:00:00-08:00"
    assert row.due_utc == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert row.text.startswith("Leo turns 5 soon!")


CATALOG = [
    Product("PUZ-1", "恐龙拼图·第1辑", "puzzle", 36, 72),
    Product("PUZ-2", "恐龙拼图·第2辑", "puzzle", 48, 96),
    Product("DOLL", "小熊娃娃", "doll", 24, 72),
    Product("DRESS", "小熊换装套", "doll_accessory", 24, None, accessory_of=("doll",)),
]


def test_order_follow_ups_and_coupon_reminder(book: RuleBook) -> None:
    bought = shanghai(START - timedelta(days=1), 15)
    member = person("m-buy", last_purchase_at=bought)
    order = Order("m-buy", "o-1", bought, (OrderItem("PUZ-1", 1, 59.0), OrderItem("DOLL", 1, 99.0)), 158.0)
    coupon = Coupon("m-buy", "c-1", "满100减20券", 20, START + timedelta(days=10), bought)
    rows = simulate([member], [order], [coupon], CATALOG, book, START, 20, ZONE)
    got = {(r.rule, day_index(r)) for r in rows}
    assert got == {("post_purchase_care", 0), ("cross_sell", 13), ("repurchase", 13), ("coupon_expiring", 7)}
    by_rule = {r.rule: r for r in rows}
    assert by_rule["post_purchase_care"].due_utc == bought + timedelta(hours=24)
    assert "小熊换装套" in by_rule["cross_sell"].text
    assert "恐龙拼图·第2辑" in by_rule["repurchase"].text
    assert "满100减20券" in by_rule["coupon_expiring"].text


def test_dropped_timers_only_with_include_dropped(book: RuleBook) -> None:
    members, orders, coupons, products = _random_snapshot(3)
    plain = simulate(members, orders, coupons, products, book, START, 200, ZONE)
    every = simulate(members, orders, coupons, products, book, START, 200, ZONE, include_dropped=True)
    assert plain == [r for r in every if r.status != "dropped"]
    assert all(r.reason and not r.text for r in every if r.status == "dropped")
    assert {r.status for r in plain} == {"queued", "suppressed", "deferred"}
    assert all((r.reason or "").startswith("frequency cap") for r in plain if r.status == "deferred")


def test_rule_filter_keeps_the_timeline_but_shows_only_those_rules(book: RuleBook) -> None:
    member = person("m-f", children=[Child("乐乐", date(2020, 12, 4), "boy")], last_purchase_at=shanghai(START, 9))
    every = simulate([member], [], [], [], book, START, 400, ZONE)
    only = simulate([member], [], [], [], book, START, 400, ZONE, rules=["child_birthday"])
    assert only == [r for r in every if r.rule == "child_birthday"]
    assert len(only) == 2


def test_message_ids_are_unique_as_the_message_store_keeps_them(book: RuleBook) -> None:
    # Two children with the same name: whatever the occurrence key, never two messages with one id
    # (the message store refuses the second; the preview shows it dropped).
    member = person("m-twins", children=[Child("宝宝", date(2020, 12, 9)), Child("宝宝", date(2022, 12, 20))])
    rows = simulate([member], [], [], [], book, START, 40, ZONE, include_dropped=True)
    sent = [r.message_id for r in rows if r.status != "dropped"]
    assert len(sent) == len(set(sent))
    assert len(rows) == 2
    members, orders, coupons, products = _random_snapshot(5)
    rows = simulate(members, orders, coupons, products, book, START, 400, ZONE)
    assert len({r.message_id for r in rows}) == len(rows)


def test_new_arrivals_reach_the_members_whose_child_fits(book: RuleBook) -> None:
    robot = Product("ROBOT", "机器人套件", "stem", 60, 144, arrived_on=START + timedelta(days=9))
    fits = person("m-fit", children=[Child("乐乐", date(2020, 6, 1), "boy")])
    too_young = person("m-young", children=[Child("安安", date(2025, 6, 1), "girl")])
    # Born in the youngest birth month the product speaks to, but 59 months old on arrival day.
    almost = person("m-almost", children=[Child("小宝", date(2021, 12, 20), "boy")])
    rows = simulate([fits, too_young, almost], [], [], [robot], book, START, 20, ZONE)
    (row,) = [r for r in rows if r.rule == "new_arrivals"]
    assert (row.member_id, day_index(row)) == ("m-fit", 9)
    assert "乐乐" in row.text


def test_no_days_no_rows(book: RuleBook) -> None:
    assert simulate([person("m")], [], [], [], book, START, 0, ZONE) == []


def _random_snapshot(seed: int) -> tuple[list[Member], list[Order], list[Coupon], list[Product]]:
    rnd = random.Random(seed)
    cats = ["puzzle", "blocks", "art", "doll", "doll_accessory", "stem", None]
    products = [
        Product(
            f"S{i}",
            f"商品{i}",
            (cat := rnd.choice(cats)),
            rnd.choice([None, rnd.randint(0, 60)]),
            rnd.choice([None, rnd.randint(61, 150)]),
            rnd.choice(["any", "boy", "girl"]),
            accessory_of=("doll",) if cat == "doll_accessory" else (f"S{rnd.randint(0, 30)}",) if i % 7 == 0 else (),
            arrived_on=START + timedelta(days=rnd.randint(-5, 40)) if i % 5 == 0 else None,
            in_stock=rnd.random() > 0.2,
            tags=("blocks",) if cat == "blocks" else (),
        )
        for i in range(40)
    ]
    members, orders, coupons = [], [], []
    for i in range(120):
        last = shanghai(START) - timedelta(days=rnd.randint(0, 100))
        members.append(
            person(
                f"m{i}",
                timezone=rnd.choice([None, "America/Los_Angeles", "Europe/Berlin"]),
                consent=Consent(marketing=rnd.random() > 0.5, im=rnd.random() > 0.3),
                im_user_id=rnd.choice([None, "u1"]),
                tags=rnd.choice([[], ["blocks"]]),
                children=[
                    Child(
                        rnd.choice(["宝宝", "乐乐", ""]), date(2016 + rnd.randint(0, 9), rnd.randint(1, 12), 1 + i % 28)
                    )
                    for _ in range(rnd.randint(0, 2))
                ],
                last_purchase_at=last,
                points_lots=[PointsLot(f"p{i}", 10, START + timedelta(days=rnd.randint(-3, 300)))],
            )
        )
        for k in range(rnd.randint(0, 3)):
            items = tuple(OrderItem(rnd.choice(products).sku, 1, 10.0) for _ in range(rnd.randint(1, 3)))
            orders.append(Order(f"m{i}", f"o{i}-{k}", last - timedelta(days=7 * k), items, 10.0))
        if i % 4 == 0:
            coupons.append(Coupon(f"m{i}", f"c{i}", "券", 5, START + timedelta(days=rnd.randint(-2, 30)), last))
    return members, orders, coupons, products


def test_the_walk_runs_the_live_services_and_the_dry_run_provider_records_each_send(book: RuleBook) -> None:
    members, orders, coupons, products = _random_snapshot(7)
    end_day = START + timedelta(days=120)
    cut, end = window(START, end_day, ZONE, (m.timezone for m in members))
    sim = Simulation(book, ZONE)
    sim.load(members, orders, coupons, products, cut, arrivals_until=end_day)
    sim.run_until(end)
    rows = sim.rows(START, end_day)
    assert {r.rule for r in rows} >= {"child_birthday", "cross_sell", "repurchase", "new_arrivals", "dormant_45d"}
    went = {m.message_id for m in sim.adapters.messages.messages.values() if m.status is MessageStatus.DELIVERED}
    assert went and {o.message_id for o, _, _ in sim.adapters.outbox.sent.values()} == went
    assert {r.message_id for r in rows if r.status in ("queued", "deferred")} <= went
    assert not sim.adapters.send_queue.waiting() and not sim.retries


def test_a_member_walked_alone_gets_the_rows_of_the_whole_walk(book: RuleBook) -> None:
    members, orders, coupons, products = _random_snapshot(5)
    every = simulate(members, orders, coupons, products, book, START, 90, ZONE)
    for member_id in ("m3", "m8", "m17"):
        alone = simulate(members, orders, coupons, products, book, START, 90, ZONE, only=[member_id])
        assert alone == [r for r in every if r.member_id == member_id]


def test_a_care_check_due_in_quiet_hours_is_deferred_to_the_morning(book: RuleBook) -> None:
    bought = shanghai(START - timedelta(days=1), 22)  # 22:00: the care check is due at 22:00 the next day
    member = person("m-late", last_purchase_at=bought)
    order = Order("m-late", "o-1", bought, (OrderItem("DOLL", 1, 99.0),), 99.0)
    (row,) = rows_for(simulate([member], [order], [], CATALOG, book, START, 3, ZONE), "m-late")
    assert (row.rule, row.status, row.date) == ("post_purchase_care", "deferred", START)
    assert row.reason == "quiet hours: sends 08:00–21:00 Asia/Shanghai"
    assert row.due_utc == bought + timedelta(hours=24)


def test_a_send_the_provider_throttles_comes_back_at_a_later_tick(book: RuleBook) -> None:
    from chalicelib.adapters.providers.sandbox import FaultPlan, SandboxProvider
    from chalicelib.domain.model import Channel

    members, orders, coupons, products = _random_snapshot(3)
    end_day = START + timedelta(days=60)
    cut, end = window(START, end_day, ZONE, (m.timezone for m in members))
    sim = Simulation(book, ZONE)
    throttling = SandboxProvider(sim.adapters.outbox, FaultPlan({"throttle": 0.3}))
    sim.adapters.providers = {"sandbox": throttling}  # before the app builds its sender
    sim.load(members, orders, coupons, products, cut, arrivals_until=end_day)
    sim.run_until(end)
    messages = list(sim.adapters.messages.messages.values())
    retried = [m for m in messages if m.attempts > 1]
    went = [m for m in retried if m.status is MessageStatus.DELIVERED]
    assert went and all(m.sent_at is not None and m.sent_at > m.created_at for m in went)  # at a later tick
    # Throttled at every one of its five receives: an IM fails and its SMS goes instead; an SMS is
    # left in the dead-letter queue, still queued.
    stuck = [m for m in retried if m.status is not MessageStatus.DELIVERED]
    assert stuck and all(m.attempts == 5 for m in stuck)
    for m in stuck:
        if m.channel is Channel.IM:
            assert m.status is MessageStatus.FAILED
            assert [f.channel for f in messages if f.fallback_of == m.message_id] == [Channel.SMS]
        else:
            assert m.status is MessageStatus.QUEUED
    assert not sim.retries


def test_the_window_and_the_schedules_ticks() -> None:
    cut, end = window(START, START + timedelta(days=2), ZONE, [None, "America/Los_Angeles", "Asia/Tokyo"])
    assert cut == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 12-01 00:00 in Tokyo
    assert end == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 12-03 00:00 in Los Angeles
    assert schedule_tick(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert schedule_tick(datetime(2026, 12, 1, 2, 0, 1, tzinfo=UTC)) == datetime(2026, 12, 1, 2, 1, tzinfo=UTC)


CAPPED_BOOK = """
[store]
name = "乐乐玩具"
tiers = ["regular"]

[store.frequency_cap]
per_week = 1
per_month = 6

[rules.dormant_45d]
class = "marketing"
channels = ["sms"]
after_days = 45

[rules.dormant_45d.templates]
zh-CN = "好久不见！"

[rules.points_expiring]
class = "marketing"
channels = ["sms"]
max_defer_days = 2

[rules.points_expiring.templates]
zh-CN = "{{ expiring.amount }}积分快到期了"
"""


def test_over_the_weekly_cap_a_message_waits_for_next_week_or_is_capped(book: RuleBook) -> None:
    from chalicelib.domain.rulebook import parse_rule_book

    capped_book = parse_rule_book(CAPPED_BOOK)
    monday = date(2026, 11, 30)
    # Wednesday: the wake-up (45 days after a purchase) takes the week's one marketing message
    member = person(
        "m-cap",
        last_purchase_at=shanghai(monday + timedelta(days=2) - timedelta(days=45), 9),
        points_lots=[
            PointsLot("p-1", 50, monday + timedelta(days=6)),
            PointsLot("p-2", 70, monday + timedelta(days=10)),
        ],
    )
    rows = simulate([member], [], [], [], capped_book, monday, 14, ZONE)
    by_occurrence = {r.occurrence: r for r in rows}
    # Thursday (3 days before the lot expires): the next week starts 4 days later, > max_defer_days 2
    assert by_occurrence["p-1"].status == "capped"
    assert by_occurrence["p-1"].reason == (
        "frequency cap: 1 marketing messages a calendar week; the next period starts after the rule's 2-day limit"
    )
    assert (by_occurrence["p-2"].status, by_occurrence["p-2"].date) == ("queued", monday + timedelta(days=7))
    assert [r.rule for r in rows if r.status == "queued"] == ["dormant_45d", "points_expiring"]


# -- snapshots ---------------------------------------------------------------------------------------------


def _dynamo(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item as the DynamoDB client returns it (numbers as Decimal, typed JSON)."""
    serializer = TypeSerializer()

    def numbers(value: Any) -> Any:
        if isinstance(value, float):
            return Decimal(str(value))
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [numbers(v) for v in value]
        return value

    return {k: serializer.serialize(v) for k, v in numbers(item).items()}


def test_snapshot_from_dynamodb_items(book: RuleBook) -> None:
    bought = shanghai(START - timedelta(days=1), 15)
    member = person(
        "m-db",
        children=[Child("乐乐", date(2020, 12, 4), "boy")],
        last_purchase_at=bought,
        points_lots=[PointsLot("p-1", 30, date(2027, 1, 1))],
    )
    order = Order("m-db", "o-1", bought, (OrderItem("PUZ-1", 2, 59.5),), 119.0)
    coupon = Coupon("m-db", "c-1", "券", 20.0, START + timedelta(days=5), bought)
    activity = [
        {"member_id": "m-db", "sk": "ORDER#o-1", "kind": "order", "data": order_to_data(order), "at": "x"},
        {"member_id": "m-db", "sk": "COUPON#c-1", "kind": "coupon", "data": coupon_to_data(coupon), "at": "x"},
        {"member_id": "m-db", "sk": "POINTS#p-1", "kind": "points", "data": {"txn_id": "p-1", "delta": 30}, "at": "x"},
    ]
    products = [{"sku": p.sku, "data": product_to_data(p)} for p in CATALOG]
    snap = snapshot_from_items(
        [_dynamo(member_to_item(member))], [_dynamo(a) for a in activity], [_dynamo(p) for p in products]
    )
    assert snap.skipped == 0
    (got,) = snap.members
    assert got.children == member.children
    assert got.points_lots == member.points_lots
    assert got.last_purchase_at == bought
    assert snap.orders == [order]
    assert isinstance(snap.orders[0].items[0].qty, int)
    assert snap.coupons == [coupon]
    assert {p.sku for p in snap.products} == {p.sku for p in CATALOG}
    rows = simulate(snap.members, snap.orders, snap.coupons, snap.products, book, START, 10, ZONE)
    assert {r.rule for r in rows} == {"child_birthday", "post_purchase_care", "coupon_expiring"}


def test_an_erased_member_and_what_the_purge_has_not_reached_yet_are_left_out(book: RuleBook) -> None:
    bought = shanghai(START - timedelta(days=1), 15)
    kept = person("m-kept", last_purchase_at=bought)
    tombstone = {"member_id": "m-gone", "erased_at": "2026-11-30T08:00:00Z", "version": 4}
    activity = [
        {"member_id": member_id, "sk": "ORDER#o-1", "kind": "order", "at": "x", "data": order_to_data(order)}
        for member_id, order in (
            ("m-gone", Order("m-gone", "o-1", bought, (OrderItem("DOLL", 1, 199.0),), 199.0)),
            ("m-kept", Order("m-kept", "o-1", bought, (OrderItem("DOLL", 1, 199.0),), 199.0)),
        )
    ]
    activity += [
        {"member_id": "m-gone", "sk": "COUPON#c-1", "kind": "coupon", "at": "x",
         "data": coupon_to_data(Coupon("m-gone", "c-1", "券", 20.0, START + timedelta(days=5), bought))},
        {"member_id": "m-kept", "sk": "CONSENT#2026-11-30T08:00:00Z#2", "kind": "consent", "at": "x",
         "data": {"changes": {"sms": True}, "source": "api"}},
        {"member_id": "m-kept", "sk": "CHAT#2026-11-30T08:00:00Z#e-1", "kind": "chat", "at": "x",
         "data": {"text": "售后"}},
    ]  # fmt: skip
    snap = snapshot_from_items([_dynamo(tombstone), _dynamo(member_to_item(kept))], [_dynamo(a) for a in activity], [])
    assert [m.member_id for m in snap.members] == ["m-kept"]
    assert [o.member_id for o in snap.orders] == ["m-kept"] and snap.coupons == []
    assert snap.skipped == 0
    rows = simulate(snap.members, snap.orders, snap.coupons, snap.products, book, START, 10, ZONE)
    assert rows and {r.member_id for r in rows} == {"m-kept"}


def test_the_catalogs_version_item_is_not_a_product_nor_a_bad_item() -> None:
    products = [
        _dynamo({"sku": "#catalog", "version": 7}),
        _dynamo({"sku": "DOLL", "data": product_to_data(CATALOG[2])}),
    ]
    snap = snapshot_from_items([], [], products)
    assert (snap.products, snap.skipped) == ([CATALOG[2]], 0)


def test_a_broken_item_is_skipped_and_counted() -> None:
    snap = snapshot_from_items([_dynamo({"name": "no id"})], [], [_dynamo({"sku": "x", "data": {"sku": "x"}})])
    assert snap.members == []
    assert snap.skipped == 2


# -- output and the verb ----------------------------------------------------------------------------------


def _sample_rows(book: RuleBook) -> list[Row]:
    member = person(
        "m-out",
        consent=Consent(marketing=False),
        children=[Child("乐乐", date(2020, 12, 4), "boy")],
        last_purchase_at=shanghai(START, 9),
    )
    return simulate([member], [], [], [], book, START, 60, ZONE)


def test_table_json_and_csv(book: RuleBook) -> None:
    rows = _sample_rows(book)
    table = format_table(rows).splitlines()
    assert table[0].split()[:7] == ["DATE", "UTC", "LOCAL", "MEMBER", "RULE", "CHANNEL", "STATUS"]
    assert len(table) == 3
    assert table[1].index("m-out") == table[2].index("m-out")  # aligned
    assert "suppressed (no marketing consent)" in table[1]
    data = json.loads(format_json(rows))
    assert data[0]["date"] == "2026-12-01"
    assert data[0]["due_utc"] == "2026-12-01T02:00:00Z"
    assert data[0]["due_local"] == "2026-12-01T10:00:00+08:00"
    assert data[0]["status"] == "suppressed"
    assert data[0]["reason"] == "no marketing consent"
    parsed = list(csv.DictReader(io.StringIO(format_csv(rows))))
    assert [r["rule"] for r in parsed] == ["child_birthday", "dormant_45d"]
    assert parsed[1]["text"].startswith("好久不见")


def _options(**overrides: Any) -> Options:
    values: dict[str, Any] = {
        "days": 60,
        "start": START,
        "source": str(DATA / "snapshot"),
        "stack_file": Path("/nonexistent/stack.json"),
        "fmt": "json",
        "rules": [],
        "members": [],
        "rules_file": None,
        "store_zone": ZONE,
        "phone_region": "CN",
        "include_dropped": False,
    }
    values.update(overrides)
    return Options(**values)


def test_run_on_the_sample_csv_directory() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(_options(), out, err) == 0
    rows = json.loads(out.getvalue())
    rules = Counter(r["rule"] for r in rows)
    assert rules["new_arrivals"] == 3
    assert {"child_birthday", "cross_sell", "repurchase", "coupon_expiring", "points_expiring"} <= set(rules)
    m002 = [r for r in rows if r["member_id"] == "M002"]
    assert {r["status"] for r in m002 if r["rule"] in ("dormant_45d", "winback_90d")} == {"suppressed"}
    # points.csv: 300 earned, 100 redeemed → 200 left on the lot expiring 2026-12-31.
    (points,) = [r for r in rows if r["rule"] == "points_expiring"]
    assert "200积分" in points["text"]
    assert "member-days/s" in err.getvalue()
    assert "3 members x 60 days = 180 member-days" in err.getvalue()


def test_run_filters_members_and_rules() -> None:
    out, err = io.StringIO(), io.StringIO()
    run(_options(members=["M003", "M999"], rules=["child_birthday"], fmt="csv"), out, err)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["member_id"], r["rule"], r["date"]) for r in parsed] == [("M003", "child_birthday", "2026-12-17")]
    assert "not in the snapshot: M999" in err.getvalue()


def test_run_rejects_an_unknown_rule_and_a_missing_stack_file() -> None:
    with pytest.raises(CliError, match="not in the rule book"):
        run(_options(rules=["birthday"]), io.StringIO(), io.StringIO())
    with pytest.raises(CliError, match="not found"):
        run(_options(source="stack"), io.StringIO(), io.StringIO())
    with pytest.raises(CliError, match="not a directory"):
        run(_options(source=str(DATA / "nope")), io.StringIO(), io.StringIO())


def test_the_cli_verb(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--days", "30", "--from", "2026-12-01", "--source", str(DATA / "snapshot"), "--csv"])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("date,due_utc,due_local,member_id,rule,channel,status,reason,text")
    assert "member-days/s" in captured.err
    assert main(["simulate", "--days", "3", "--from", "12/01/2026", "--source", str(DATA / "snapshot")]) == 1
    assert "--from 12/01/2026" in capsys.readouterr().err
