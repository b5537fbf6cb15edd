"""The rule engine (services/engine.py): orders, points, coupons and products as they are recorded →
immediate messages and follow-up timers, over the in-memory stores, wired through ``bootstrap``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.model import (
    Channel,
    Child,
    Consent,
    Coupon,
    Member,
    Message,
    MessageStatus,
    Order,
    OrderItem,
    PointsLot,
    PointsTxn,
    Product,
)
from chalicelib.domain.points import apply_txn
from chalicelib.domain.rulebook import load_rule_book
from tests.fakes import FakeAdapters, fake_app, member

BOOK = load_rule_book()
STORE_ZONE = "Asia/Shanghai"
PROVIDERS = {Channel.SMS: "aliyun", Channel.IM: "agora"}
START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)

PUZZLE = Product("PZ-1", "森林拼图", category="puzzle")
OCEAN = Product("PZ-2", "海洋拼图", category="puzzle")
FRAME = Product("ACC-1", "拼图框", category="accessory", accessory_of=("puzzle",))
BLOCKS = Product("BL-1", "积木桶", category="blocks")
CASTLE = Product(
    "NEW-1", "公主城堡", age_min_months=36, age_max_months=72, gender="girl", tags=("lego",),
    arrived_on=date(2026, 11, 25),
)  # fmt: skip


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class World:
    """The app wired through ``bootstrap`` with fakes; ``service`` is its rule engine."""

    def __init__(self) -> None:
        fakes = FakeAdapters()
        fakes.catalog.add(PUZZLE, OCEAN, FRAME, BLOCKS)
        self.app = fake_app(fakes, BOOK, sms_provider="aliyun", im_provider="agora", store_timezone=STORE_ZONE)
        self.members, self.messages, self.sends = fakes.members, fakes.messages, fakes.send_queue
        self.timers, self.queue, self.catalog, self.audience = (
            fakes.timers,
            fakes.timer_queue,
            fakes.catalog,
            fakes.audience,
        )
        self.lifecycle = self.app.lifecycle
        self.timer_service = self.app.timers
        self.service = self.app.engine

    def join(self, m: Member, at: datetime = START) -> None:
        self.members.save(m)
        self.service.member_changed(None, self.get(m.member_id), at)

    def change(self, member_id: str, at: datetime, **fields: object) -> None:
        old = self.get(member_id)
        self.members.save(dataclasses.replace(old, **fields))  # type: ignore[arg-type]
        self.service.member_changed(old, self.get(member_id), at)

    def order(self, member_id: str, order_id: str, at: datetime, *skus: str) -> tuple[Order, int]:
        """The order written (with the member's last purchase), then both stream records handled."""
        old = self.get(member_id)
        order = Order(member_id, order_id, at, tuple(OrderItem(s, 1, 59.0) for s in skus), 59.0 * len(skus))
        assert self.members.add_order(order, dataclasses.replace(old, last_purchase_at=at))
        self.service.member_changed(old, self.get(member_id), at)
        return order, self.service.order_recorded(order, at)

    def points(self, member_id: str, txn_id: str, delta: int, at: datetime) -> tuple[PointsTxn, int]:
        old = self.get(member_id)
        txn = PointsTxn(member_id, txn_id, delta, "purchase", None, at)
        assert self.members.add_points(txn, dataclasses.replace(old, points_lots=apply_txn(old.points_lots, txn)))
        self.service.member_changed(old, self.get(member_id), at)
        return txn, self.service.points_recorded(txn, at)

    def get(self, member_id: str) -> Member:
        got = self.members.get(member_id)
        assert got is not None
        return got

    def tick(self, now: datetime) -> None:
        self.timer_service.release_due(now)
        for at, keys in self.queue.drain():
            self.timer_service.fire(keys, at)

    def sent(self, member_id: str, rule: str) -> list[Message]:
        return [m for m in self.messages.messages.values() if m.member_id == member_id and m.trigger == rule]

    def pending(self, member_id: str) -> dict[str, tuple[str, datetime]]:
        return {key: (t.timer.occurrence, t.timer.due_at) for (_, key), t in self.timers.pending(member_id).items()}


def shopper(**fields: object) -> Member:
    values: dict[str, object] = {"timezone": "Asia/Shanghai", "consent": Consent(marketing=True)}
    values.update(fields)
    return member("m-1", **values)


@pytest.fixture
def world() -> World:
    w = World()
    w.join(shopper())
    return w


# -- orders ------------------------------------------------------------------------------------------


class TestOrders:
    def test_an_order_schedules_care_cross_sell_and_repurchase(self, world: World) -> None:
        # When an order with a puzzle (a frame is in stock for puzzles) and blocks is recorded at 08:20 local
        _, scheduled = world.order("m-1", "O1", utc(2026, 11, 22, 0, 20), "PZ-1", "BL-1")
        # Then four follow-ups are scheduled, besides the dormant/winback wake-ups of the new purchase
        assert scheduled == 4
        assert world.pending("m-1") == {
            "post_purchase_care#O1": ("O1", utc(2026, 11, 23, 0, 20)),
            "cross_sell#O1:PZ-1": ("O1:PZ-1", utc(2026, 12, 6, 2)),
            "repurchase#puzzle": ("O1:puzzle", utc(2026, 12, 6, 2)),
            "repurchase#blocks": ("O1:blocks", utc(2026, 12, 22, 2)),
            "dormant_45d#last_purchase": ("2026-11-22", utc(2027, 1, 6, 2)),
            "winback_90d#last_purchase": ("2026-11-22", utc(2027, 2, 20, 2)),
        }
        # And the catalog was read as it is now (not a cache older than the order)
        assert world.catalog.reads == 1

    def test_a_second_puzzle_order_moves_the_repurchase_slot(self, world: World) -> None:
        world.order("m-1", "O1", utc(2026, 11, 22, 0, 20), "PZ-1")
        # When the next puzzle is bought six days later
        world.order("m-1", "O2", utc(2026, 11, 28, 3), "PZ-2")
        # Then the one repurchase slot now counts from the new order; each order keeps its own care check
        pending = world.pending("m-1")
        assert pending["repurchase#puzzle"] == ("O2:puzzle", utc(2026, 12, 12, 2))
        assert {"post_purchase_care#O1", "post_purchase_care#O2"} <= set(pending)
        # And driving the days through, one repurchase message goes out, for the second order only
        for day in range(22, 31):
            world.tick(utc(2026, 11, day, 2))
        for day in range(1, 14):
            world.tick(utc(2026, 12, day, 2))
        assert [m.occurrence for m in world.sent("m-1", "repurchase")] == ["O2:puzzle"]
        assert [m.created_at for m in world.sent("m-1", "repurchase")] == [utc(2026, 12, 12, 2)]
        assert "海洋拼图" in world.sent("m-1", "repurchase")[0].text

    def test_a_replayed_order_record_schedules_nothing_more(self, world: World) -> None:
        order, _ = world.order("m-1", "O1", utc(2026, 11, 22, 0, 20), "PZ-1")
        puts = world.timers.puts
        assert world.service.order_recorded(order, utc(2026, 11, 22, 0, 21)) == 0
        assert world.timers.puts == puts

    def test_an_old_order_imported_today_schedules_no_follow_up(self, world: World) -> None:
        # Given an order from 40 days ago, recorded (imported) now
        old = Order("m-1", "OLD", utc(2026, 10, 13, 3), (OrderItem("PZ-1", 1, 59.0),), 59.0)
        # Then no "how is your new toy" 40 days late, nor a late cross-sell or repurchase reminder
        assert world.service.order_recorded(old, utc(2026, 11, 22, 3)) == 0
        assert world.pending("m-1") == {}

    def test_an_order_of_an_unknown_member_is_ignored(self, world: World) -> None:
        ghost = Order("nobody", "O1", START, (OrderItem("PZ-1", 1, 59.0),), 59.0)
        assert world.service.order_recorded(ghost, START) == 0
        assert world.timers.rows == {}


# -- points ------------------------------------------------------------------------------------------


class TestPoints:
    def test_points_send_points_changed_with_the_new_balance(self) -> None:
        world = World()
        world.join(shopper(points_lots=[PointsLot("t0", 120, date(2027, 6, 30))]))
        # When 50 points are earned
        _, sent = world.points("m-1", "P1", 50, utc(2026, 11, 22, 1))
        # Then one points_changed message, queued, with the new balance
        assert sent == 1
        [message] = world.sent("m-1", "points_changed")
        assert message.status is MessageStatus.QUEUED
        assert message.occurrence == "P1"
        assert message.text == "您的积分增加50，当前余额170。"
        # And a spend says how many were used
        world.points("m-1", "P2", -30, utc(2026, 11, 22, 2))
        texts = sorted(m.text for m in world.sent("m-1", "points_changed"))
        assert texts == ["您的积分使用30，当前余额140。", "您的积分增加50，当前余额170。"]

    def test_a_replayed_points_record_sends_nothing_more(self, world: World) -> None:
        txn, _ = world.points("m-1", "P1", 50, utc(2026, 11, 22, 1))
        assert world.service.points_recorded(txn, utc(2026, 11, 22, 1, 1)) == 0
        assert len(world.sent("m-1", "points_changed")) == 1

    def test_points_of_an_unknown_member_are_ignored(self, world: World) -> None:
        assert world.service.points_recorded(PointsTxn("nobody", "P1", 5, "x", None, START), START) == 0


# -- coupons -----------------------------------------------------------------------------------------


class TestCoupons:
    COUPON = Coupon("m-1", "C1", "满100减20", 20.0, date(2026, 12, 20), utc(2026, 11, 22, 1))

    def test_a_coupon_sends_coupon_issued_and_schedules_coupon_expiring(self, world: World) -> None:
        # one message now, one timer for later
        assert world.service.coupon_issued(self.COUPON, utc(2026, 11, 22, 1)) == 2
        [issued] = world.sent("m-1", "coupon_issued")
        assert issued.text == "您获得一张满100减20（20元），有效期至2026-12-20。"
        assert world.pending("m-1")["coupon_expiring#C1"] == ("C1", utc(2026, 12, 17, 2))
        # And it fires once, three days before the coupon expires
        for day in (16, 17, 18):
            world.tick(utc(2026, 12, day, 2))
        [expiring] = world.sent("m-1", "coupon_expiring")
        assert expiring.created_at == utc(2026, 12, 17, 2)
        assert "满100减20" in expiring.text

    def test_a_replayed_coupon_record_adds_nothing(self, world: World) -> None:
        world.service.coupon_issued(self.COUPON, utc(2026, 11, 22, 1))
        puts = world.timers.puts
        assert world.service.coupon_issued(self.COUPON, utc(2026, 11, 22, 1, 1)) == 0
        assert world.timers.puts == puts
        assert len(world.sent("m-1", "coupon_issued")) == 1

    def test_a_coupon_about_to_expire_gets_no_late_reminder(self, world: World) -> None:
        # Issued on 11-22 16:00 local, expiring 11-23: its reminder would have been due 11-20 10:00
        short = dataclasses.replace(self.COUPON, coupon_id="C2", expires_on=date(2026, 11, 23))
        assert world.service.coupon_issued(short, utc(2026, 11, 22, 8)) == 1
        assert "coupon_expiring#C2" not in world.pending("m-1")


# -- new arrivals ------------------------------------------------------------------------------------


def with_kid(member_id: str, born: date | None, gender: str = "girl", **fields: object) -> Member:
    children = [Child(f"{member_id}-kid", born, gender)] if born else []
    values: dict[str, object] = {"children": children, "consent": Consent(marketing=True), "timezone": STORE_ZONE}
    values.update(fields)
    return member(member_id, **values)


class TestNewArrivals:
    @pytest.fixture
    def town(self) -> World:
        world = World()
        for m in (
            with_kid("girl-4", date(2022, 5, 10)),  # 54 months on 2026-11-25: fits
            with_kid("boy-4", date(2022, 6, 1), "boy"),  # wrong gender
            with_kid("kid-3", date(2023, 1, 15), "unknown"),  # 46 months, gender unknown: fits
            with_kid("lego-fan", None, tags=["lego"], timezone="Pacific/Kiritimati"),  # the product's tag
            with_kid("girl-11", date(2015, 3, 3)),  # too old
            with_kid("girl-baby", date(2026, 1, 20)),  # too young
            with_kid("boy-lego", date(2022, 6, 1), "boy", tags=["lego"]),  # wrong gender, but the tag
        ):
            world.join(m)
        world.catalog.add(CASTLE)
        return world

    def test_the_audience_is_kept_from_member_changes(self, town: World) -> None:
        assert town.audience.segments["born#2022-05"] == {"girl-4": 0}
        assert town.audience.segments["tag#lego"] == {"boy-lego": None, "lego-fan": None}
        town.change("girl-4", START, children=[], tags=["books"])
        assert "girl-4" not in town.audience.segments.get("born#2022-05", {})
        assert town.audience.segments["tag#books"] == {"girl-4": None}

    def test_timers_only_for_members_whose_child_fits_or_who_have_the_tag(self, town: World) -> None:
        scheduled = town.service.product_changed(None, CASTLE, utc(2026, 11, 24, 12))
        assert scheduled == 4
        with_timer = {mid for (mid, key) in town.timers.pending() if key == "new_arrivals#NEW-1"}
        assert with_timer == {"girl-4", "kid-3", "lego-fan", "boy-lego"}
        facts = {mid: town.timers.pending(mid)[(mid, "new_arrivals#NEW-1")].timer.facts for mid in with_timer}
        assert facts["girl-4"]["child"] == {"name": "girl-4-kid", "gender": "girl"}
        assert facts["lego-fan"]["child"] is None
        assert facts["boy-lego"]["child"] is None
        # Due at 10:00 on the arrival day in each member's zone
        assert town.pending("girl-4")["new_arrivals#NEW-1"] == ("NEW-1", utc(2026, 11, 25, 2))
        assert town.pending("lego-fan")["new_arrivals#NEW-1"] == ("NEW-1", utc(2026, 11, 24, 20))

    def test_a_second_identical_update_schedules_nothing(self, town: World) -> None:
        town.service.product_changed(None, CASTLE, utc(2026, 11, 24, 12))
        puts = town.timers.puts
        assert town.service.product_changed(CASTLE, CASTLE, utc(2026, 11, 24, 13)) == 0
        assert town.service.product_changed(None, CASTLE, utc(2026, 11, 24, 13)) == 0  # a replayed insert
        assert town.timers.puts == puts

    def test_the_arrival_fires_once_per_member_with_the_childs_name(self, town: World) -> None:
        town.service.product_changed(None, CASTLE, utc(2026, 11, 24, 12))
        town.service.product_changed(CASTLE, CASTLE, utc(2026, 11, 24, 13))
        for at in (utc(2026, 11, 24, 21), utc(2026, 11, 25, 2), utc(2026, 11, 26, 2)):
            town.tick(at)
        senders = sorted(m.member_id for m in town.messages.messages.values() if m.trigger == "new_arrivals")
        assert senders == ["boy-lego", "girl-4", "kid-3", "lego-fan"]
        [girl] = town.sent("girl-4", "new_arrivals")
        assert "适合girl-4-kid这个年龄" in girl.text
        [fan] = town.sent("lego-fan", "new_arrivals")
        assert "您关注的类别" in fan.text

    def test_a_product_not_in_stock_or_without_an_arrival_day_schedules_nothing(self, town: World) -> None:
        gone = dataclasses.replace(CASTLE, in_stock=False)
        assert town.service.product_changed(None, gone, utc(2026, 11, 24, 12)) == 0
        undated = dataclasses.replace(CASTLE, arrived_on=None)
        assert town.service.product_changed(None, undated, utc(2026, 11, 24, 12)) == 0
        # Back in stock: the members it suits hear of it
        assert town.service.product_changed(gone, CASTLE, utc(2026, 11, 24, 13)) == 4

    def test_a_child_a_few_days_short_of_the_minimum_age_is_not_reached(self) -> None:
        # Given a girl born 2023-11-28: 35 months old on the arrival day 2026-11-25 (36 only on 11-28)
        world = World()
        world.join(with_kid("almost-3", date(2023, 11, 28)))
        # When a toy for 36-72 months arrives
        world.service.product_changed(None, CASTLE, utc(2026, 11, 24, 12))
        # Then she is not in its age range and gets no timer
        assert "new_arrivals#NEW-1" not in world.pending("almost-3")

    def test_a_child_at_the_maximum_age_is_reached(self) -> None:
        # Given a girl born 2020-10-28: 72 months old on the arrival day 2026-11-25 (73 only on 11-28)
        world = World()
        world.join(with_kid("just-6", date(2020, 10, 28)))
        # When a toy for 36-72 months arrives
        world.service.product_changed(None, CASTLE, utc(2026, 11, 24, 12))
        # Then she is in its age range and gets the timer
        assert "new_arrivals#NEW-1" in world.pending("just-6")


# -- restoring loaded history (memberpulse simulate's snapshot) ---------------------------------------


class TestRestore:
    """A member loaded with history that was lived elsewhere: the timers the engine would have kept,
    through the same hooks, and nothing sent for what fired at the time."""

    NOW = utc(2026, 12, 1, 0)  # the snapshot's moment: 08:00 in Shanghai

    def loaded(self, m: Member) -> World:
        world = World()
        world.members.save(m)
        return world

    def test_a_birthday_reminder_due_before_now_counts_as_fired_and_next_years_is_scheduled(self) -> None:
        # Given a boy whose 6th birthday is 2026-12-03: its reminder was due 11-30 10:00, yesterday
        world = self.loaded(shopper(children=[Child("乐乐", date(2020, 12, 3), "boy")]))
        # When his record is restored as of 12-01 08:00
        world.service.restore(world.get("m-1"), [], [], self.NOW)
        # Then this year's counts as done (not sent, never scheduled again) and next year's waits
        assert world.pending("m-1")["child_birthday#child0"] == ("0:乐乐:2027", utc(2027, 11, 30, 2))
        assert world.timers.get("m-1", "child_birthday#child0").fired == ("0:乐乐:2026",)
        assert world.messages.messages == {} and world.sends.ids == []
        world.tick(utc(2026, 12, 1, 2))
        assert world.sent("m-1", "child_birthday") == []

    def test_follow_ups_ahead_are_scheduled_the_later_order_holding_its_slot(self) -> None:
        world = self.loaded(shopper(last_purchase_at=utc(2026, 11, 25, 3)))
        early = Order("m-1", "O1", utc(2026, 11, 20, 3), (OrderItem("PZ-1", 1, 59.0),), 59.0)
        late = Order("m-1", "O2", utc(2026, 11, 25, 3), (OrderItem("PZ-2", 1, 59.0), OrderItem("BL-1", 1, 9.0)), 68.0)
        coupon = Coupon("m-1", "C1", "满100减20", 20, date(2026, 12, 10), utc(2026, 11, 25, 3))
        world.service.restore(world.get("m-1"), [late, early], [coupon], self.NOW)
        pending = world.pending("m-1")
        assert pending["repurchase#puzzle"] == ("O2:puzzle", utc(2026, 12, 9, 2))
        assert pending["cross_sell#O1:PZ-1"] == ("O1:PZ-1", utc(2026, 12, 4, 2))
        assert pending["coupon_expiring#C1"] == ("C1", utc(2026, 12, 7, 2))
        assert pending["dormant_45d#last_purchase"] == ("2026-11-25", utc(2027, 1, 9, 2))
        # The care checks were due 11-21 and 11-26: their time has passed, nothing is written
        assert not [k for k in pending if k.startswith("post_purchase_care")]
        assert world.messages.messages == {}

    def test_an_arrival_reaches_the_restored_audience_and_an_old_one_no_one(self) -> None:
        world = self.loaded(with_kid("girl-4", date(2022, 5, 10)))
        world.service.restore(world.get("girl-4"), [], [], self.NOW)
        coming = dataclasses.replace(CASTLE, arrived_on=date(2026, 12, 5))
        assert world.service.restore_arrival(coming, self.NOW) == 1
        assert world.pending("girl-4")["new_arrivals#NEW-1"] == ("NEW-1", utc(2026, 12, 5, 2))
        old = dataclasses.replace(CASTLE, sku="OLD-1", arrived_on=date(2026, 11, 20))
        assert world.service.restore_arrival(old, self.NOW) == 0
        # Arrived yesterday: its 10:00 was before the snapshot, taken as done
        yesterday = dataclasses.replace(CASTLE, sku="Y-1", arrived_on=date(2026, 11, 30))
        assert world.service.restore_arrival(yesterday, self.NOW) == 0
        assert world.messages.messages == {}
