"""Durable timers as pure values: which timers a member's record and an order call for, when they are
due (the member's own 10:00, in UTC), which occurrence they stand for, and whether they still apply
when they fire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import scheduling
from chalicelib.domain.audience import arrival_segments, member_segments
from chalicelib.domain.calendar import age_in_months, age_on
from chalicelib.domain.catalog import accessories_for, age_fit
from chalicelib.domain.model import Child, Coupon, Member, Order, OrderItem, PointsLot, Product, StoredValue
from chalicelib.domain.rulebook import RuleBook, load_rule_book
from chalicelib.domain.rules import Drop
from chalicelib.domain.timers import Timer, is_stale
from tests.fakes import member

BOOK = load_rule_book()  # the shipped defaults: lead 3 days at 10:00, balance 7 days, dormant 45/90 …
STORE_ZONE = "Asia/Shanghai"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SETTINGS = settings(derandomize=True, database=None, max_examples=120, deadline=None)
ZONES = [
    "Asia/Shanghai",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kathmandu",
]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# The rule table through its public face (``domain/scheduling.py``), named by what the tests ask.


def member_timers(
    m: Member, book: RuleBook, now: datetime, zone: str, done: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, Timer]:
    return scheduling.member_dates(m, book, now, zone, done)


def order_timers(
    o: Order, m: Member, catalog: dict[str, Product], book: RuleBook, now: datetime, zone: str
) -> dict[str, Timer]:
    return {t.key: t for t in scheduling.on_order(o, m, catalog, book, now, zone) if isinstance(t, Timer)}


def coupon_timer(c: Coupon, m: Member, book: RuleBook, now: datetime, zone: str) -> Timer | None:
    return next((t for t in scheduling.on_coupon(c, m, book, now, zone) if isinstance(t, Timer)), None)


def arrival_timer(p: Product, m: Member, book: RuleBook, now: datetime, zone: str) -> Timer | None:
    return next((t for t in scheduling.on_arrival(p, m, book, now, zone) if isinstance(t, Timer)), None)


def refresh_facts(
    t: Timer, m: Member, catalog: dict[str, Product], zone: str, picks: int | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    book = BOOK
    if picks is not None:
        rule = BOOK.rules[t.rule_id]
        book = RuleBook(BOOK.store, {**BOOK.rules, t.rule_id: replace(rule, params={**rule.params, "picks": picks})})
    verdict = scheduling.check(t, m, catalog, book, t.due_at, zone)
    return (None, verdict.reason) if isinstance(verdict, Drop) else (verdict.facts, None)


def book_without(*rule_ids: str) -> RuleBook:
    return RuleBook(BOOK.store, {k: v for k, v in BOOK.rules.items() if k not in rule_ids})


def with_child(born: date, tz: str | None = None, name: str = "小红", gender: str = "girl", **fields: Any) -> Member:
    return member(timezone=tz, children=[Child(name, born, gender)], **fields)


def only(timers: dict[str, Timer], rule_id: str) -> dict[str, Timer]:
    return {k: t for k, t in timers.items() if t.rule_id == rule_id}


def test_the_shipped_defaults_are_the_ones_the_issue_states() -> None:
    params = {r: BOOK.rules[r].params for r in BOOK.rules}
    assert params["child_birthday"]["lead_days"] == 3
    assert params["child_birthday"]["local_time"] == "10:00"
    assert params["points_expiring"]["lead_days"] == 3
    assert params["coupon_expiring"]["lead_days"] == 3
    assert params["balance_expiring"]["lead_days"] == 7
    assert params["dormant_45d"]["after_days"] == 45
    assert params["winback_90d"]["after_days"] == 90
    assert params["cross_sell"]["after_days"] == 14
    assert params["repurchase"]["interval_days"]["puzzle"] == 14
    assert params["post_purchase_care"]["after_hours"] == 24


# -- child_birthday ----------------------------------------------------------------------------------


class TestBirthdayTimer:
    def test_due_three_days_before_at_ten_in_kiritimati_which_is_the_previous_evening_in_utc(self) -> None:
        # Given a member in Kiritimati (UTC+14) whose daughter turns 6 on 2026-12-10
        m = with_child(date(2020, 12, 10), "Pacific/Kiritimati")
        # When their timers are computed on 2026-11-22
        [timer] = only(member_timers(m, BOOK, NOW, STORE_ZONE), "child_birthday").values()
        # Then it is due at 10:00 on 2026-12-07 Kiritimati time = 20:00 UTC on 2026-12-06
        assert timer.due_at == utc(2026, 12, 6, 20, 0)
        assert timer.key == "child_birthday#child0"
        assert timer.occurrence == "0:小红:2026"
        assert timer.facts["child"] == {
            "name": "小红",
            "gender": "girl",
            "birthday": "2026-12-10",
            "age": 6,
            "birth_date": "2020-12-10",
        }

    def test_due_three_days_before_at_ten_in_pago_pago_which_is_the_same_evening_in_utc(self) -> None:
        m = with_child(date(2020, 12, 10), "Pacific/Pago_Pago")
        [timer] = only(member_timers(m, BOOK, NOW, STORE_ZONE), "child_birthday").values()
        # 10:00 on 2026-12-07 at UTC-11 = 21:00 UTC the same day
        assert timer.due_at == utc(2026, 12, 7, 21, 0)
        assert timer.occurrence == "0:小红:2026"

    def test_a_member_without_a_zone_gets_the_store_zone(self) -> None:
        m = with_child(date(2020, 12, 10), None)
        [timer] = only(member_timers(m, BOOK, NOW, STORE_ZONE), "child_birthday").values()
        assert timer.due_at == utc(2026, 12, 7, 2, 0)  # 10:00 in Shanghai

    @pytest.mark.parametrize(
        ("born", "tz", "due"),
        [
            (date(2021, 1, 2), "Asia/Shanghai", utc(2026, 12, 30, 2, 0)),
            (date(2021, 1, 1), "Asia/Shanghai", utc(2026, 12, 29, 2, 0)),
            (date(2021, 1, 1), "Pacific/Kiritimati", utc(2026, 12, 28, 20, 0)),
            (date(2021, 1, 1), "Pacific/Pago_Pago", utc(2026, 12, 29, 21, 0)),
        ],
    )
    def test_a_new_years_birthday_is_due_in_the_previous_december(self, born: date, tz: str, due: datetime) -> None:
        # Given a child born on 1 or 2 January; when computed in mid-December
        m = with_child(born, tz)
        [timer] = only(member_timers(m, BOOK, utc(2026, 12, 15, 0, 0), STORE_ZONE), "child_birthday").values()
        # Then the timer is for next year's birthday, due in this December
        assert timer.due_at == due
        assert timer.occurrence == "0:小红:2027"
        assert timer.facts["child"]["age"] == 6
        assert timer.facts["child"]["birthday"] == f"2027-01-0{born.day}"

    def test_a_feb_29_child_celebrates_on_feb_28_in_a_common_year_and_feb_29_in_a_leap_year(self) -> None:
        m = with_child(date(2024, 2, 29))
        [common] = only(member_timers(m, BOOK, utc(2026, 1, 10), STORE_ZONE), "child_birthday").values()
        assert common.facts["child"]["birthday"] == "2026-02-28"
        assert common.facts["child"]["age"] == 2
        assert common.due_at == utc(2026, 2, 25, 2, 0)
        [leap] = only(member_timers(m, BOOK, utc(2028, 1, 10), STORE_ZONE), "child_birthday").values()
        assert leap.facts["child"]["birthday"] == "2028-02-29"
        assert leap.facts["child"]["age"] == 4
        assert leap.due_at == utc(2028, 2, 26, 2, 0)

    def test_no_timer_for_the_birth_year_itself(self) -> None:
        # Given a child registered by its birth (due) date, 2026-11-25, three days ahead
        m = with_child(date(2026, 11, 25))
        timers = only(member_timers(m, BOOK, utc(2026, 11, 22, 1, 0), STORE_ZONE), "child_birthday")
        # Then there is no "turns 0" on the birth day: the first birthday is in 2027
        [timer] = timers.values()
        assert timer.occurrence == "0:小红:2027"
        assert timer.facts["child"]["age"] == 1

    def test_this_years_birthday_holds_until_stale_then_next_years_is_chosen(self) -> None:
        # Given a birthday on 2026-11-20, due 2026-11-17 02:00 UTC; stale_after is 48 h
        m = with_child(date(2020, 11, 20))
        due = utc(2026, 11, 17, 2, 0)
        at_limit = member_timers(m, BOOK, due + timedelta(hours=48), STORE_ZONE)["child_birthday#child0"]
        assert (at_limit.occurrence, at_limit.due_at) == ("0:小红:2026", due)
        # When it is more than 48 h overdue
        after = member_timers(m, BOOK, due + timedelta(hours=48, seconds=1), STORE_ZONE)["child_birthday#child0"]
        # Then next year's takes the slot
        assert after.occurrence == "0:小红:2027"
        assert after.due_at == utc(2027, 11, 17, 2, 0)
        assert after.facts["child"]["age"] == 7

    def test_a_fired_occurrence_in_done_is_skipped_and_the_next_year_is_chosen(self) -> None:
        m = with_child(date(2020, 12, 10))
        due = utc(2026, 12, 7, 2, 0)
        done = frozenset({("child_birthday#child0", "0:小红:2026")})
        timer = member_timers(m, BOOK, due, STORE_ZONE, done)["child_birthday#child0"]
        assert timer.occurrence == "0:小红:2027"
        assert timer.due_at == utc(2027, 12, 7, 2, 0)

    def test_after_a_new_years_birthday_fires_in_december_the_next_one_is_still_scheduled(self) -> None:
        # Given a child born 2 January; the 2027 birthday timer fires at 10:00 on 2026-12-30
        m = with_child(date(2021, 1, 2))
        due = utc(2026, 12, 30, 2, 0)
        done = frozenset({("child_birthday#child0", "0:小红:2027")})
        # When the member's timers are recomputed right after it fired (as TimerService does)
        timers = member_timers(m, BOOK, due, STORE_ZONE, done)
        # Then the 2028 birthday takes the slot (today is still 2026, so today.year + 1 is not enough)
        assert "child_birthday#child0" in timers
        assert timers["child_birthday#child0"].occurrence == "0:小红:2028"
        assert timers["child_birthday#child0"].due_at == utc(2027, 12, 30, 2, 0)

    def test_a_new_years_birthday_that_went_stale_on_dec_31_still_leaves_next_years(self) -> None:
        # Given a child born 1 January; the 2027 birthday was due 2026-12-29 10:00 and is stale by
        # the evening of 31 December (more than 48 h)
        m = with_child(date(2021, 1, 1))
        timers = member_timers(m, BOOK, utc(2026, 12, 31, 12, 0), STORE_ZONE)
        # Then the 2028 birthday is the next one: the child has a timer at all times
        assert timers["child_birthday#child0"].occurrence == "0:小红:2028"

    def test_each_child_has_its_own_slot(self) -> None:
        m = member(children=[Child("大宝", date(2018, 5, 1), "boy"), Child("二宝", date(2021, 12, 24), "girl")])
        timers = only(member_timers(m, BOOK, NOW, STORE_ZONE), "child_birthday")
        assert {k: t.occurrence for k, t in timers.items()} == {
            "child_birthday#child0": "0:大宝:2027",
            "child_birthday#child1": "1:二宝:2026",
        }

    def test_an_unnamed_child_is_named_by_its_index_in_the_occurrence(self) -> None:
        m = member(children=[Child("", date(2020, 12, 10))])
        assert member_timers(m, BOOK, NOW, STORE_ZONE)["child_birthday#child0"].occurrence == "0::2026"

    def test_disabled_rule_gives_no_timer(self) -> None:
        m = with_child(date(2020, 12, 10))
        assert only(member_timers(m, book_without("child_birthday"), NOW, STORE_ZONE), "child_birthday") == {}

    def test_ten_local_on_a_los_angeles_dst_change_day(self) -> None:
        # Given birthdays three days after the spring-forward (2026-03-08) and fall-back (2026-11-01) days
        spring = with_child(date(2019, 3, 11), "America/Los_Angeles")
        fall = with_child(date(2019, 11, 4), "America/Los_Angeles")
        spring_timer = member_timers(spring, BOOK, utc(2026, 3, 1), STORE_ZONE)["child_birthday#child0"]
        fall_timer = member_timers(fall, BOOK, utc(2026, 10, 25), STORE_ZONE)["child_birthday#child0"]
        # Then each is due at 10:00 local: PDT (UTC-7) after the jump, PST (UTC-8) after the fall back
        assert spring_timer.due_at == utc(2026, 3, 8, 17, 0)
        assert fall_timer.due_at == utc(2026, 11, 1, 18, 0)
        for t in (spring_timer, fall_timer):
            assert t.due_at.astimezone(ZoneInfo("America/Los_Angeles")).time() == time(10, 0)

    @SETTINGS
    @given(
        name=st.sampled_from(ZONES),
        born=st.dates(min_value=date(2008, 1, 1), max_value=date(2025, 12, 31)),
        now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    )
    def test_every_birthday_timer_is_ten_local_three_days_ahead_and_fresh(
        self, name: str, born: date, now: datetime
    ) -> None:
        rule = BOOK.rules["child_birthday"]
        for timer in only(member_timers(with_child(born, name), BOOK, now, STORE_ZONE), "child_birthday").values():
            local = timer.due_at.astimezone(ZoneInfo(name))
            birthday = date.fromisoformat(timer.facts["child"]["birthday"])
            assert local.time() == time(10, 0)
            assert local.date() == birthday - timedelta(days=3)
            assert not is_stale(timer.due_at, rule, now)
            assert birthday > born
            assert (birthday.month, birthday.day) in ((born.month, born.day), (2, 28))
            assert timer.facts["child"]["age"] == age_on(born, birthday) == birthday.year - born.year
            assert timer.occurrence == f"0:小红:{birthday.year}"

    @SETTINGS
    @given(
        name=st.sampled_from(ZONES),
        born=st.dates(min_value=date(2008, 1, 1), max_value=date(2025, 12, 31)),
        now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    )
    def test_firing_each_birthday_at_its_due_time_always_leaves_the_next_years(
        self, name: str, born: date, now: datetime
    ) -> None:
        m = with_child(born, name)
        first = member_timers(m, BOOK, now, STORE_ZONE)["child_birthday#child0"]
        done = frozenset({(first.key, first.occurrence)})
        following = member_timers(m, BOOK, first.due_at, STORE_ZONE, done)["child_birthday#child0"]
        assert int(following.occurrence.rsplit(":", 1)[1]) == int(first.occurrence.rsplit(":", 1)[1]) + 1


# -- points_expiring and balance_expiring -----------------------------------------------------------


class TestPointsExpiring:
    def test_one_timer_per_lot_with_points_left_three_days_before_expiry(self) -> None:
        # Given lots expiring at the end of February and at the year end, one used up and one not expiring
        m = member(
            points_lots=[
                PointsLot("t1", 120, date(2027, 2, 28)),
                PointsLot("t2", 50, date(2026, 12, 31)),
                PointsLot("t3", 0, date(2026, 12, 31)),
                PointsLot("t4", 30, None),
            ]
        )
        timers = only(member_timers(m, BOOK, NOW, STORE_ZONE), "points_expiring")
        assert set(timers) == {"points_expiring#t1", "points_expiring#t2"}
        t1, t2 = timers["points_expiring#t1"], timers["points_expiring#t2"]
        assert t1.due_at == utc(2027, 2, 25, 2, 0)
        assert t2.due_at == utc(2026, 12, 28, 2, 0)
        assert (t1.occurrence, t1.facts) == ("t1", {"expiring": {"amount": 120, "date": "2027-02-28"}})

    @pytest.mark.parametrize(
        ("expires", "due_day"),
        [
            (date(2027, 3, 1), date(2027, 2, 26)),  # back across the end of a common February
            (date(2028, 3, 1), date(2028, 2, 27)),  # ... and of a leap February
            (date(2028, 2, 29), date(2028, 2, 26)),
            (date(2027, 1, 2), date(2026, 12, 30)),  # back across the year end
        ],
    )
    def test_the_lead_counts_back_across_month_and_year_ends(self, expires: date, due_day: date) -> None:
        m = member(points_lots=[PointsLot("t1", 10, expires)])
        timer = member_timers(m, BOOK, utc(2026, 12, 1), STORE_ZONE)["points_expiring#t1"]
        assert timer.due_at == datetime.combine(due_day, time(2, 0), tzinfo=UTC)


class TestBalanceExpiring:
    def test_seven_days_before_the_stored_value_expires(self) -> None:
        m = member(stored_value=StoredValue(200.0, date(2027, 1, 5)), timezone="Pacific/Kiritimati")
        timer = member_timers(m, BOOK, NOW, STORE_ZONE)["balance_expiring#stored_value"]
        # 10:00 on 2026-12-29 at UTC+14
        assert timer.due_at == utc(2026, 12, 28, 20, 0)
        assert timer.occurrence == "2027-01-05"
        assert timer.facts == {"balance": {"amount": 200.0, "date": "2027-01-05"}}

    @pytest.mark.parametrize("sv", [StoredValue(0.0, date(2027, 1, 5)), StoredValue(50.0, None), None])
    def test_no_timer_without_a_balance_that_expires(self, sv: StoredValue | None) -> None:
        assert only(member_timers(member(stored_value=sv), BOOK, NOW, STORE_ZONE), "balance_expiring") == {}


# -- dormant_45d and winback_90d ---------------------------------------------------------------------


class TestDormantAndWinback:
    def test_counted_from_the_local_date_of_the_last_purchase(self) -> None:
        # Given a purchase at 23:30 UTC on 31 December: already 1 January in Shanghai
        bought = utc(2026, 12, 31, 23, 30)
        m = member(last_purchase_at=bought, timezone="Asia/Shanghai")
        timers = member_timers(m, BOOK, bought, STORE_ZONE)
        dormant, winback = timers["dormant_45d#last_purchase"], timers["winback_90d#last_purchase"]
        # Then 45 and 90 days from 2027-01-01, at 10:00 Shanghai
        assert dormant.due_at == utc(2027, 2, 15, 2, 0)
        assert winback.due_at == utc(2027, 4, 1, 2, 0)
        assert dormant.occurrence == winback.occurrence == "2027-01-01"
        assert dormant.facts == {"last_purchase": "2027-01-01", "days": 45}

    def test_the_same_purchase_is_still_new_years_eve_in_new_york(self) -> None:
        bought = utc(2026, 12, 31, 23, 30)
        m = member(last_purchase_at=bought, timezone="America/New_York")
        dormant = member_timers(m, BOOK, bought, STORE_ZONE)["dormant_45d#last_purchase"]
        assert dormant.occurrence == "2026-12-31"
        assert dormant.due_at == utc(2027, 2, 14, 15, 0)  # 10:00 EST

    def test_a_newer_purchase_moves_the_slot(self) -> None:
        # Given the dormant timer for a purchase on 2026-11-01
        first = member(last_purchase_at=utc(2026, 11, 1, 3, 0))
        before = member_timers(first, BOOK, NOW, STORE_ZONE)["dormant_45d#last_purchase"]
        # When the member buys again on 2026-12-01
        again = member(last_purchase_at=utc(2026, 12, 1, 3, 0))
        after = member_timers(again, BOOK, utc(2026, 12, 1, 3, 0), STORE_ZONE)["dormant_45d#last_purchase"]
        # Then the same slot now holds a new occurrence and due date: writing it replaces (cancels) the old
        assert before.key == after.key
        assert (before.occurrence, before.due_at) == ("2026-11-01", utc(2026, 12, 16, 2, 0))
        assert (after.occurrence, after.due_at) == ("2026-12-01", utc(2027, 1, 15, 2, 0))

    def test_no_purchase_no_timer_and_a_fired_one_is_not_repeated(self) -> None:
        assert only(member_timers(member(), BOOK, NOW, STORE_ZONE), "dormant_45d") == {}
        m = member(last_purchase_at=utc(2026, 11, 1, 3, 0))
        done = frozenset({("dormant_45d#last_purchase", "2026-11-01")})
        timers = member_timers(m, BOOK, utc(2026, 12, 16, 2, 0), STORE_ZONE, done)
        assert "dormant_45d#last_purchase" not in timers
        assert "winback_90d#last_purchase" in timers

    @SETTINGS
    @given(
        name=st.sampled_from(ZONES),
        bought=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    )
    def test_due_at_ten_local_45_and_90_local_days_after_the_purchase(self, name: str, bought: datetime) -> None:
        tz = ZoneInfo(name)
        timers = member_timers(member(last_purchase_at=bought, timezone=name), BOOK, bought, STORE_ZONE)
        for key, days in (("dormant_45d#last_purchase", 45), ("winback_90d#last_purchase", 90)):
            local = timers[key].due_at.astimezone(tz)
            assert local.time() == time(10, 0)
            assert local.date() == bought.astimezone(tz).date() + timedelta(days=days)
            assert timers[key].occurrence == bought.astimezone(tz).date().isoformat()


@SETTINGS
@given(
    name=st.sampled_from(ZONES),
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
)
def test_every_date_based_timer_is_at_ten_local_even_on_dst_change_days(name: str, now: datetime) -> None:
    tz = ZoneInfo(name)
    day = now.astimezone(tz).date()
    m = member(
        timezone=name,
        children=[Child("小红", date(2020, day.month, min(day.day, 28)) + timedelta(days=5))],
        points_lots=[PointsLot("t1", 10, day + timedelta(days=4))],
        stored_value=StoredValue(5.0, day + timedelta(days=8)),
        last_purchase_at=now,
    )
    timers = member_timers(m, BOOK, now, STORE_ZONE)
    assert {t.rule_id for t in timers.values()} >= {"points_expiring", "balance_expiring", "dormant_45d"}
    for timer in timers.values():
        assert timer.due_at.tzinfo is not None
        assert timer.due_at.astimezone(tz).time() == time(10, 0)


# -- order_timers ------------------------------------------------------------------------------------

PUZZLE = Product("PZ-1", "森林拼图", category="puzzle")
PUZZLE_2 = Product("PZ-2", "海洋拼图", category="puzzle")
FRAME = Product("ACC-1", "拼图框", category="accessory", accessory_of=("puzzle",))
TRAIN = Product("TR-1", "小火车", category="train")
TRACK = Product("ACC-T", "轨道套装", category="accessory", accessory_of=("TR-1",), in_stock=False)
BLOCKS = Product("BL-1", "积木桶", category="blocks")
CATALOG = {p.sku: p for p in (PUZZLE, PUZZLE_2, FRAME, TRAIN, TRACK, BLOCKS)}
BOUGHT = utc(2026, 11, 20, 6, 0)  # 14:00 in Shanghai


def order(order_id: str = "O1", at: datetime = BOUGHT, *skus: str) -> Order:
    items = tuple(OrderItem(s, 1, 99.0) for s in (skus or ("PZ-1", "TR-1", "BL-1", "NOPE")))
    return Order("m-1", order_id, at, items, 99.0 * len(items))


class TestOrderTimers:
    def test_care_is_exactly_24_hours_after_the_purchase(self) -> None:
        timers = order_timers(order(), member(), CATALOG, BOOK, BOUGHT, STORE_ZONE)
        care = timers["post_purchase_care#O1"]
        assert care.due_at == BOUGHT + timedelta(hours=24)
        assert care.occurrence == "O1"
        # Products the catalog knows, by name; an unknown SKU is left out
        assert care.facts == {"order": {"id": "O1", "products": ["森林拼图", "小火车", "积木桶"]}}

    def test_care_across_the_year_end_in_a_far_zone_is_still_24_hours(self) -> None:
        at = utc(2026, 12, 31, 23, 30)
        m = member(timezone="Pacific/Kiritimati")
        care = order_timers(order("O9", at), m, CATALOG, BOOK, at, STORE_ZONE)["post_purchase_care#O9"]
        assert care.due_at == utc(2027, 1, 1, 23, 30)

    def test_cross_sell_only_for_products_with_an_in_stock_accessory(self) -> None:
        timers = only(order_timers(order(), member(), CATALOG, BOOK, BOUGHT, STORE_ZONE), "cross_sell")
        # The puzzle has a frame (accessory of its category); the train's track is out of stock; blocks none
        assert set(timers) == {"cross_sell#O1:PZ-1"}
        timer = timers["cross_sell#O1:PZ-1"]
        assert timer.due_at == utc(2026, 12, 4, 2, 0)  # 14 local days later, at 10:00
        assert timer.facts["product"] == {"sku": "PZ-1", "name": "森林拼图"}

    def test_cross_sell_by_accessory_of_sku(self) -> None:
        catalog = {**CATALOG, "ACC-T": Product("ACC-T", "轨道套装", accessory_of=("TR-1",))}
        timers = only(order_timers(order(), member(), catalog, BOOK, BOUGHT, STORE_ZONE), "cross_sell")
        assert set(timers) == {"cross_sell#O1:PZ-1", "cross_sell#O1:TR-1"}

    def test_repurchase_has_one_slot_per_category(self) -> None:
        timers = only(order_timers(order(), member(), CATALOG, BOOK, BOUGHT, STORE_ZONE), "repurchase")
        assert set(timers) == {"repurchase#puzzle", "repurchase#blocks"}
        puzzle = timers["repurchase#puzzle"]
        assert puzzle.occurrence == "O1:puzzle"
        assert puzzle.due_at == utc(2026, 12, 4, 2, 0)  # puzzle: 14 days
        assert timers["repurchase#blocks"].due_at == utc(2026, 12, 20, 2, 0)  # blocks: 30 days
        assert puzzle.facts["product"] == {"sku": "PZ-1", "name": "森林拼图", "category": "puzzle"}

    def test_the_next_puzzle_order_takes_the_same_repurchase_slot(self) -> None:
        later = BOUGHT + timedelta(days=10)
        timers = order_timers(order("O2", later, "PZ-2"), member(), CATALOG, BOOK, later, STORE_ZONE)
        assert timers["repurchase#puzzle"].occurrence == "O2:puzzle"
        assert timers["repurchase#puzzle"].due_at == utc(2026, 12, 14, 2, 0)

    def test_an_order_imported_40_days_late_calls_for_nothing(self) -> None:
        timers = order_timers(order(), member(), CATALOG, BOOK, BOUGHT + timedelta(days=40), STORE_ZONE)
        assert timers == {}

    def test_care_is_kept_up_to_its_stale_after_and_dropped_beyond(self) -> None:
        # stale_after for care is 24 h: due at +24 h, so still wanted at +48 h, not after
        at_limit = order_timers(order(), member(), CATALOG, BOOK, BOUGHT + timedelta(hours=48), STORE_ZONE)
        beyond = order_timers(order(), member(), CATALOG, BOOK, BOUGHT + timedelta(hours=48, seconds=1), STORE_ZONE)
        assert "post_purchase_care#O1" in at_limit
        assert "post_purchase_care#O1" not in beyond
        assert "cross_sell#O1:PZ-1" in beyond

    def test_disabled_rules_give_nothing(self) -> None:
        book = book_without("post_purchase_care", "cross_sell", "repurchase")
        assert order_timers(order(), member(), CATALOG, book, BOUGHT, STORE_ZONE) == {}


class TestAccessoriesFor:
    def test_in_stock_products_naming_the_sku_or_category_sorted_by_sku(self) -> None:
        catalog = {
            "Z": Product("Z", "z", accessory_of=("puzzle",)),
            "A": Product("A", "a", accessory_of=("PZ-1",)),
            "X": Product("X", "x", accessory_of=("puzzle",), in_stock=False),
            "B": Product("B", "b", accessory_of=("train",)),
            "PZ-1": Product("PZ-1", "self", category="puzzle", accessory_of=("puzzle",)),
        }
        assert [p.sku for p in accessories_for(catalog["PZ-1"], catalog)] == ["A", "Z"]

    def test_a_product_without_category_matches_by_sku_only(self) -> None:
        bare = Product("P", "p")
        catalog = {"P": bare, "A": Product("A", "a", accessory_of=("P",)), "N": Product("N", "n", accessory_of=())}
        assert [p.sku for p in accessories_for(bare, catalog)] == ["A"]


# -- coupon and arrival timers -----------------------------------------------------------------------


class TestCouponTimer:
    COUPON = Coupon("m-1", "C1", "满100减20", 20.0, date(2026, 12, 1), NOW)

    def test_three_days_before_it_expires_at_ten_local(self) -> None:
        timer = coupon_timer(self.COUPON, member(), BOOK, NOW, STORE_ZONE)
        assert timer is not None
        assert (timer.key, timer.rule_id, timer.occurrence) == ("coupon_expiring#C1", "coupon_expiring", "C1")
        assert timer.due_at == utc(2026, 11, 28, 2, 0)
        assert timer.facts == {"coupon": {"id": "C1", "title": "满100减20", "value": 20, "expires_on": "2026-12-01"}}

    def test_in_kiritimati(self) -> None:
        timer = coupon_timer(self.COUPON, member(timezone="Pacific/Kiritimati"), BOOK, NOW, STORE_ZONE)
        assert timer is not None and timer.due_at == utc(2026, 11, 27, 20, 0)

    def test_none_when_it_would_be_stale_or_the_rule_is_off(self) -> None:
        late = utc(2026, 11, 30, 2, 1)  # 48 h and a minute after the due time
        assert coupon_timer(self.COUPON, member(), BOOK, late, STORE_ZONE) is None
        assert coupon_timer(self.COUPON, member(), book_without("coupon_expiring"), NOW, STORE_ZONE) is None


class TestArrivalTimer:
    PRODUCT = Product("NEW-1", "恐龙乐园", age_min_months=36, age_max_months=72, arrived_on=date(2026, 11, 25))

    def test_due_at_ten_local_on_the_arrival_day(self) -> None:
        mother = with_child(date(2022, 3, 1), name="小红", gender="girl")
        timer = arrival_timer(self.PRODUCT, mother, BOOK, NOW, STORE_ZONE)
        assert timer is not None
        assert (timer.key, timer.occurrence) == ("new_arrivals#NEW-1", "NEW-1")
        assert timer.due_at == utc(2026, 11, 25, 2, 0)
        assert timer.facts == {
            "product": {"sku": "NEW-1", "name": "恐龙乐园"},
            "child": {"name": "小红", "gender": "girl"},
        }

    def test_none_without_an_arrival_day_or_when_stale_or_off(self) -> None:
        undated = Product("NEW-2", "x")
        mother = with_child(date(2022, 3, 1))
        assert arrival_timer(undated, mother, BOOK, NOW, STORE_ZONE) is None
        assert arrival_timer(self.PRODUCT, mother, BOOK, utc(2026, 11, 28), STORE_ZONE) is None
        assert arrival_timer(self.PRODUCT, mother, book_without("new_arrivals"), NOW, STORE_ZONE) is None

    def test_only_for_a_child_it_fits_or_a_shared_tag(self) -> None:
        assert arrival_timer(self.PRODUCT, member(), BOOK, NOW, STORE_ZONE) is None  # no child, no tag
        assert arrival_timer(self.PRODUCT, with_child(date(2025, 1, 1)), BOOK, NOW, STORE_ZONE) is None  # too young
        boys_only = replace(self.PRODUCT, gender="boy")
        assert arrival_timer(boys_only, with_child(date(2022, 3, 1), gender="girl"), BOOK, NOW, STORE_ZONE) is None
        tagged = replace(self.PRODUCT, tags=("lego",))
        timer = arrival_timer(tagged, member(tags=["lego"]), BOOK, NOW, STORE_ZONE)
        assert timer is not None and timer.facts["child"] is None


# -- audience segments -------------------------------------------------------------------------------


class TestArrivalSegments:
    PRODUCT = Product(
        "NEW-1", "拼装城堡", age_min_months=36, age_max_months=48, tags=("lego", "stem"), arrived_on=date(2026, 11, 15)
    )

    def test_birth_months_of_children_in_the_age_range_and_the_tags(self) -> None:
        segments = arrival_segments(self.PRODUCT)
        # 36 months before November 2026 is November 2023; 48 months before is November 2022
        assert {"born#2023-11", "born#2023-06", "born#2022-11"} <= set(segments)
        assert "born#2023-12" not in segments  # at most 35 months old
        assert "born#2022-09" not in segments  # at least 49 months old
        assert segments[-2:] == ["tag#lego", "tag#stem"]

    def test_a_child_exactly_at_the_top_of_the_range_is_reached(self) -> None:
        # A child born 2022-10-20 is 48 months old on 2026-11-15 (49 only from 2026-11-20)
        assert age_in_months(date(2022, 10, 20), date(2026, 11, 15)) == 48
        assert "born#2022-10" in arrival_segments(self.PRODUCT)

    @SETTINGS
    @given(
        low=st.integers(0, 60),
        span=st.integers(0, 36),
        edge=st.sampled_from(["youngest", "oldest"]),
        offset=st.integers(-1, 1),
        day=st.integers(1, 28),
    )
    def test_every_child_in_the_age_range_on_arrival_day_is_in_a_segment(
        self, low: int, span: int, edge: str, offset: int, day: int
    ) -> None:
        # A child born on ``day`` of a month around either end of the range (where rounding matters)
        arrived = date(2026, 11, 15)
        back = (low if edge == "youngest" else low + span) + offset
        year, month = divmod(arrived.year * 12 + arrived.month - 1 - back, 12)
        born = date(year, month + 1, day)
        product = Product("P", "p", age_min_months=low, age_max_months=low + span, arrived_on=arrived)
        if born <= arrived and low <= age_in_months(born, arrived) <= low + span:
            assert f"born#{born.year:04d}-{born.month:02d}" in arrival_segments(product)

    def test_the_months_wrap_back_across_the_year_end(self) -> None:
        product = Product("P", "p", age_min_months=0, age_max_months=2, arrived_on=date(2026, 1, 10))
        assert {"born#2026-01", "born#2025-12", "born#2025-11"} <= set(arrival_segments(product))

    def test_without_an_upper_age_two_years_are_covered(self) -> None:
        product = Product("P", "p", age_min_months=12, arrived_on=date(2026, 11, 15))
        segments = arrival_segments(product)
        assert {"born#2025-11", "born#2023-11"} <= set(segments)

    def test_only_tags_without_an_age_range_or_arrival_day(self) -> None:
        assert arrival_segments(Product("P", "p", tags=("lego",), arrived_on=date(2026, 11, 15))) == ["tag#lego"]
        assert arrival_segments(Product("P", "p", age_min_months=12, tags=("lego",))) == ["tag#lego"]


def test_member_segments_are_birth_months_with_the_first_child_index_and_tags() -> None:
    m = member(
        children=[Child("a", date(2022, 3, 1)), Child("b", date(2020, 7, 9)), Child("c", date(2022, 3, 30))],
        tags=["lego", "books"],
    )
    assert member_segments(m) == {"born#2022-03": 0, "born#2020-07": 1, "tag#lego": None, "tag#books": None}
    assert member_segments(member()) == {}


# -- age_fit -----------------------------------------------------------------------------------------


def test_age_fit_keeps_in_stock_products_whose_range_and_gender_fit_newest_first() -> None:
    catalog = {
        p.sku: p
        for p in (
            Product(
                "A", "女孩娃娃屋", age_min_months=60, age_max_months=84, gender="girl", arrived_on=date(2026, 10, 1)
            ),
            Product("B", "科学实验箱", age_min_months=48, age_max_months=96, arrived_on=date(2026, 11, 1)),
            Product("C", "男孩赛车", age_min_months=60, age_max_months=84, gender="boy", arrived_on=date(2026, 11, 5)),
            Product("D", "缺货娃娃", age_min_months=60, age_max_months=84, gender="girl", in_stock=False),
            Product("E", "婴儿摇铃", age_min_months=0, age_max_months=36, arrived_on=date(2026, 11, 9)),
            Product("F", "彩泥", arrived_on=date(2026, 9, 1)),
            Product("G", "老款积木", age_min_months=72),
        )
    }
    assert [p.sku for p in age_fit(catalog, 72, "girl", limit=10)] == ["B", "A", "F", "G"]
    assert [p.sku for p in age_fit(catalog, 72, "girl", limit=2)] == ["B", "A"]
    assert [p.sku for p in age_fit(catalog, 72, "unknown", limit=10)] == ["C", "B", "A", "F", "G"]
    assert [p.sku for p in age_fit(catalog, 84, "boy", limit=10)] == ["C", "B", "F", "G"]
    assert [p.sku for p in age_fit(catalog, 85, "boy", limit=10)] == ["B", "F", "G"]


# -- refresh_facts -----------------------------------------------------------------------------------


def timer(rule_id: str, occurrence: str, facts: dict[str, Any] | None = None, ref: str = "x") -> Timer:
    return Timer("m-1", f"{rule_id}#{ref}", rule_id, occurrence, NOW, facts or {})


class TestRefreshFacts:
    def test_dormant_is_dropped_when_the_member_bought_again(self) -> None:
        t = timer("dormant_45d", "2026-11-01", {"last_purchase": "2026-11-01", "days": 45})
        same = member(last_purchase_at=utc(2026, 11, 1, 3, 0))
        assert refresh_facts(t, same, CATALOG, STORE_ZONE) == ({"last_purchase": "2026-11-01", "days": 45}, None)
        again = member(last_purchase_at=utc(2026, 12, 1, 3, 0))
        assert refresh_facts(t, again, CATALOG, STORE_ZONE) == (None, "bought again on 2026-12-01")
        assert refresh_facts(t, member(), CATALOG, STORE_ZONE) == (None, "no purchase on record")

    def test_winback_compares_the_purchase_in_the_members_own_zone(self) -> None:
        t = timer("winback_90d", "2027-01-01")
        m = member(last_purchase_at=utc(2026, 12, 31, 23, 30))  # 1 January in Shanghai (store zone)
        assert refresh_facts(t, m, CATALOG, STORE_ZONE)[1] is None
        ny = member(last_purchase_at=utc(2026, 12, 31, 23, 30), timezone="America/New_York")
        assert refresh_facts(t, ny, CATALOG, STORE_ZONE) == (None, "bought again on 2026-12-31")

    def test_points_dropped_when_used_and_refreshed_when_partly_used(self) -> None:
        t = timer("points_expiring", "t1", {"expiring": {"amount": 120, "date": "2027-02-28"}})
        partly = member(points_lots=[PointsLot("t1", 70, date(2027, 2, 28))])
        assert refresh_facts(t, partly, CATALOG, STORE_ZONE) == (
            {"expiring": {"amount": 70, "date": "2027-02-28"}},
            None,
        )
        used = member(points_lots=[PointsLot("t1", 0, date(2027, 2, 28))])
        assert refresh_facts(t, used, CATALOG, STORE_ZONE) == (None, "points already used")
        assert refresh_facts(t, member(), CATALOG, STORE_ZONE) == (None, "points already used")

    def test_balance_dropped_when_used_or_its_expiry_moved(self) -> None:
        t = timer("balance_expiring", "2027-01-05", {"balance": {"amount": 200.0, "date": "2027-01-05"}})
        less = member(stored_value=StoredValue(80.0, date(2027, 1, 5)))
        assert refresh_facts(t, less, CATALOG, STORE_ZONE) == (
            {"balance": {"amount": 80.0, "date": "2027-01-05"}},
            None,
        )
        reason = "stored value used or its expiry changed"
        for sv in (StoredValue(0.0, date(2027, 1, 5)), StoredValue(80.0, date(2027, 6, 30)), None):
            assert refresh_facts(t, member(stored_value=sv), CATALOG, STORE_ZONE) == (None, reason)

    def test_birthday_dropped_when_the_child_is_removed_else_picks_for_the_new_age(self) -> None:
        child = {"name": "小红", "gender": "girl", "birthday": "2026-12-10", "age": 6, "birth_date": "2020-12-10"}
        t = timer("child_birthday", "0:小红:2026", {"child": child})
        catalog = {
            p.sku: p
            for p in (
                Product(
                    "A", "娃娃屋", age_min_months=60, age_max_months=84, gender="girl", arrived_on=date(2026, 10, 1)
                ),
                Product("B", "实验箱", age_min_months=48, age_max_months=96, arrived_on=date(2026, 11, 1)),
                Product("C", "赛车", age_min_months=60, age_max_months=84, gender="boy"),
                Product("D", "缺货", age_min_months=60, age_max_months=84, in_stock=False),
                Product("E", "摇铃", age_min_months=0, age_max_months=36),
            )
        }
        m = with_child(date(2020, 12, 10))
        facts, reason = refresh_facts(t, m, catalog, STORE_ZONE)
        assert reason is None and facts is not None
        assert facts["picks"] == ["实验箱", "娃娃屋"]
        assert facts["child"] == child
        assert refresh_facts(t, m, catalog, STORE_ZONE, picks=1)[0]["picks"] == ["实验箱"]  # type: ignore[index]
        removed = member(children=[])
        assert refresh_facts(t, removed, catalog, STORE_ZONE) == (None, "child no longer on the profile")
        renamed = with_child(date(2020, 12, 10), name="小花")
        assert refresh_facts(t, renamed, catalog, STORE_ZONE) == (None, "child no longer on the profile")

    def test_a_leap_day_childs_picks_use_its_age_on_feb_28(self) -> None:
        child = {"name": "小红", "gender": "girl", "birthday": "2027-02-28", "age": 3, "birth_date": "2024-02-29"}
        t = timer("child_birthday", "0:小红:2027", {"child": child})
        catalog = {"P": Product("P", "三岁起", age_min_months=36)}
        facts, _ = refresh_facts(t, with_child(date(2024, 2, 29)), catalog, STORE_ZONE)
        assert facts is not None and facts["picks"] == ["三岁起"]

    def test_cross_sell_dropped_when_accessories_sold_out(self) -> None:
        t = timer("cross_sell", "O1:PZ-1", {"product": {"sku": "PZ-1", "name": "森林拼图"}})
        facts, reason = refresh_facts(t, member(), CATALOG, STORE_ZONE)
        assert reason is None and facts is not None and facts["accessories"] == ["拼图框"]
        sold_out = {**CATALOG, "ACC-1": Product("ACC-1", "拼图框", accessory_of=("puzzle",), in_stock=False)}
        assert refresh_facts(t, member(), sold_out, STORE_ZONE) == (None, "accessories sold out")
        gone = {k: v for k, v in CATALOG.items() if k != "PZ-1"}
        assert refresh_facts(t, member(), gone, STORE_ZONE) == (None, "accessories sold out")

    def test_repurchase_suggests_other_in_stock_products_of_the_category(self) -> None:
        t = timer("repurchase", "O1:puzzle", {"product": {"sku": "PZ-1", "name": "森林拼图", "category": "puzzle"}})
        catalog = {**CATALOG, "PZ-3": Product("PZ-3", "星空拼图", category="puzzle", in_stock=False)}
        facts, reason = refresh_facts(t, member(), catalog, STORE_ZONE)
        assert reason is None and facts is not None and facts["next"] == ["海洋拼图"]

    def test_new_arrival_dropped_when_out_of_stock_or_gone(self) -> None:
        t = timer("new_arrivals", "NEW-1", {"product": {"sku": "NEW-1", "name": "恐龙乐园"}, "child": None})
        here = {"NEW-1": Product("NEW-1", "恐龙乐园")}
        assert refresh_facts(t, member(), here, STORE_ZONE)[1] is None
        out = {"NEW-1": Product("NEW-1", "恐龙乐园", in_stock=False)}
        assert refresh_facts(t, member(), out, STORE_ZONE) == (None, "product no longer in stock")
        assert refresh_facts(t, member(), {}, STORE_ZONE) == (None, "product no longer in stock")

    def test_the_timers_own_facts_are_not_changed(self) -> None:
        t = timer("points_expiring", "t1", {"expiring": {"amount": 120, "date": "2027-02-28"}})
        refresh_facts(t, member(points_lots=[PointsLot("t1", 70, date(2027, 2, 28))]), CATALOG, STORE_ZONE)
        assert t.facts == {"expiring": {"amount": 120, "date": "2027-02-28"}}


def test_is_stale_only_beyond_stale_after() -> None:
    rule = BOOK.rules["post_purchase_care"]  # 24 h
    due = utc(2026, 11, 21, 6, 0)
    assert not is_stale(due, rule, due + timedelta(hours=24))
    assert is_stale(due, rule, due + timedelta(hours=24, seconds=1))
    assert not is_stale(due, rule, due - timedelta(days=3))  # not yet due is never stale
