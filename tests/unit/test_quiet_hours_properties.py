"""Quiet hours across zones and DST changes, as properties (Hypothesis).

Instants are drawn around the real DST switches of 2025–2027 in zones that have them (New York,
London, Sydney, Santiago — whose clocks jump at midnight —, Chatham at 02:45 with a 45-minute
offset) and anywhere in those years in zones without them (Shanghai, Kathmandu). Windows are the
default 08:00–21:00, windows across midnight, and arbitrary ones (long enough to hold their spread
even on a day that loses an hour).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import at_local
from chalicelib.domain.eligibility import Policy, quiet_hold
from chalicelib.domain.governance import QuietHours, spread
from chalicelib.domain.model import Channel, Member, Message, MessageStatus
from chalicelib.domain.rulebook import RuleBook, RuleConfig, parse_rule_book
from tests.fakes import RULES_TOML

ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Shanghai",
    "Pacific/Chatham",
    "Asia/Kathmandu",
)
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2027, 12, 31, tzinfo=UTC)

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@cache
def transitions(name: str) -> tuple[datetime, ...]:
    """The UTC days on which ``name`` changes its offset (2025–2027), found day by day."""
    tz = ZoneInfo(name)
    found: list[datetime] = []
    day = START
    while day < END:
        nxt = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            found.append(day)
        day = nxt
    return tuple(found)


def test_the_zones_with_dst_have_their_switches_in_the_sample() -> None:
    for name in ("America/New_York", "Europe/London", "Australia/Sydney", "America/Santiago", "Pacific/Chatham"):
        assert len(transitions(name)) == 6, name
    assert transitions("Asia/Shanghai") == transitions("Asia/Kathmandu") == ()


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    name = draw(st.sampled_from(ZONES))
    switches = transitions(name)
    arbitrary = st.datetimes(min_value=START.replace(tzinfo=None), max_value=END.replace(tzinfo=None))
    near_a_switch: bool = draw(st.booleans()) if switches else False
    if near_a_switch:
        switch = draw(st.sampled_from(switches))
        offset = draw(st.integers(min_value=-3 * 86400, max_value=4 * 86400))
        at = switch + timedelta(seconds=offset)
    else:
        at = draw(arbitrary).replace(tzinfo=UTC)
    return ZoneInfo(name), at


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def windows(draw: st.DrawFn) -> QuietHours:
    """The default, a few real-looking ones (one across midnight) and arbitrary ones opening after
    04:00 whose wall-clock length exceeds their spread by more than the longest DST jump (an hour)."""
    fixed = st.sampled_from(
        [
            QuietHours(),
            QuietHours(time(22, 0), time(6, 0)),
            QuietHours(time(9, 30), time(20, 0), 0),
            QuietHours(time(0, 30), time(23, 30), 120),
        ]
    )
    if draw(st.booleans()):
        return draw(fixed)
    spread_minutes = draw(st.integers(min_value=0, max_value=120))
    # Openings (and their spread) clear of 00:00–04:00, where every DST switch of these zones falls:
    # an opening inside a repeated hour is the exotic case of the last test in this file.
    opens = draw(st.integers(min_value=4 * 60, max_value=1439 - spread_minutes))
    length = draw(st.integers(min_value=spread_minutes + 61, max_value=1439))
    return QuietHours(_clock(opens), _clock((opens + length) % 1440), spread_minutes)


keys = st.text(alphabet="0123456789abcdef", min_size=1, max_size=26).map(lambda s: "m" + s)


def first_open_instant(quiet: QuietHours, tz: ZoneInfo, at: datetime, until: datetime) -> datetime:
    """The first whole minute after ``at`` (or ``at`` itself) when the window is open, by scanning.
    The second pass through a repeated (fall-back) hour does not count: a window that closed at
    02:01 is not "opening" again when the clock shows 02:00 a second time."""
    t = at
    while t <= until:
        if quiet.is_open(t, tz) and t.astimezone(tz).fold == 0:
            return t
        t = (t + timedelta(minutes=1)).replace(second=0, microsecond=0)
    raise AssertionError("no opening found")


@PROPERTY
@given(zone_and_instant(), windows(), keys)
def test_next_opening_is_not_before_now_and_the_window_is_open_then(
    zi: tuple[ZoneInfo, datetime], quiet: QuietHours, key: str
) -> None:
    tz, now = zi
    opening = quiet.next_opening(now, tz, key)
    assert opening >= now
    assert quiet.is_open(opening, tz), (now, opening.astimezone(tz))
    assert opening.tzinfo is not None


@PROPERTY
@given(zone_and_instant(), windows(), keys)
def test_a_closed_window_reopens_at_the_local_opening_plus_the_keys_spread(
    zi: tuple[ZoneInfo, datetime], quiet: QuietHours, key: str
) -> None:
    tz, now = zi
    opening = quiet.next_opening(now, tz, key)
    if quiet.is_open(now, tz):
        assert opening == now
        return
    shift = spread(key, quiet.spread_minutes)
    assert timedelta(0) <= shift < timedelta(minutes=max(quiet.spread_minutes, 1))
    base = opening - shift
    local_day = base.astimezone(tz).date()
    # The opening is the store's opening time on a local day (moved by a DST gap when it falls in one)
    assert base in {at_local(local_day + timedelta(days=d), quiet.opens, tz) for d in (-1, 0, 1)}
    # It is the first opening after now: within the spread of the first open minute (plus the hour a
    # spring-forward gap may move an opening time that falls inside it)
    first = first_open_instant(quiet, tz, now, opening)
    late = opening - first
    gap = timedelta(hours=1) if base.astimezone(tz).utcoffset() != now.astimezone(tz).utcoffset() else timedelta(0)
    assert timedelta(0) <= late <= shift + gap + timedelta(minutes=1), (now, first, opening)


@PROPERTY
@given(zone_and_instant(), keys)
def test_the_default_window_opens_at_eight_local_on_the_right_day(zi: tuple[ZoneInfo, datetime], key: str) -> None:
    tz, now = zi
    quiet = QuietHours()
    opening = quiet.next_opening(now, tz, key)
    if opening == now:
        return
    local = (opening - spread(key, 20)).astimezone(tz)
    assert local.time() == time(8, 0)
    local_now = now.astimezone(tz)
    expected_day = local_now.date() if local_now.time() < time(8, 0) else local_now.date() + timedelta(days=1)
    assert local.date() == expected_day
    assert timedelta(0) < opening - now <= timedelta(hours=13, minutes=20)


# -- window_hold: the sender's view ------------------------------------------------------------------

BOOK = parse_rule_book(RULES_TOML)


def _book_with_store_window(opens: str, closes: str) -> RuleBook:
    toml = RULES_TOML.replace(
        "[store.tier_benefits]",
        f'[store.quiet_hours]\nopens = "{opens}"\ncloses = "{closes}"\n\n[store.tier_benefits]',
        1,
    )
    return parse_rule_book(toml)


def _message(key: str, at: datetime) -> Message:
    return Message(key, "m-1", "welcome", "join", Channel.SMS, "fake", "hi", MessageStatus.QUEUED, at)


def window_hold(
    message: Message, member: Member, rule: RuleConfig, book: RuleBook, now: datetime, store_zone: str
) -> tuple[datetime, str] | None:
    """The quiet-hours part of the eligibility decision, as (send after, reason)."""
    held = quiet_hold(message.message_id, member, rule, Policy(book, store_zone), now)
    return None if held is None else (held.until, held.reason)


@PROPERTY
@given(zone_and_instant(), keys)
def test_window_hold_is_none_when_open_and_otherwise_the_next_opening(zi: tuple[ZoneInfo, datetime], key: str) -> None:
    tz, now = zi
    member = Member("m-1", timezone=tz.key)
    rule = BOOK.rules["welcome"]
    held = window_hold(_message(key, now), member, rule, BOOK, now, "Asia/Shanghai")
    quiet = BOOK.store.quiet_hours
    if quiet.is_open(now, tz):
        assert held is None
    else:
        assert held is not None
        assert held[0] == quiet.next_opening(now, tz, key)
        assert held[1] == f"quiet hours: sends 08:00–21:00 {tz.key}"


@PROPERTY
@given(zone_and_instant(), keys)
def test_a_member_without_a_zone_gets_the_stores(zi: tuple[ZoneInfo, datetime], key: str) -> None:
    tz, now = zi
    rule = BOOK.rules["welcome"]
    zoneless = window_hold(_message(key, now), Member("m-1"), rule, BOOK, now, tz.key)
    zoned = window_hold(_message(key, now), Member("m-1", timezone=tz.key), rule, BOOK, now, "Asia/Shanghai")
    assert zoneless == zoned


@PROPERTY
@given(zone_and_instant(), keys)
def test_an_urgent_rule_is_never_held(zi: tuple[ZoneInfo, datetime], key: str) -> None:
    _, now = zi
    welcome = BOOK.rules["welcome"]
    urgent = type(welcome)(**{**welcome.__dict__, "params": {**welcome.params, "urgent": True}})
    assert window_hold(_message(key, now), Member("m-1"), urgent, BOOK, now, "America/Santiago") is None


# -- a store window across midnight ------------------------------------------------------------------

NIGHT = _book_with_store_window("22:00", "06:00")


def test_a_window_across_midnight_is_configurable() -> None:
    assert NIGHT.store.quiet_hours == QuietHours(time(22, 0), time(6, 0), 20)


def _shanghai(hh: int, mm: int, day: int = 22) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_a_window_across_midnight_is_open_late_and_early_and_closed_by_day() -> None:
    quiet, tz = NIGHT.store.quiet_hours, ZoneInfo("Asia/Shanghai")
    for hh, mm in ((22, 0), (23, 59), (0, 0), (3, 0), (5, 59)):
        assert quiet.is_open(_shanghai(hh, mm), tz), (hh, mm)
    for hh, mm in ((6, 0), (12, 0), (21, 59)):
        assert not quiet.is_open(_shanghai(hh, mm), tz), (hh, mm)


def test_a_window_across_midnight_reopens_the_same_evening() -> None:
    tz, key = ZoneInfo("Asia/Shanghai"), "m0123"
    now = _shanghai(6, 0)
    held = window_hold(_message(key, now), Member("m-1"), NIGHT.rules["welcome"], NIGHT, now, "Asia/Shanghai")
    assert held is not None
    assert held[0] == _shanghai(22, 0) + spread(key, 20)
    assert held[1] == "quiet hours: sends 22:00–06:00 Asia/Shanghai"
    assert (
        window_hold(
            _message(key, _shanghai(1, 0)),
            Member("m-1"),
            NIGHT.rules["welcome"],
            NIGHT,
            _shanghai(1, 0),
            "Asia/Shanghai",
        )
        is None
    )
    assert NIGHT.store.quiet_hours.next_opening(now, tz, key).astimezone(tz).date() == date(2026, 11, 22)


@PROPERTY
@given(zone_and_instant(), keys)
def test_a_window_across_midnight_holds_the_properties_too(zi: tuple[ZoneInfo, datetime], key: str) -> None:
    tz, now = zi
    quiet = NIGHT.store.quiet_hours
    opening = quiet.next_opening(now, tz, key)
    assert opening >= now and quiet.is_open(opening, tz)
    assert opening - now < timedelta(hours=16, minutes=21) + timedelta(hours=1)


# -- DST examples, spelled out ------------------------------------------------------------------------


def test_the_night_before_spring_forward_in_new_york_reopens_at_eight_edt() -> None:
    tz = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 8, 1, 30, tzinfo=tz).astimezone(UTC)  # 01:30 EST, clocks jump at 02:00
    opening = QuietHours(spread_minutes=0).next_opening(now, tz, "m1")
    assert opening == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT (UTC-4)


def test_the_night_before_fall_back_in_london_reopens_at_eight_gmt() -> None:
    tz = ZoneInfo("Europe/London")
    now = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # 00:00 BST on the Sunday clocks go back
    opening = QuietHours(spread_minutes=0).next_opening(now, tz, "m1")
    assert opening == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 08:00 GMT


def test_an_opening_inside_the_santiago_midnight_gap_moves_forward_by_the_gap() -> None:
    tz = ZoneInfo("America/Santiago")
    # 2026-09-06: clocks jump from 00:00 to 01:00 (-04 → -03); a window opening at 00:30
    quiet = QuietHours(time(0, 30), time(6, 0), 0)
    now = datetime(2026, 9, 5, 22, 0, tzinfo=tz).astimezone(UTC)
    opening = quiet.next_opening(now, tz, "m1")
    assert opening.astimezone(tz).time() == time(1, 30)
    assert quiet.is_open(opening, tz)


def test_a_spread_across_a_fall_back_still_lands_inside_the_window() -> None:
    tz = ZoneInfo("Pacific/Chatham")  # 2025-04-06 03:45 CHADT → 02:45 CHAST
    quiet = QuietHours(time(3, 5), time(4, 51), 45)
    now = datetime(2025, 4, 5, 0, 0, tzinfo=UTC)
    opening = quiet.next_opening(now, tz, "m0")
    assert quiet.is_open(opening, tz), opening.astimezone(tz)


# -- an opening inside a repeated (fall-back) hour ---------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")  # 2026-11-01: 02:00 EDT → 01:00 EST, so 01:00–02:00 twice


def _ny(hh: int, mm: int, fold: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=NEW_YORK, fold=fold).astimezone(UTC)


def test_a_window_opening_in_the_repeated_hour_opens_once_that_day_not_a_day_later() -> None:
    quiet = QuietHours(time(1, 30), time(6, 0), 0)
    # Before the first 01:30: it opens at the first 01:30 (EDT)
    assert quiet.next_opening(_ny(0, 45), NEW_YORK, "m1") == _ny(1, 30)
    # After the clocks went back, the window opened 40 minutes ago and closes at 06:00 EST: open now,
    # not "closed until 01:30 tomorrow"
    now = _ny(1, 10, fold=1)
    assert quiet.is_open(now, NEW_YORK)
    assert quiet.next_opening(now, NEW_YORK, "m1") == now
    # and it stays open until its closing, once
    assert quiet.is_open(_ny(1, 40, fold=1), NEW_YORK)
    assert not quiet.is_open(_ny(6, 0), NEW_YORK)


def test_a_window_closing_in_the_repeated_hour_closes_once_and_does_not_reopen() -> None:
    quiet = QuietHours(time(20, 0), time(1, 30), 0)
    assert quiet.is_open(_ny(1, 20), NEW_YORK)
    assert not quiet.is_open(_ny(1, 30), NEW_YORK)
    # 01:20 EST is after 01:30 EDT: the window closed 50 minutes ago
    assert not quiet.is_open(_ny(1, 20, fold=1), NEW_YORK)
    assert quiet.next_opening(_ny(1, 20, fold=1), NEW_YORK, "m1") == _ny(20, 0)


@st.composite
def early_windows(draw: st.DrawFn) -> QuietHours:
    """Windows opening or closing in 00:00–04:00, where the DST switches of the sample zones are."""
    opens = draw(st.integers(min_value=0, max_value=4 * 60))
    length = draw(st.integers(min_value=61, max_value=1439 - 61))
    if draw(st.booleans()):
        return QuietHours(_clock(opens), _clock((opens + length) % 1440), 0)
    return QuietHours(_clock((opens - length) % 1440), _clock(opens), 0)


def _opening_instants(quiet: QuietHours, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Minutes when the window goes from closed to open, by scanning."""
    found = []
    t = start.replace(second=0, microsecond=0)
    was = quiet.is_open(t, tz)
    while t <= end:
        t += timedelta(minutes=1)
        now_open = quiet.is_open(t, tz)
        if now_open and not was:
            found.append(t)
        was = now_open
    return found


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney", "Pacific/Chatham"]), early_windows())
def test_a_window_opens_once_a_day_across_a_dst_switch(name: str, quiet: QuietHours) -> None:
    tz = ZoneInfo(name)
    for switch in transitions(name)[:2]:
        start = switch - timedelta(hours=12)
        openings = _opening_instants(quiet, tz, start, start + timedelta(hours=48))
        days = [t.astimezone(tz).date() for t in openings]
        assert len(days) == len(set(days)), [t.astimezone(tz) for t in openings]
        # and next_opening finds each of them from the minute before
        for t in openings:
            assert quiet.next_opening(t - timedelta(minutes=1), tz, "m1") == t
