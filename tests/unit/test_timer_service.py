"""TimerService with in-memory stores, wired as ``chalicelib/bootstrap.py`` wires it (LifecycleService
underneath, ActivityService on top), driven the way production drives it: the schedule releases due
timers (``release_due(now)``), the timer queue's consumer fires whatever was released
(``fire(keys, at)``). Day by day, every rule fires once, for the member it concerns, and only once."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.ids import message_id
from chalicelib.domain.model import (
    Channel,
    Child,
    Consent,
    Coupon,
    Member,
    Message,
    Order,
    OrderItem,
    PointsLot,
    PointsTxn,
    Product,
    StoredValue,
)
from chalicelib.domain.points import apply_txn
from chalicelib.domain.rulebook import RuleBook, load_rule_book
from chalicelib.domain.timers import Timer
from chalicelib.ports import StoredTimer
from chalicelib.services.timers import FIRST_SWEEP_HOURS, TimerService
from tests.fakes import FakeAdapters, fake_app, member

BOOK = load_rule_book()
STORE_ZONE = "Asia/Shanghai"
PROVIDERS = {Channel.SMS: "aliyun", Channel.IM: "agora"}
START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
TICK_HOUR = 2  # the daily sweep runs at 02:00 UTC (10:00 in Shanghai)

PUZZLE = Product("PZ-1", "森林拼图", category="puzzle")
FRAME = Product("ACC-1", "拼图框", category="accessory", accessory_of=("puzzle",))
OCEAN = Product("PZ-2", "海洋拼图", category="puzzle")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def disabled(book: RuleBook, *rule_ids: str) -> RuleBook:
    rules = {k: dataclasses.replace(v, enabled=False) if k in rule_ids else v for k, v in book.rules.items()}
    return RuleBook(book.store, rules)


class World:
    """The services over fakes, plus the schedule's loop."""

    def __init__(self, book: RuleBook = BOOK, products: tuple[Product, ...] = (PUZZLE, FRAME, OCEAN)) -> None:
        self.book = book
        self.fakes = fakes = FakeAdapters()
        fakes.catalog.add(*products)
        self.members, self.messages, self.sends = fakes.members, fakes.messages, fakes.send_queue
        self.timers, self.queue, self.catalog, self.audience = (
            fakes.timers,
            fakes.timer_queue,
            fakes.catalog,
            fakes.audience,
        )
        self.logged: list[tuple[str, dict[str, object]]] = []
        self.app = fake_app(
            fakes, book, self.log, sms_provider="aliyun", im_provider="agora", store_timezone=STORE_ZONE
        )
        self.lifecycle = self.app.lifecycle
        self.service = self.app.timers
        self.activity = self.app.engine
        self.fire_counts: Counter[str] = Counter()
        self.batches: list[tuple[datetime, list[tuple[str, str]]]] = []

    def log(self, msg: str, **fields: object) -> None:
        self.logged.append((msg, fields))

    def timer_service(self, book: RuleBook) -> TimerService:
        """The timer service of an app reading ``book`` (an edited rules.toml, redeployed) over the same stores."""
        app = fake_app(
            self.fakes, book, self.log, sms_provider="aliyun", im_provider="agora", store_timezone=STORE_ZONE
        )
        service: TimerService = app.timers
        return service

    # -- what the stream handlers do ---------------------------------------------------------------
    def join(self, m: Member, at: datetime) -> None:
        self.members.save(m)
        self.activity.member_changed(None, self.get(m.member_id), at)

    def change(self, member_id: str, at: datetime, **fields: object) -> None:
        old = self.get(member_id)
        self.members.save(dataclasses.replace(old, **fields))  # type: ignore[arg-type]
        self.activity.member_changed(old, self.get(member_id), at)

    def buy(self, member_id: str, order_id: str, at: datetime, *skus: str) -> None:
        old = self.get(member_id)
        order = Order(member_id, order_id, at, tuple(OrderItem(s, 1, 59.0) for s in skus), 59.0 * len(skus))
        assert self.members.add_order(order, dataclasses.replace(old, last_purchase_at=at))
        self.activity.member_changed(old, self.get(member_id), at)
        self.activity.order_recorded(order, at)

    def points(self, member_id: str, txn_id: str, delta: int, at: datetime, expires_on: date | None = None) -> None:
        old = self.get(member_id)
        txn = PointsTxn(member_id, txn_id, delta, "purchase", expires_on, at)
        assert self.members.add_points(txn, dataclasses.replace(old, points_lots=apply_txn(old.points_lots, txn)))
        self.activity.member_changed(old, self.get(member_id), at)
        self.activity.points_recorded(txn, at)

    def coupon(self, member_id: str, coupon_id: str, expires_on: date, at: datetime) -> None:
        coupon = Coupon(member_id, coupon_id, "满100减20", 20.0, expires_on, at)
        assert self.members.add_coupon(coupon)
        self.activity.coupon_issued(coupon, at)

    def get(self, member_id: str) -> Member:
        got = self.members.get(member_id)
        assert got is not None
        return got

    # -- what the schedule and the timer queue's consumer do ----------------------------------------
    def tick(self, now: datetime) -> dict[str, int]:
        released = self.service.release_due(now)
        for at, keys in self.queue.drain():
            self.batches.append((at, keys))
            self.fire_counts.update(self.service.fire(keys, at))
        return released

    def run_days(self, first: date, last: date, hooks: dict[date, Callable[[], None]] | None = None) -> None:
        day = first
        while day <= last:
            if hooks and day in hooks:
                hooks[day]()
            self.tick(datetime(day.year, day.month, day.day, TICK_HOUR, tzinfo=UTC))
            day += timedelta(days=1)

    # -- what happened -----------------------------------------------------------------------------
    def sent(self, member_id: str | None = None, rule: str | None = None) -> list[Message]:
        return sorted(
            (
                m
                for m in self.messages.messages.values()
                if (member_id is None or m.member_id == member_id) and (rule is None or m.trigger == rule)
            ),
            key=lambda m: m.created_at,
        )

    def tally(self) -> Counter[tuple[str, str]]:
        return Counter((m.member_id, m.trigger) for m in self.messages.messages.values())

    def slot(self, member_id: str, key: str) -> StoredTimer:
        stored = self.timers.get(member_id, key)
        assert stored is not None, f"no timer in slot {key}"
        return stored


