"""Local dates and times in the member's own zone: DST gaps and overlaps, zones far from UTC, leap days
and month ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import age_in_months, age_on, anniversary, at_local, local_date, parse_clock, zone

NEW_YORK = ZoneInfo("America/New_York")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14, no DST
PAGO_PAGO = ZoneInfo("Pacific/Pago_Pago")  # UTC-11, no DST
SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8, no DST

ZONES = [
    "Asia/Shanghai",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
]
SETTINGS = settings(derandomize=True, database=None, max_examples=150, deadline=None)


# -- at_local ----------------------------------------------------------------------------------------


class TestAtLocalAcrossDst:
    def test_a_wall_time_skipped_by_spring_forward_moves_forward_by_the_gap(self) -> None:
        # Given New York springs forward at 02:00 on 2026-03-08 (02:00-02:59 never happens)
        # When 02:30 local is asked for on that day
        instant = at_local(date(2026, 3, 8), time(2, 30), NEW_YORK)
        # Then it is 03:30 EDT (07:30 UTC), as the docstring promises, not 01:30 EST
        assert instant.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
        assert instant == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("name", "day", "asked", "expected_local"),
        [
            ("America/Los_Angeles", date(2026, 3, 8), time(2, 30), time(3, 30)),
            ("Europe/London", date(2026, 3, 29), time(1, 30), time(2, 30)),
            ("Australia/Sydney", date(2026, 10, 4), time(2, 30), time(3, 30)),
            ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), time(2, 45)),  # a 30-minute gap
        ],
    )
    def test_skipped_wall_times_elsewhere_move_forward_by_their_gap(
        self, name: str, day: date, asked: time, expected_local: time
    ) -> None:
        instant = at_local(day, asked, ZoneInfo(name))
        assert instant.astimezone(ZoneInfo(name)).replace(tzinfo=None) == datetime.combine(day, expected_local)

    def test_an_ambiguous_wall_time_at_fall_back_takes_the_first(self) -> None:
        # Given New York falls back at 02:00 EDT on 2026-11-01 (01:00-01:59 happens twice)
        instant = at_local(date(2026, 11, 1), time(1, 30), NEW_YORK)
        # Then the first 01:30 (EDT, UTC-4) is chosen
        assert instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
        assert instant.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-4)

    def test_ten_o_clock_on_both_dst_change_days_is_ten_local(self) -> None:
        assert at_local(date(2026, 3, 8), time(10, 0), NEW_YORK) == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
        assert at_local(date(2026, 11, 1), time(10, 0), NEW_YORK) == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)

    def test_the_result_is_utc(self) -> None:
        assert at_local(date(2026, 6, 1), time(10, 0), NEW_YORK).tzinfo is UTC


class TestAtLocalInFarZones:
    @pytest.mark.parametrize(
        ("tz", "expected"),
        [
            # 10:00 on 2026-01-01 local: Kiritimati is already on 31 Dec in UTC, Pago Pago on 1 Jan 21:00
            (KIRITIMATI, datetime(2025, 12, 31, 20, 0, tzinfo=UTC)),
            (PAGO_PAGO, datetime(2026, 1, 1, 21, 0, tzinfo=UTC)),
            (SHANGHAI, datetime(2026, 1, 1, 2, 0, tzinfo=UTC)),
        ],
    )
    def test_ten_local_on_new_years_day(self, tz: ZoneInfo, expected: datetime) -> None:
        assert at_local(date(2026, 1, 1), time(10, 0), tz) == expected

    def test_the_same_instant_is_a_different_local_date_at_either_end_of_the_world(self) -> None:
        # 2026-12-31 11:30 UTC is 1 January in Kiritimati and still 31 December in Pago Pago
        instant = datetime(2026, 12, 31, 11, 30, tzinfo=UTC)
        assert local_date(instant, KIRITIMATI) == date(2027, 1, 1)
        assert local_date(instant, PAGO_PAGO) == date(2026, 12, 31)
        # 23:30 UTC on 31 Dec is New Year's Day in Shanghai
        assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), SHANGHAI) == date(2027, 1, 1)

    @SETTINGS
    @given(
        day=st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 31)),
        hour=st.integers(0, 23),
        minute=st.sampled_from([0, 15, 30, 45]),
        name=st.sampled_from(ZONES),
    )
    def test_the_instant_is_on_the_asked_local_day_and_never_before_the_asked_wall_time(
        self, day: date, hour: int, minute: int, name: str
    ) -> None:
        tz = ZoneInfo(name)
        instant = at_local(day, time(hour, minute), tz)
        back = instant.astimezone(tz)
        wanted = datetime.combine(day, time(hour, minute))
        # A wall time that exists comes back unchanged; one skipped by a DST jump comes back later
        # (by at most the gap, which is never more than an hour in these zones).
        assert wanted <= back.replace(tzinfo=None) <= wanted + timedelta(hours=1)


def test_zone_falls_back_to_the_store_zone() -> None:
    assert zone(None, "Asia/Shanghai") == SHANGHAI
    assert zone("", "Asia/Shanghai") == SHANGHAI
    assert zone("Pacific/Kiritimati", "Asia/Shanghai") == KIRITIMATI


def test_parse_clock() -> None:
    assert parse_clock("10:00") == time(10, 0)
    assert parse_clock("07:05") == time(7, 5)


# -- anniversaries and ages ------------------------------------------------------------------------


class TestAnniversary:
    def test_feb_29_falls_on_feb_28_in_a_common_year(self) -> None:
        assert anniversary(date(2024, 2, 29), 2025) == date(2025, 2, 28)
        assert anniversary(date(2024, 2, 29), 2100) == date(2100, 2, 28)  # 2100 is not a leap year

    def test_feb_29_stays_feb_29_in_a_leap_year(self) -> None:
        assert anniversary(date(2024, 2, 29), 2028) == date(2028, 2, 29)
        assert anniversary(date(2000, 2, 29), 2000) == date(2000, 2, 29)

    def test_other_days_keep_month_and_day(self) -> None:
        assert anniversary(date(2020, 12, 31), 2026) == date(2026, 12, 31)
        assert anniversary(date(2020, 1, 1), 2027) == date(2027, 1, 1)
        assert anniversary(date(2020, 2, 28), 2028) == date(2028, 2, 28)


class TestAgeOn:
    def test_the_age_changes_on_the_birthday_not_the_day_before(self) -> None:
        born = date(2020, 6, 15)
        assert age_on(born, date(2026, 6, 14)) == 5
        assert age_on(born, date(2026, 6, 15)) == 6

    def test_a_leap_day_child_turns_a_year_older_on_feb_28_of_a_common_year(self) -> None:
        born = date(2024, 2, 29)
        assert age_on(born, date(2025, 2, 27)) == 0
        assert age_on(born, date(2025, 2, 28)) == 1
        assert age_on(born, date(2025, 3, 1)) == 1
        # In a leap year, on 29 February itself
        assert age_on(born, date(2028, 2, 28)) == 3
        assert age_on(born, date(2028, 2, 29)) == 4

    def test_new_years_eve_and_day(self) -> None:
        assert age_on(date(2019, 12, 31), date(2026, 12, 30)) == 6
        assert age_on(date(2019, 12, 31), date(2026, 12, 31)) == 7
        assert age_on(date(2020, 1, 1), date(2026, 12, 31)) == 6
        assert age_on(date(2020, 1, 1), date(2027, 1, 1)) == 7

    @SETTINGS
    @given(
        born=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
        years=st.integers(0, 60),
    )
    def test_on_each_anniversary_the_age_is_the_number_of_years(self, born: date, years: int) -> None:
        day = anniversary(born, born.year + years)
        assert age_on(born, day) == years
        if years > 0:
            assert age_on(born, day - timedelta(days=1)) == years - 1


class TestAgeInMonths:
    def test_jan_31_is_a_month_old_on_feb_28_in_a_common_year(self) -> None:
        born = date(2025, 1, 31)
        assert age_in_months(born, date(2025, 2, 27)) == 0
        assert age_in_months(born, date(2025, 2, 28)) == 1
        assert age_in_months(born, date(2025, 3, 1)) == 1
        assert age_in_months(born, date(2025, 3, 30)) == 1
        assert age_in_months(born, date(2025, 3, 31)) == 2

    def test_jan_31_is_a_month_old_on_feb_29_in_a_leap_year_not_on_feb_28(self) -> None:
        born = date(2024, 1, 31)
        assert age_in_months(born, date(2024, 2, 28)) == 0
        assert age_in_months(born, date(2024, 2, 29)) == 1

    def test_a_leap_day_child_is_twelve_months_on_feb_28_of_the_next_year(self) -> None:
        born = date(2024, 2, 29)
        assert age_in_months(born, date(2025, 2, 27)) == 11
        assert age_in_months(born, date(2025, 2, 28)) == 12
        assert age_in_months(born, date(2024, 3, 28)) == 0
        assert age_in_months(born, date(2024, 3, 29)) == 1

    def test_a_31st_born_child_is_a_month_older_on_the_last_day_of_a_30_day_month(self) -> None:
        # The same month-end rule as January 31 -> February 28: the month is complete on its last day.
        # (As February is the only month treated so today, 31 March -> 30 April counts 0 months.)
        assert age_in_months(date(2026, 3, 31), date(2026, 4, 30)) == 1
        assert age_in_months(date(2026, 8, 31), date(2026, 9, 30)) == 1

    def test_across_the_year_end(self) -> None:
        assert age_in_months(date(2025, 12, 15), date(2026, 1, 14)) == 0
        assert age_in_months(date(2025, 12, 15), date(2026, 1, 15)) == 1
        assert age_in_months(date(2022, 11, 20), date(2026, 11, 15)) == 47

    def test_never_negative(self) -> None:
        assert age_in_months(date(2026, 5, 20), date(2026, 5, 1)) == 0
        assert age_in_months(date(2026, 5, 20), date(2025, 1, 1)) == 0

    @SETTINGS
    @given(
        born=st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
        days=st.integers(0, 3000),
    )
    def test_months_grow_by_at_most_one_a_day_and_agree_with_years(self, born: date, days: int) -> None:
        day = born + timedelta(days=days)
        months = age_in_months(born, day)
        following = age_in_months(born, day + timedelta(days=1))
        assert following - months in (0, 1)
        assert months // 12 == age_on(born, day)
