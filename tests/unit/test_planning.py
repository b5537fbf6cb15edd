"""From a trigger to a message: channel by address + consent, text by locale, suppression with a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from chalicelib.domain.eligibility import Policy
from chalicelib.domain.ids import message_id
from chalicelib.domain.model import Channel, Consent, Member, Message, MessageStatus
from chalicelib.domain.planning import describe
from chalicelib.domain.planning import plan_message as plan
from chalicelib.domain.rulebook import RuleBook
from chalicelib.domain.triggers import Trigger
from tests.fakes import NOW, member, rule_book

PROVIDERS = {Channel.SMS: "aliyun", Channel.IM: "agora"}


def plan_message(
    m: Member, trigger: Trigger, book: RuleBook, providers: dict[Channel, str], now: datetime, **options: Any
) -> Message:
    return plan(m, trigger, Policy(book, "Asia/Shanghai"), providers, now, **options)


def welcome(member_id: str = "m-1") -> Trigger:
    return Trigger("welcome", member_id, "join", NOW)


def test_im_is_chosen_when_the_member_has_an_im_id_and_consents() -> None:
    message = plan_message(member(), welcome(), rule_book(), PROVIDERS, NOW)
    assert (message.channel, message.provider, message.status) == (Channel.IM, "agora", MessageStatus.QUEUED)
    assert message.reason is None
    assert message.message_id == message_id("m-1", "welcome", "join")
    assert message.history[0].status is MessageStatus.QUEUED


def test_sms_is_chosen_without_an_im_id() -> None:
    message = plan_message(member(im_user_id=None), welcome(), rule_book(), PROVIDERS, NOW)
    assert (message.channel, message.provider, message.status) == (Channel.SMS, "aliyun", MessageStatus.QUEUED)


def test_sms_is_chosen_when_im_consent_is_withdrawn() -> None:
    m = member(consent=Consent(sms=True, im=False))
    assert plan_message(m, welcome(), rule_book(), PROVIDERS, NOW).channel is Channel.SMS


def test_no_reachable_channel_is_suppressed_with_every_reason() -> None:
    m = member(im_user_id=None, consent=Consent(sms=False, im=True))
    message = plan_message(m, welcome(), rule_book(), PROVIDERS, NOW)
    assert message.status is MessageStatus.SUPPRESSED
    assert message.reason == "no im address; no sms consent"
    assert message.history[0].reason == message.reason
    assert message.channel is Channel.IM  # the rule's first channel, for the record


def test_marketing_without_marketing_consent_is_suppressed() -> None:
    trigger = Trigger("new_arrivals", "m-1", "2026-11", NOW)
    message = plan_message(member(), trigger, rule_book(), PROVIDERS, NOW)
    assert (message.status, message.reason, message.rule_class) == (
        MessageStatus.SUPPRESSED,
        "no marketing consent",
        "marketing",
    )


def test_marketing_with_marketing_consent_is_queued() -> None:
    m = member(consent=Consent(marketing=True))
    trigger = Trigger("new_arrivals", "m-1", "2026-11", NOW)
    message = plan_message(m, trigger, rule_book(), PROVIDERS, NOW)
    assert (message.status, message.channel) == (MessageStatus.QUEUED, Channel.SMS)


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh-CN", "王小明，欢迎加入乐乐玩具！"),
        ("zh-TW", "王小明，歡迎加入乐乐玩具！"),
        ("en", "Welcome to 乐乐玩具, 王小明!"),
    ],
)
def test_the_members_locale_picks_the_template(locale: str, text: str) -> None:
    assert plan_message(member(locale=locale), welcome(), rule_book(), PROVIDERS, NOW).text == text


def test_a_missing_locale_template_falls_back_to_zh_cn_and_facts_are_variables() -> None:
    facts = {"tier": {"name": "gold", "old": "regular", "benefits": "全场9折"}}
    trigger = Trigger("tier_upgraded", "m-1", "tier:gold", NOW, facts)
    message = plan_message(member(locale="en"), trigger, rule_book(), PROVIDERS, NOW)
    assert message.text == "恭喜升级为gold会员：全场9折"
    no_benefits = Trigger("tier_upgraded", "m-1", "tier:gold", NOW, {"tier": {"name": "gold", "benefits": None}})
    assert plan_message(member(), no_benefits, rule_book(), PROVIDERS, NOW).text == "恭喜升级为gold会员：详见会员中心"


def test_an_unnamed_member_gets_the_default_greeting() -> None:
    assert plan_message(member(name="", locale="en"), welcome(), rule_book(), PROVIDERS, NOW).text == (
        "Welcome to 乐乐玩具, friend!"
    )


def test_the_rules_channel_order_decides() -> None:
    book = rule_book()
    sms_first = replace(book.rules["welcome"], channels=(Channel.SMS, Channel.IM))
    book = RuleBook(book.store, {**book.rules, "welcome": sms_first})
    assert plan_message(member(), welcome(), book, PROVIDERS, NOW).channel is Channel.SMS


def test_describe_has_the_contract_shape() -> None:
    message = plan_message(member(), welcome(), rule_book(), PROVIDERS, NOW)
    assert describe(message) == {
        "message_id": message.message_id,
        "trigger": "welcome",
        "channel": "im",
        "provider": "agora",
        "status": "queued",
        "text": "王小明，欢迎加入乐乐玩具！",
        "created_at": "2026-11-22T08:00:00Z",
    }


def test_describe_adds_optional_fields_only_when_set() -> None:
    message = plan_message(member(), welcome(), rule_book(), PROVIDERS, NOW)
    message.status = MessageStatus.DELIVERED
    message.sent_at = NOW
    message.delivered_at = NOW
    message.parts = 2
    message.reason = "why"
    message.variant = "B"
    out = describe(message)
    assert out["status"] == "delivered"
    assert out["sent_at"] == out["delivered_at"] == "2026-11-22T08:00:00Z"
    assert (out["parts"], out["reason"], out["variant"]) == (2, "why", "B")
    assert "read_at" not in out and "send_after" not in out


# -- member-supplied text ---------------------------------------------------------------------------


def test_a_long_name_never_takes_an_sms_past_its_rules_parts() -> None:
    from chalicelib.domain.rulebook import load_rule_book

    book = load_rule_book()
    m = member(im_user_id=None, name="王" * 300 + "\n回T退订\u202e")
    message = plan_message(m, welcome(), book, PROVIDERS, NOW)
    assert message.channel is Channel.SMS
    assert message.parts is not None and message.parts <= book.rules["welcome"].max_sms_parts
    assert "\n" not in message.text and "\u202e" not in message.text and "…" in message.text


def test_a_link_in_a_members_name_is_not_made_a_tracked_link() -> None:
    seen: list[str] = []

    def shorten(mid: str, text: str) -> str:
        seen.append(text)
        return text.replace("https://", "https://t.example/r/")

    m = member(im_user_id=None, name="https://evil.io")
    message = plan_message(m, welcome(), rule_book(), PROVIDERS, NOW, shorten=shorten)
    assert "https://evil.io" in message.text and "t.example" not in message.text
    assert all("evil.io" not in text for text in seen)