def alice(**fields: object) -> Member:
    """Shanghai; a daughter turning 6 on 2026-12-10; 120 points expiring 2027-01-31; 200 stored value
    expiring 2027-01-15; likes lego; consents to marketing."""
    values: dict[str, object] = {
        "timezone": "Asia/Shanghai",
        "tier": "regular",
        "children": [Child("小红", date(2020, 12, 10), "girl")],
        "points_lots": [PointsLot("t1", 120, date(2027, 1, 31))],
        "stored_value": StoredValue(200.0, date(2027, 1, 15)),
        "tags": ["lego"],
        "consent": Consent(marketing=True),
    }
    values.update(fields)
    return member("m-a", **values)


def bob() -> Member:
    """Kiritimati; no children, no points, no purchases: nothing date-based concerns him."""
    return member("m-b", timezone="Pacific/Kiritimati", consent=Consent(marketing=True), phone="+8613800138001")


def cara() -> Member:
    """Pago Pago; a son born on 2 January, so his birthday reminder falls in the previous December."""
    return member(
        "m-c",
        timezone="Pacific/Pago_Pago",
        children=[Child("小明", date(2021, 1, 2), "boy")],
        consent=Consent(marketing=True),
        phone="+8613800138002",
    )


# -- the whole journey -------------------------------------------------------------------------------


