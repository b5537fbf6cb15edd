"""Store activities, pure: the PUT body (every bad field named), what a registration's change
means, feedback replies, the check-in code, signed links, the last open minute before a moment and
a message's send-before expiry in the one eligibility decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.action_links import ActionLinks, make_token, member_ref, read_token
from chalicelib.domain.activities import (
    Activity,
    ActivityStatus,
    EventKind,
    Registration,
    RegistrationStatus,
    WaitlistMode,
    changes,
    check_in_code,
    registration_event,
)
from chalicelib.domain.activity_input import parse_activity
from chalicelib.domain.activity_words import load_activity_words, split_choice
from chalicelib.domain.eligibility import Ask, Defer, Go, Policy, Stage, Suppress, decide
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.feedback import merge_feedback, parse_feedback
from chalicelib.domain.governance import QuietHours
from chalicelib.domain.rulebook import load_rule_book
from tests.fakes import member

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
BODY = {
    "title": "周六积木大赛",
    "starts_at": "2026-11-28T14:00:00+08:00",
    "ends_at": "2026-11-28T16:00:00+08:00",
    "location": "万象城店",
    "capacity": 5,
}


def errors(body: object, existing: Activity | None = None) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_activity("sat-lego", body, existing, NOW)
    return caught.value.fields


# -- the PUT body ----------------------------------------------------------------------------------


def test_a_new_activity_gets_the_contracts_defaults() -> None:
    a = parse_activity("sat-lego", BODY, None, NOW)
    assert a.starts_at == datetime(2026, 11, 28, 6, 0, tzinfo=UTC) and a.utc_offset_minutes == 480
    assert (a.signup_keyword, a.waitlist_mode, a.claim_minutes) == ("报名", WaitlistMode.AUTO, 120)
    assert (a.reminders_minutes, a.feedback_after_minutes, a.status) == ((1440, 60), 60, ActivityStatus.OPEN)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": "5"}, "capacity"),
        ({"ends_at": "2026-11-28T13:00:00+08:00"}, "ends_at"),
        ({"ends_at": "2026-11-28T14:00:00+08:00"}, "ends_at"),
        ({"starts_at": "2026-11-28 14:00"}, "starts_at"),
        ({"signup_closes_at": "2026-11-29T00:00:00Z"}, "signup_closes_at"),
        ({"waitlist": {"mode": "lottery"}}, "waitlist.mode"),
        ({"waitlist": {"mode": "offer", "claim_minutes": 0}}, "waitlist.claim_minutes"),
        ({"reminders_minutes": [60, -5]}, "reminders_minutes"),
        ({"feedback_after_minutes": 1441}, "feedback_after_minutes"),
        ({"status": "maybe"}, "status"),
        ({"invite": ["ok", "not ok!"]}, "invite[1]"),
        ({"colour": "red"}, "colour"),
        ({"signup_keyword": "！！"}, "signup_keyword"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, object], field: str) -> None:
    assert field in errors({**BODY, **change})


def test_a_new_activity_needs_its_title_times_place_and_capacity() -> None:
    assert set(errors({})) == {"title", "starts_at", "ends_at", "location", "capacity"}
    assert errors([]) == {"body": "must be a JSON object"}


def test_an_update_keeps_what_it_does_not_mention_and_checks_the_whole() -> None:
    a = parse_activity("sat-lego", BODY, None, NOW)
    moved = parse_activity("sat-lego", {"location": "大悦城店"}, a, NOW + timedelta(hours=1))
    assert moved.title == a.title and moved.location == "大悦城店" and moved.created_at == NOW
    assert "ends_at" in errors({"starts_at": "2026-11-28T17:00:00+08:00"}, a)


def test_a_cancelled_activity_cannot_be_reopened() -> None:
    cancelled = replace(parse_activity("sat-lego", BODY, None, NOW), status=ActivityStatus.CANCELLED)
    assert "status" in errors({"status": "open"}, cancelled)


def test_changes_members_hear_about_are_time_place_and_cancellation() -> None:
    a = parse_activity("sat-lego", BODY, None, NOW)
    assert changes(a, replace(a, starts_at=a.starts_at + timedelta(hours=1))) == ("starts_at",)
    assert changes(a, replace(a, location="x", title="y")) == ("location",)
    assert changes(a, replace(a, status=ActivityStatus.CANCELLED)) == ("status",)
    assert changes(a, replace(a, status=ActivityStatus.CLOSED, capacity=9)) == ()


# -- registrations ---------------------------------------------------------------------------------


def reg(status: RegistrationStatus, ticket: int = 1) -> Registration:
    return Registration("sat-lego", "m-1", status, ticket, NOW)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (None, reg(RegistrationStatus.CONFIRMED), EventKind.REGISTERED),
        (None, reg(RegistrationStatus.WAITLISTED), EventKind.WAITLISTED),
        (reg(RegistrationStatus.WAITLISTED), reg(RegistrationStatus.CONFIRMED), EventKind.PROMOTED),
        (reg(RegistrationStatus.WAITLISTED), reg(RegistrationStatus.OFFERED), EventKind.OFFERED),
        (reg(RegistrationStatus.OFFERED), reg(RegistrationStatus.CONFIRMED), EventKind.PROMOTED),
        (reg(RegistrationStatus.CONFIRMED), reg(RegistrationStatus.CANCELLED), EventKind.CANCELLED),
        (reg(RegistrationStatus.CANCELLED), reg(RegistrationStatus.CONFIRMED, 7), EventKind.REGISTERED),
        (reg(RegistrationStatus.CONFIRMED), replace(reg(RegistrationStatus.CONFIRMED), checked_in_at=NOW), None),
    ],
)
def test_what_a_registrations_change_means(old: Registration | None, new: Registration, kind: EventKind | None) -> None:
    assert registration_event(old, new) == kind


def test_a_no_show_held_a_seat_at_the_end_and_never_checked_in() -> None:
    a = parse_activity("sat-lego", BODY, None, NOW)
    seated = reg(RegistrationStatus.CONFIRMED)
    after = a.ends_at + timedelta(minutes=1)
    assert seated.no_show(a, after) and not seated.no_show(a, a.starts_at)
    assert not replace(seated, checked_in_at=a.starts_at).no_show(a, after)
    assert not reg(RegistrationStatus.WAITLISTED).no_show(a, after)


def test_offers_stop_two_hours_before_the_start_and_never_outlast_it() -> None:
    a = replace(parse_activity("sat-lego", BODY, None, NOW), waitlist_mode=WaitlistMode.OFFER)
    assert a.promotes(a.starts_at - timedelta(hours=3)) and not a.promotes(a.starts_at - timedelta(hours=1))
    assert a.offer_deadline(a.starts_at - timedelta(minutes=30)) == a.starts_at
    auto = replace(a, waitlist_mode=WaitlistMode.AUTO)
    assert auto.promotes(a.starts_at - timedelta(minutes=5)) and not auto.promotes(a.starts_at)


def test_check_in_codes_are_short_readable_and_differ_per_place() -> None:
    code = check_in_code("sat-lego", "m-1", 1)
    assert len(code) == 6 and not set(code) & set("01IOL")
    assert code == check_in_code("sat-lego", "m-1", 1) != check_in_code("sat-lego", "m-1", 2)


# -- feedback replies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rating", "words"),
    [
        ("5 太好玩了", 5, "太好玩了"),
        ("５分！", 5, None),
        ("⭐⭐⭐⭐", 4, None),
        ("★★★ 还行", 3, "还行"),
        ("4/5 great fun", 4, "great fun"),
        ("太好玩了", None, "太好玩了"),
        ("3岁男孩", None, "3岁男孩"),
        ("10", None, "10"),
        ("", None, None),
    ],
)
def test_a_rating_and_words(text: str, rating: int | None, words: str | None) -> None:
    said = parse_feedback(text)
    assert (said.rating, said.text) == (rating, words)


def test_later_messages_add_to_the_feedback() -> None:
    first = merge_feedback(None, parse_feedback("5 太好玩了"), (), NOW)
    both = merge_feedback(first, parse_feedback(""), ("https://img/1",), NOW)
    assert (both.rating, both.text, both.media) == (5, "太好玩了", ("https://img/1",))


# -- words, links ----------------------------------------------------------------------------------


def test_the_activity_words_and_numbered_choices() -> None:
    words = load_activity_words()
    assert words.is_cancel("请假") and words.is_cancel(" Cancel! ") and words.is_claim("确认") and words.is_claim("YES")
    assert not words.is_cancel("取消订阅")
    assert split_choice("报名2") == ("报名", 2) and split_choice("报名") == ("报名", None)


def test_a_signed_link_names_its_action_activity_and_member_without_showing_the_member() -> None:
    token = make_token("cancel", "sat-lego", "+8613800138000", "k")
    assert "138" not in token
    parsed = read_token("sat-lego", token, "k")
    assert parsed is not None and parsed.action == "cancel" and parsed.ref == member_ref("+8613800138000", "k")
    assert read_token("other", token, "k") is None and read_token("sat-lego", token, "other-key") is None
    assert read_token("sat-lego", token[:-1] + ("A" if token[-1] != "A" else "B"), "k") is None
    assert ActionLinks("https://api.example/", "k").url("claim", "sat-lego", "m-1") == (
        f"https://api.example/a/sat-lego/{make_token('claim', 'sat-lego', 'm-1', 'k')}"
    )
    assert ActionLinks("", "k").url("claim", "sat-lego", "m-1") is None


# -- the last open minute before, and send-before ---------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 11, 28, 14, 0), (2026, 11, 28, 14, 0)),  # open: itself
        ((2026, 11, 28, 7, 30), (2026, 11, 27, 20, 59)),  # before opening: the evening before
        ((2026, 11, 28, 22, 15), (2026, 11, 28, 20, 59)),  # after closing: that evening
        ((2026, 11, 28, 0, 5), (2026, 11, 27, 20, 59)),
    ],
)
def test_the_last_open_minute_before_a_moment(local: tuple[int, ...], expected: tuple[int, ...]) -> None:
    at = datetime(*local, tzinfo=SHANGHAI)
    got = QuietHours().last_open_minute_before(at, SHANGHAI)
    assert got.astimezone(SHANGHAI).replace(tzinfo=None) == datetime(*expected)
    assert got <= at


def test_a_window_across_midnight() -> None:
    night = QuietHours(opens=datetime(2000, 1, 1, 20, 0).time(), closes=datetime(2000, 1, 1, 2, 0).time())
    at = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
    assert night.last_open_minute_before(at, SHANGHAI) == datetime(2026, 11, 28, 1, 59, tzinfo=SHANGHAI)


def test_a_message_that_would_go_at_or_after_its_send_before_is_suppressed_as_expired() -> None:
    book = load_rule_book()
    policy = Policy(book, "Asia/Shanghai")
    rule = book.rules["activity_reminder"]
    m = member("m-1")
    start = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    ask = Ask(m, rule, rule.channels, "mid", NOW, Stage.SEND, send_before=start)
    assert isinstance(decide(ask, policy, start - timedelta(hours=1)), Go)
    late = decide(ask, policy, start + timedelta(minutes=1))
    assert isinstance(late, Suppress) and late.reason.startswith("expired")
    # 23:00 the night before: quiet hours would hold it to 08:00, after a 07:30 start
    early_start = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    night = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    held = decide(replace(ask, send_before=early_start), policy, night)
    assert isinstance(held, Suppress) and "expired" in held.reason
    assert isinstance(decide(replace(ask, send_before=None), policy, night), Defer)
