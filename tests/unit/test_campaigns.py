"""Campaigns as data (domain/campaigns.py, domain/campaign_planning.py): validation naming the field,
sticky arms, each member's send moment, and the planned message or control record."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from chalicelib.domain.campaign_planning import campaign_message_id, plan_campaign_message
from chalicelib.domain.campaigns import (
    CONTROL,
    arm_for,
    campaign_from_data,
    campaign_to_data,
    parse_campaign,
    send_moment,
    start_moment,
)
from chalicelib.domain.eligibility import Policy
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Channel, Consent, MessageStatus
from tests.fakes import member, rule_book

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
BOOK = rule_book()


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "新火车到店",
        "segment_id": "parents-3-6",
        "channels": ["sms"],
        "send_at": "2026-11-22T02:00:00Z",
        "holdout_percent": 20,
        "variants": [
            {"id": "a", "weight": 1, "templates": {"zh-CN": "{{ member.name }}，新火车到店啦！"}},
            {
                "id": "b",
                "weight": 1,
                "templates": {"zh-CN": "小火车来了，周末带孩子来试玩！", "en": "Trains are here!"},
            },
        ],
        "reply_keyword": {
            "keyword": "团圆",
            "expires_at": "2026-11-30T16:00:00Z",
            "action": {"coupon": {"title": "团圆券", "value": 20, "expires_on": "2026-12-31"}},
        },
        "poll": {"options": {"1": "恐龙", "2": "火车"}, "closes_at": "2026-11-29T16:00:00Z"},
    }
    base.update(changes)
    return base


def test_a_campaign_round_trips_through_its_stored_shape() -> None:
    c = parse_campaign("c1", body(), NOW, BOOK.store)
    again = campaign_from_data(campaign_to_data(c))
    assert campaign_to_data(again) == campaign_to_data(c)
    assert again.reply_keyword is not None and again.reply_keyword.action.coupon is not None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": []}, "variants"),
        ({"variants": [{"id": f"v{i}", "templates": {"zh-CN": "x"}} for i in range(9)]}, "variants"),
        ({"variants": [{"id": "control", "templates": {"zh-CN": "x"}}]}, "variants[0].id"),
        ({"variants": [{"id": "a", "weight": 0, "templates": {"zh-CN": "x"}}]}, "variants[0].weight"),
        ({"variants": [{"id": "a", "templates": {"fr": "x"}}]}, "variants[0].templates.fr"),
        ({"variants": [{"id": "a", "templates": {"zh-CN": "{% if %}"}}]}, "variants[0].templates.zh-CN"),
        ({"variants": [{"id": "a", "templates": {"zh-CN": "长" * 400}}]}, "variants[0].templates.zh-CN"),
        ({"holdout_percent": 60}, "holdout_percent"),
        ({"channels": ["fax"]}, "channels"),
        ({"class": "spam"}, "class"),
        ({"send_at": "tomorrow"}, "send_at"),
        ({"send_on": "2026-11-23"}, "send_at"),
        ({"send_at": None, "send_on": "2026-11-23", "local_time": "25:00"}, "local_time"),
        ({"conversion_window_hours": 0}, "conversion_window_hours"),
        (
            {"reply_keyword": {"keyword": "", "expires_at": "2026-11-30T00:00:00Z", "action": {"tag": "x"}}},
            "reply_keyword.keyword",
        ),
        (
            {"reply_keyword": {"keyword": "k", "expires_at": "2026-11-30T00:00:00Z", "action": {"gift": 1}}},
            "reply_keyword.action",
        ),
        ({"poll": {"options": {"1": "only"}, "closes_at": "2026-11-30T00:00:00Z"}}, "poll.options"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_campaign("c1", body(**changes), NOW, BOOK.store)
    assert field in caught.value.fields, caught.value.fields


def test_a_members_arm_is_sticky_and_the_split_follows_weights_and_holdout() -> None:
    c = parse_campaign("c1", body(), NOW, BOOK.store)
    arms = [arm_for(f"m-{i}", c) for i in range(20000)]
    assert arms == [arm_for(f"m-{i}", c) for i in range(20000)]
    counts = Counter(arms)
    assert counts[CONTROL] / 20000 == pytest.approx(0.20, abs=0.01)
    assert counts["a"] / 20000 == pytest.approx(0.40, abs=0.015)
    other = parse_campaign("c2", body(), NOW, BOOK.store)
    assert [arm_for(f"m-{i}", other) for i in range(200)] != arms[:200]  # another campaign, another draw


def test_ten_oclock_wherever_they_are() -> None:
    c = parse_campaign("c1", body(send_at=None, send_on="2026-11-23", local_time="10:00"), NOW, BOOK.store)
    shanghai = member("m-1")
    la = member("m-2", timezone="America/Los_Angeles")
    assert send_moment(c, shanghai, "Asia/Shanghai") == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert send_moment(c, la, "Asia/Shanghai") == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert start_moment(c) == datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 10:00 at UTC+14
    assert c.send_on == date(2026, 11, 23) and c.local_time == time(10, 0)


def test_planned_message_control_record_and_suppression() -> None:
    policy = Policy(BOOK, "Asia/Shanghai")
    providers = {Channel.SMS: "sandbox", Channel.IM: "sandbox"}
    c = parse_campaign("c1", body(), NOW, BOOK.store)
    keen = member("m-1", consent=Consent(sms=True, im=True, marketing=True))
    sent = plan_campaign_message(keen, c, "a", policy, providers, NOW)
    assert sent.message_id == campaign_message_id("m-1", "c1")
    assert (sent.status, sent.trigger, sent.campaign_id, sent.variant) == (MessageStatus.QUEUED, "campaign", "c1", "a")
    assert sent.text.startswith("王小明，新火车到店啦！") and "回T退订" in sent.text
    held = plan_campaign_message(keen, c, CONTROL, policy, providers, NOW)
    assert (held.status, held.text, held.variant, held.message_id) == (
        MessageStatus.CONTROL,
        "",
        CONTROL,
        sent.message_id,
    )
    no_consent = plan_campaign_message(member("m-3"), c, "b", policy, providers, NOW)
    assert no_consent.status is MessageStatus.SUPPRESSED and no_consent.reason == "no marketing consent"
    early = plan_campaign_message(keen, c, "a", policy, providers, datetime(2026, 11, 21, 23, 0, tzinfo=UTC))
    assert early.status is MessageStatus.DEFERRED and early.send_after == NOW