def three_months() -> World:
    world = World()
    # Given three members joining, and Alice's activity on the first morning
    world.join(alice(), START + timedelta(minutes=5))
    world.join(bob(), START + timedelta(minutes=6))
    world.join(cara(), START + timedelta(minutes=7))
    world.buy("m-a", "O1", START + timedelta(minutes=20), "PZ-1")
    world.points("m-a", "P1", 50, START + timedelta(minutes=30))
    world.coupon("m-a", "C1", date(2026, 12, 20), START + timedelta(minutes=40))
    world.change("m-a", START + timedelta(minutes=50), tier="silver")
    # And a new lego set for girls of 3-8 arriving on 2026-11-25
    arrival = Product(
        "NEW-1", "乐高公主城堡", age_min_months=36, age_max_months=96, gender="girl", tags=("lego",),
        arrived_on=date(2026, 11, 25),
    )  # fmt: skip

    def arrives() -> None:
        world.catalog.add(arrival)
        world.activity.product_changed(None, arrival, utc(2026, 11, 24, 12, 0))

    # When the schedule runs every day for three months
    world.run_days(date(2026, 11, 22), date(2027, 2, 25), {date(2026, 11, 24): arrives})
    return world


@pytest.fixture(scope="module")
def journey() -> World:
    return three_months()


class TestEveryRuleFiresOnceForItsMember:
    def test_each_rule_fired_exactly_once_for_the_member_it_concerns(self, journey: World) -> None:
        assert journey.tally() == Counter(
            {
                ("m-a", rule): 1
                for rule in (
                    "welcome",
                    "points_changed",
                    "coupon_issued",
                    "tier_upgraded",
                    "post_purchase_care",
                    "cross_sell",
                    "repurchase",
                    "new_arrivals",
                    "coupon_expiring",
                    "child_birthday",
                    "points_expiring",
                    "balance_expiring",
                    "dormant_45d",
                    "winback_90d",
                )
            }
            | {("m-b", "welcome"): 1, ("m-c", "welcome"): 1, ("m-c", "child_birthday"): 1}
        )

    @pytest.mark.parametrize(
        ("member_id", "rule", "occurrence", "decided"),
        [
            ("m-a", "post_purchase_care", "O1", utc(2026, 11, 23, 2)),  # due 24 h after 00:20, next sweep
            ("m-a", "new_arrivals", "NEW-1", utc(2026, 11, 25, 2)),
            ("m-a", "cross_sell", "O1:PZ-1", utc(2026, 12, 6, 2)),
            ("m-a", "repurchase", "O1:puzzle", utc(2026, 12, 6, 2)),
            ("m-a", "child_birthday", "0:小红:2026", utc(2026, 12, 7, 2)),
            ("m-a", "coupon_expiring", "C1", utc(2026, 12, 17, 2)),
            ("m-a", "dormant_45d", "2026-11-22", utc(2027, 1, 6, 2)),
            ("m-a", "balance_expiring", "2027-01-15", utc(2027, 1, 8, 2)),
            ("m-a", "points_expiring", "t1", utc(2027, 1, 28, 2)),
            ("m-a", "winback_90d", "2026-11-22", utc(2027, 2, 20, 2)),
            ("m-c", "child_birthday", "0:小明:2027", utc(2026, 12, 31, 2)),  # due 21:00 UTC on 30 Dec
        ],
    )
    def test_each_timer_fired_at_the_first_sweep_after_its_due_time(
        self, journey: World, member_id: str, rule: str, occurrence: str, decided: datetime
    ) -> None:
        [message] = journey.sent(member_id, rule)
        assert message.occurrence == occurrence
        assert message.message_id == message_id(member_id, rule, occurrence)
        assert message.created_at == decided

    def test_the_facts_reach_the_text(self, journey: World) -> None:
        [birthday] = journey.sent("m-a", "child_birthday")
        assert "小红6岁生日" in birthday.text
        assert "乐高公主城堡" in birthday.text  # an age-fit pick for a 6-year-old girl
        [points] = journey.sent("m-a", "points_changed")
        assert "当前余额170" in points.text
        [care] = journey.sent("m-a", "post_purchase_care")
        assert "森林拼图" in care.text

    def test_nothing_was_dropped_and_every_release_fired(self, journey: World) -> None:
        assert journey.fire_counts["dropped"] == 0
        assert journey.fire_counts["skipped"] == 0
        assert journey.fire_counts["fired"] == 11  # ten of Alice's timers and Cara's birthday

    def test_the_fired_birthday_is_remembered_and_next_years_is_pending(self, journey: World) -> None:
        stored = journey.slot("m-a", "child_birthday#child0")
        assert stored.status == "pending"
        assert stored.timer.occurrence == "0:小红:2027"
        assert stored.timer.due_at == utc(2027, 12, 7, 2)
        assert stored.fired == ("0:小红:2026",)

    def test_replaying_every_day_and_every_batch_adds_nothing(self) -> None:
        journey = three_months()
        before = journey.tally()
        queued = len(journey.sends.ids)
        for at, keys in journey.batches:
            assert journey.service.fire(keys, at) == {"fired": 0, "dropped": 0, "skipped": len(keys)}
        journey.run_days(date(2026, 11, 22), date(2027, 2, 25))
        assert journey.tally() == before
        assert len(journey.sends.ids) == queued


