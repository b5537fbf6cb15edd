"""The one eligibility decision (domain/eligibility.py), as a table: member, rule, channel, stage,
time → go / suppress / defer / fail, with the reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.eligibility import Ask, Defer, Fail, Go, Policy, Stage, Suppress, decide
from chalicelib.domain.model import Channel, Consent, Member, MessageStatus
from chalicelib.domain.rulebook import RuleBook, RuleConfig
from tests.fakes import NOW, member, rule_book

BOOK = rule_book()
POLICY = Policy(BOOK, "Asia/Shanghai")  # NOW is 16:00 in Shanghai: inside 08:00–21:00
NIGHT = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
WELCOME = BOOK.rules["welcome"]  # transactional, IM then SMS
PROMO = BOOK.rules["new_arrivals"]  # marketing, SMS only


def ask(
    m: Member | None, rule: RuleConfig | None = WELCOME, *, channels: tuple[Channel, ...] | None = None, **kw: object
) -> Ask:
    chosen = channels if channels is not None else (rule.channels if rule else (Channel.SMS,))
    return Ask(m, rule, chosen, "m0123456789", NOW, **kw)  # type: ignore[arg-type]


def with_rule(rule: RuleConfig, **params: object) -> RuleConfig:
    return replace(rule, params={**rule.params, **params})


CASES: list[tuple[str, Ask, datetime, object]] = [
    ("IM first when the member has IM and consents", ask(member()), NOW, Go(Channel.IM)),
    ("SMS when there is no IM id", ask(member(im_user_id=None)), NOW, Go(Channel.SMS)),
    ("the member is gone", ask(None), NOW, Suppress("member no longer exists")),
    ("marketing without marketing consent", ask(member(), PROMO), NOW, Suppress("no marketing consent")),
    (
        "no consent on either channel",
        ask(member(consent=Consent(sms=False, im=False))),
        NOW,
        Suppress("no im consent; no sms consent"),
    ),
    (
        "a fixed line cannot take SMS (kept on the profile)",
        ask(member(im_user_id=None, phone="+862161234567"), channels=(Channel.SMS,)),
        NOW,
        Suppress("sms unavailable: a fixed line cannot receive SMS"),
    ),
    (
        "a 400 number cannot take SMS",
        ask(member(im_user_id=None, phone="+864008123456"), channels=(Channel.SMS,)),
        NOW,
        Suppress("sms unavailable: a shared-cost number (such as China's 400) cannot receive SMS"),
    ),
    (
        "unreachable is a failure at send time",
        ask(member(unreachable={"sms": "invalid address"}), channels=(Channel.SMS,), stage=Stage.SEND),
        NOW,
        Fail("sms unreachable: invalid address"),
    ),
    (
        "unreachable is a suppression when planning",
        ask(member(unreachable={"sms": "invalid address"}), channels=(Channel.SMS,)),
        NOW,
        Suppress("sms unreachable: invalid address"),
    ),
    (
        "quiet hours defer to the member's next opening, on the chosen channel",
        ask(member()),
        NIGHT,
        "defer-im",
    ),
    (
        "an urgent rule is never held",
        ask(member(), with_rule(WELCOME, urgent=True)),
        NIGHT,
        Go(Channel.IM),
    ),
    (
        "its own send_after holds it",
        ask(member(), send_after=NOW + timedelta(hours=1), reason="waiting"),
        NOW,
        Defer(NOW + timedelta(hours=1), "waiting", Channel.IM),
    ),
    (
        "an opt-out confirmation goes without consent",
        ask(member(consent=Consent(sms=False)), with_rule(WELCOME, confirms_opt_out=True), channels=(Channel.SMS,)),
        NOW,
        Go(Channel.SMS),
    ),
    (
        "HELP goes without consent",
        ask(member(consent=Consent(sms=False)), with_rule(WELCOME, answers_opted_out=True), channels=(Channel.SMS,)),
        NOW,
        Go(Channel.SMS),
    ),
]


@pytest.mark.parametrize(("case", "question", "now", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_decision(case: str, question: Ask, now: datetime, expected: object) -> None:
    decision = decide(question, POLICY, now)
    if expected == "defer-im":
        assert isinstance(decision, Defer) and decision.channel is Channel.IM
        assert decision.until > now and decision.reason == "quiet hours: sends 08:00–21:00 Asia/Shanghai"
        return
    assert decision == expected


def test_a_full_cap_defers_to_the_next_period_or_caps() -> None:
    m = member(consent=Consent(marketing=True), im_user_id=None)
    week = "cap#m-1#week#2026-W47"
    deferred = decide(ask(m, PROMO, cap_full=week), POLICY, NOW)
    assert isinstance(deferred, Defer) and deferred.reason == "frequency cap: 2 marketing messages a calendar week"
    impatient = with_rule(PROMO, max_defer_days=0)
    capped = decide(ask(m, impatient, cap_full=week), POLICY, NOW)
    assert isinstance(capped, Suppress) and capped.status is MessageStatus.CAPPED


def test_the_same_question_gets_the_same_answer_whatever_asks_it() -> None:
    """Planning, the sender and the fallback ask the same function: one answer for one question."""
    question = ask(member(im_user_id=None, consent=Consent(sms=False)), channels=(Channel.SMS,))
    answers = {decide(replace(question, stage=stage), POLICY, NOW) for stage in Stage}
    assert answers == {Suppress("no sms consent")}


def test_an_unknown_rule_still_checks_the_member() -> None:
    assert decide(ask(member(consent=Consent(sms=False)), None, channels=(Channel.SMS,)), POLICY, NOW) == Suppress(
        "no sms consent"
    )


def test_a_book_without_quiet_hours_rule_uses_the_stores() -> None:
    book = RuleBook(BOOK.store, dict(BOOK.rules))
    assert isinstance(decide(ask(member()), Policy(book, "Asia/Shanghai"), NIGHT), Defer)