# -- re-running, purchases, birthdays ------------------------------------------------------------------


def test_re_running_the_same_sweep_adds_nothing() -> None:
    world = World()
    world.join(alice(), START)
    day = utc(2026, 12, 7, TICK_HOUR)
    first = world.tick(day)
    assert first["due"] == 1
    assert len(world.sent("m-a", "child_birthday")) == 1
    # When the schedule runs again for the same moment (an EventBridge retry, a manual run-schedule)
    again = world.tick(day)
    # Then nothing is due and nothing is sent
    assert again["due"] == 0
    assert len(world.sent("m-a", "child_birthday")) == 1
    # And firing the same keys again (SQS redelivery) is skipped
    assert world.service.fire([("m-a", "child_birthday#child0")], day) == {"fired": 0, "dropped": 0, "skipped": 1}


def test_a_purchase_before_the_dormant_date_moves_the_wake_up() -> None:
    # Given Alice last bought on 2026-11-01: dormant_45d due 2026-12-16
    world = World()
    world.join(alice(last_purchase_at=utc(2026, 11, 1, 3)), START)
    assert world.slot("m-a", "dormant_45d#last_purchase").timer.due_at == utc(2026, 12, 16, 2)
    # When she buys again on 2026-12-01 (her record changes; the stream reconciles her timers)
    world.run_days(
        date(2026, 11, 22),
        date(2027, 1, 20),
        {date(2026, 12, 1): lambda: world.buy("m-a", "O2", utc(2026, 12, 1, 1), "PZ-2")},
    )
    # Then there was no dormant message on 2026-12-16, and one on 2027-01-15 for the new purchase
    [dormant] = world.sent("m-a", "dormant_45d")
    assert dormant.occurrence == "2026-12-01"
    assert dormant.created_at == utc(2027, 1, 15, 2)
    # (the old timer was replaced when she bought, not left to be dropped on the old date)
    assert [f for msg, f in world.logged if msg == "timer dropped" and f["timer"] == "dormant_45d#last_purchase"] == []


def dropped_reasons(world: World) -> dict[str, str | None]:
    return {str(f["timer"]): f["reason"] for msg, f in world.logged if msg == "timer dropped"}  # type: ignore[misc]


def test_a_purchase_seen_only_at_firing_time_drops_the_old_wake_up_with_a_reason() -> None:
    # Given the dormant timer for 2026-11-01, and a purchase written without its reconcile having run yet
    world = World()
    world.join(alice(last_purchase_at=utc(2026, 11, 1, 3)), START)
    world.members.save(dataclasses.replace(world.get("m-a"), last_purchase_at=utc(2026, 12, 1, 1)))
    # When the old timer comes due
    world.tick(utc(2026, 12, 16, 2))
    # Then it is dropped, saying why, and nothing is sent
    assert world.sent("m-a", "dormant_45d") == []
    assert "2026-11-01" in world.slot("m-a", "dormant_45d#last_purchase").fired
    assert dropped_reasons(world) == {"dormant_45d#last_purchase": "bought again on 2026-12-01"}


def test_the_birthday_fires_once_a_year_and_each_year_once() -> None:
    world = World()
    world.join(alice(), START)
    world.run_days(date(2026, 12, 5), date(2026, 12, 9))
    # A year later (the sweep after a long pause looks back 72 hours: the timer is due in that window)
    world.tick(utc(2027, 12, 7, TICK_HOUR))
    world.tick(utc(2027, 12, 8, TICK_HOUR))
    assert [m.occurrence for m in world.sent("m-a", "child_birthday")] == ["0:小红:2026", "0:小红:2027"]
    stored = world.slot("m-a", "child_birthday#child0")
    assert stored.fired == ("0:小红:2026", "0:小红:2027")
    assert (stored.status, stored.timer.occurrence) == ("pending", "0:小红:2028")


def test_a_new_years_birthday_fired_in_december_leaves_next_years_scheduled() -> None:
    # Given Cara in Pago Pago, whose son turns 6 on 2027-01-02: reminded at 10:00 on 2026-12-30 local
    world = World()
    world.join(cara(), START)
    world.run_days(date(2026, 12, 29), date(2027, 1, 3))
    [message] = world.sent("m-c", "child_birthday")
    assert message.occurrence == "0:小明:2027"
    # Then the 2028 birthday is already pending in the slot (nothing else will recompute it for a quiet member)
    stored = world.slot("m-c", "child_birthday#child0")
    assert stored.fired == ("0:小明:2027",)
    assert (stored.status, stored.timer.occurrence) == ("pending", "0:小明:2028")


# -- gaps between sweeps --------------------------------------------------------------------------------


class TestAGapBetweenSweeps:
    @pytest.fixture
    def world(self) -> World:
        # Given, on 2026-12-20, Alice's points expiring 12-24 (reminder due 12-21, stale after 48 h),
        # her stored value expiring 12-31 (due 12-24, stale after 72 h), her daughter's birthday on 12-25
        # (due 12-22, stale after 48 h), and an order whose care check is due 12-21 01:00 (stale after 24 h)
        world = World()
        world.join(
            alice(
                children=[Child("小红", date(2020, 12, 25), "girl")],
                points_lots=[PointsLot("t1", 120, date(2026, 12, 24))],
                stored_value=StoredValue(200.0, date(2026, 12, 31)),
            ),
            utc(2026, 12, 20, 0),
        )
        world.buy("m-a", "O1", utc(2026, 12, 20, 1), "PZ-2")
        world.tick(utc(2026, 12, 20, 2))
        return world

    def test_the_next_sweep_finds_every_timer_in_the_gap_and_drops_the_stale_with_a_reason(self, world: World) -> None:
        # When the schedule does not run again until five days later
        released = world.tick(utc(2026, 12, 25, 2))
        # Then the sweep starts where the last one stopped and all four timers are found
        assert released["swept_from"] == int(utc(2026, 12, 20, 2).timestamp())
        assert released["due"] == 4
        # The balance reminder (24 h late, within 72 h) fires
        assert [m.occurrence for m in world.sent("m-a", "balance_expiring")] == ["2026-12-31"]
        # The others are dropped, each saying how late it was
        dropped = dropped_reasons(world)
        assert dropped == {
            "points_expiring#t1": "stale: 96 h overdue (stale_after 48 h)",
            "child_birthday#child0": "stale: 72 h overdue (stale_after 48 h)",
            "post_purchase_care#O1": "stale: 97 h overdue (stale_after 24 h)",
        }
        for key in ("points_expiring#t1", "post_purchase_care#O1"):
            assert world.slot("m-a", key).status == "dropped"
            assert world.slot("m-a", key).reason == dropped[key]
        # (the birthday slot already holds next year's: the balance reminder's firing recomputed it)
        assert world.slot("m-a", "child_birthday#child0").fired == ("0:小红:2026",)
        assert world.sent("m-a", "points_expiring") == []
        assert world.sent("m-a", "child_birthday") == []
        assert world.sent("m-a", "post_purchase_care") == []
        assert any(msg == "timer dropped" for msg, _ in world.logged)

    def test_a_dropped_occurrence_is_never_sent_later(self, world: World) -> None:
        world.tick(utc(2026, 12, 25, 2))
        world.change("m-a", utc(2026, 12, 26, 0), name="王小红妈妈")  # a reconcile
        world.run_days(date(2026, 12, 26), date(2027, 1, 5))
        assert world.sent("m-a", "points_expiring") == []
        assert world.sent("m-a", "child_birthday") == []


def test_after_a_stale_birthday_is_dropped_next_years_is_scheduled() -> None:
    # Given a member whose only date-based timer is her daughter's birthday (due 2026-12-22 10:00)
    world = World()
    world.join(
        alice(children=[Child("小红", date(2020, 12, 25), "girl")], points_lots=[], stored_value=None),
        utc(2026, 12, 20, 0),
    )
    world.tick(utc(2026, 12, 20, 2))
    # When the schedule is down until 2026-12-25 and the birthday is dropped as stale
    world.tick(utc(2026, 12, 25, 2))
    stored = world.slot("m-a", "child_birthday#child0")
    assert stored.fired == ("0:小红:2026",)
    # Then, as after a firing, the slot moves on to next year's birthday: a quiet member whose record
    # never changes must not lose every later birthday because one sweep was missed
    assert (stored.status, stored.timer.occurrence) == ("pending", "0:小红:2027")


def test_a_member_change_during_an_outage_does_not_discard_an_overdue_timer_without_a_reason() -> None:
    # Given Alice's points reminder due 2026-12-21 10:00 (stale after 48 h) and a sweep on 12-20
    world = World()
    world.join(
        alice(children=[], points_lots=[PointsLot("t1", 120, date(2026, 12, 24))], stored_value=None),
        utc(2026, 12, 20, 0),
    )
    world.tick(utc(2026, 12, 20, 2))
    # When the schedule is down until 12-25, and meanwhile her record changes (a reconcile on 12-24)
    world.change("m-a", utc(2026, 12, 24, 6), name="王小红妈妈")
    world.tick(utc(2026, 12, 25, 2))
    # Then the overdue reminder is still dropped with a reason (not silently deleted by the reconcile)
    assert dropped_reasons(world) == {"points_expiring#t1": "stale: 96 h overdue (stale_after 48 h)"}
    assert world.slot("m-a", "points_expiring#t1").status == "dropped"


# -- the watermark -----------------------------------------------------------------------------------


def epoch(at: datetime) -> int:
    return int(at.timestamp())


class TestWatermark:
    def test_the_first_sweep_looks_back_72_hours_and_sets_the_watermark(self) -> None:
        world = World()
        assert world.timers.watermark() is None
        now = utc(2026, 11, 22, 8, 30)
        released = world.service.release_due(now)
        assert FIRST_SWEEP_HOURS == 72
        assert released == {"swept_from": epoch(now - timedelta(hours=72)), "due": 0, "sqs_requests": 0}
        assert world.timers.watermark() == now

    def test_later_sweeps_start_where_the_last_one_stopped(self) -> None:
        world = World()
        world.service.release_due(utc(2026, 11, 22, 8, 30))
        assert world.service.release_due(utc(2026, 11, 22, 9, 0))["swept_from"] == epoch(utc(2026, 11, 22, 8, 30))
        assert world.service.release_due(utc(2026, 11, 22, 9, 45))["swept_from"] == epoch(utc(2026, 11, 22, 9, 0))
        assert world.timers.watermark() == utc(2026, 11, 22, 9, 45)

    def test_a_sweep_for_the_same_or_an_earlier_moment_looks_back_and_moves_the_watermark_there(self) -> None:
        world = World()
        now = utc(2026, 11, 22, 8)
        world.service.release_due(now)
        # the same moment again, or an earlier one (run-schedule --at, replaying the past), looks back
        # the whole catch-up window: timers written since for times before the watermark are found
        assert world.service.release_due(now)["swept_from"] == epoch(now - timedelta(hours=24 * 35))
        earlier = utc(2026, 11, 20, 8)
        assert world.service.release_due(earlier)["swept_from"] == epoch(earlier - timedelta(hours=24 * 35))
        assert world.timers.watermark() == earlier  # so the next sweep starts from the replayed moment

    def test_a_watermark_older_than_the_catch_up_window_is_ignored(self) -> None:
        world = World()
        world.service.release_due(utc(2026, 11, 22, 8))
        later = utc(2028, 1, 1, 8)  # more than 400 days later: past the catch-up window
        assert world.service.release_due(later)["swept_from"] == epoch(later - timedelta(hours=72))
        assert world.timers.watermark() == later

    def test_a_pause_of_weeks_is_swept_from_the_watermark(self) -> None:
        world = World()
        world.service.release_due(utc(2026, 11, 22, 8))
        later = utc(2027, 1, 1, 8)  # 40 days later: every hour since is swept; stale timers are dropped
        assert world.service.release_due(later)["swept_from"] == epoch(utc(2026, 11, 22, 8))

    def test_a_timer_written_past_due_after_a_sweep_is_found_by_the_next(self) -> None:
        # Given a sweep at 08:00
        world = World()
        world.join(alice(), utc(2026, 11, 22, 7))
        world.tick(utc(2026, 11, 22, 8))
        # When at 08:20 a coupon expiring on 11-24 is issued: its reminder was due 11-21 10:00 (22 h ago)
        world.coupon("m-a", "C9", date(2026, 11, 24), utc(2026, 11, 22, 8, 20))
        assert world.timers.fire_at[("m-a", "coupon_expiring#C9")] == utc(2026, 11, 22, 8, 21)
        # Then the 09:00 sweep releases it and it fires
        assert world.tick(utc(2026, 11, 22, 9))["due"] == 1
        assert [m.occurrence for m in world.sent("m-a", "coupon_expiring")] == ["C9"]

    def test_a_timer_stamped_just_before_a_sweep_but_written_after_it_is_not_lost(self) -> None:
        # Given the 11:00 sweep has run
        world = World()
        world.join(alice(), utc(2026, 11, 22, 7))
        world.tick(utc(2026, 11, 22, 11))
        # When the stream delivers, just after that sweep, a coupon issued at 10:59:59 (its record time)
        # whose reminder was due yesterday
        world.coupon("m-a", "C9", date(2026, 11, 24), utc(2026, 11, 22, 10, 59, 59))
        # Then the next sweep releases it
        world.tick(utc(2026, 11, 22, 12))
        assert [m.occurrence for m in world.sent("m-a", "coupon_expiring")] == ["C9"]

    def test_a_past_due_timer_from_a_stream_record_handled_late_is_not_lost(self) -> None:
        # Given the 11:00 sweep has run
        world = World()
        world.join(alice(), utc(2026, 11, 22, 7))
        world.tick(utc(2026, 11, 22, 11))
        # When a stream record created at 10:50 is handled only after that sweep (a retried batch: the
        # handler's "now" is the record's creation time), carrying a coupon whose reminder is already due
        world.timers.wall = lambda: utc(2026, 11, 22, 11, 5)  # handled at 11:05
        world.coupon("m-a", "C9", date(2026, 11, 24), utc(2026, 11, 22, 10, 50))
        assert world.slot("m-a", "coupon_expiring#C9").status == "pending"
        # Then a later sweep still releases it: its firing time follows the write (11:06), not the
        # record (10:51, behind the 11:00 watermark, where no sweep would ever read it)
        world.run_days(date(2026, 11, 23), date(2026, 11, 23))
        assert [m.occurrence for m in world.sent("m-a", "coupon_expiring")] == ["C9"]

    def test_a_timer_not_yet_due_at_a_sweep_is_released_by_the_next(self) -> None:
        world = World()
        world.join(alice(), utc(2026, 11, 22, 7))
        facts = {"coupon": {"id": "C1", "title": "满100减20", "value": 20, "expires_on": "2026-11-25"}}
        timer = Timer("m-a", "coupon_expiring#C1", "coupon_expiring", "C1", utc(2026, 11, 22, 9, 30), facts)
        world.service.schedule("m-a", [timer], START)
        assert world.tick(utc(2026, 11, 22, 9, 0))["due"] == 0
        assert world.tick(utc(2026, 11, 22, 9, 30))["due"] == 1
        assert world.tick(utc(2026, 11, 22, 10, 0))["due"] == 0


# -- dropping --------------------------------------------------------------------------------------------


def test_a_rule_disabled_in_the_book_drops_its_timers_with_a_reason() -> None:
    # Given Alice's points reminder scheduled while the rule was on
    world = World()
    world.join(alice(), START)
    # When the book is redeployed with points_expiring disabled and the reminder comes due
    world.service = world.timer_service(disabled(BOOK, "points_expiring"))
    world.tick(utc(2027, 1, 28, 2))
    # Then the timer is dropped, saying why, and nothing is sent
    stored = world.slot("m-a", "points_expiring#t1")
    assert (stored.status, stored.reason) == ("dropped", "rule disabled")
    assert world.sent("m-a", "points_expiring") == []


def test_a_timer_for_a_member_who_no_longer_exists_is_dropped_and_deleted() -> None:
    world = World()
    world.join(alice(), START)
    world.members.delete("m-a")
    world.tick(utc(2026, 12, 7, 2))
    # Nothing to remember for a member who is gone (erased), and a timer's facts name the child.
    assert world.timers.get("m-a", "child_birthday#child0") is None
    assert world.sent("m-a", "child_birthday") == []


def test_a_timer_fired_before_its_due_time_is_skipped() -> None:
    world = World()
    world.join(alice(), START)
    counts = world.service.fire([("m-a", "child_birthday#child0"), ("m-a", "no-such#slot")], utc(2026, 12, 7, 1))
    assert counts == {"fired": 0, "dropped": 0, "skipped": 2}
    assert world.slot("m-a", "child_birthday#child0").status == "pending"


# -- reconcile_member and schedule on their own ----------------------------------------------------------


def test_reconcile_is_idempotent_and_cancels_a_used_up_points_lot() -> None:
    world = World()
    world.join(alice(), START)
    assert world.service.reconcile_member(world.get("m-a"), START) == {"scheduled": 0, "cancelled": 0}
    # When the lot is used up
    world.change("m-a", START + timedelta(hours=1), points_lots=[])
    # Then its reminder is gone
    assert world.timers.get("m-a", "points_expiring#t1") is None


def test_schedule_never_re_adds_a_fired_occurrence() -> None:
    world = World()
    world.join(alice(), START)
    world.buy("m-a", "O1", utc(2026, 11, 22, 0, 20), "PZ-1")
    world.run_days(date(2026, 11, 22), date(2026, 11, 23))
    assert len(world.sent("m-a", "post_purchase_care")) == 1
    # When the order's stream record is replayed (follow-ups recomputed and scheduled again)
    order = world.members.get_order("m-a", "O1")
    assert order is not None
    assert world.activity.order_recorded(order, utc(2026, 11, 23, 3)) == 0
    assert world.slot("m-a", "post_purchase_care#O1").status == "fired"
