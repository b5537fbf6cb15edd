"""The funnel (domain/funnel.py): a message's funnel key, suppression reason codes, the query
string, and a period's counters summed per group. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.funnel import FunnelQuery, funnel_key, parse_key, parse_query, summarise, suppression_code
from chalicelib.domain.model import Channel, Message, MessageStatus

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def message(**fields: object) -> Message:
    base = Message("m1", "a", "welcome", "o", Channel.IM, "agora", "hi", MessageStatus.QUEUED, NOW)
    return replace(base, **fields)  # type: ignore[arg-type]


def test_a_message_is_counted_on_the_day_it_was_planned_in_the_stores_zone() -> None:
    late = message(created_at=datetime(2026, 11, 29, 17, 30, tzinfo=UTC))  # 01:30 on the 30th in Shanghai
    key = funnel_key(late, "Asia/Shanghai")
    assert key.encode() == "funnel#2026-11-30#rule#welcome#-#im"
    assert parse_key(key.encode()) == key
    campaign = message(campaign_id="spring", variant="control", trigger="campaign", channel=Channel.SMS)
    assert funnel_key(campaign, "UTC").encode() == "funnel#2026-11-30#campaign#spring#control#sms"


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("member no longer exists", "member_gone"),
        ("member erased", "member_gone"),
        ("no marketing consent", "no_marketing_consent"),
        ("im unreachable: invalid address", "unreachable"),
        ("no im address; no sms consent", "no_consent"),
        ("sms unavailable: a fixed line", "address_unusable"),
        ("no im address; no sms address", "no_address"),
        ("expired: past its send_before", "expired"),
        ("something new", "other"),
        (None, "other"),
    ],
)
def test_a_suppression_reason_has_one_code(reason: str | None, code: str) -> None:
    assert suppression_code(reason) == code


def test_the_query_defaults_to_the_last_seven_days_and_names_each_bad_parameter() -> None:
    query = parse_query({}, NOW, "Asia/Shanghai")
    assert (query.first, query.last, query.group_by) == (date(2026, 11, 24), date(2026, 11, 30), "rule")
    assert len(query.days()) == 7
    with pytest.raises(ValidationFailed) as bad:
        parse_query({"from": "2026-13-01", "to": "tomorrow", "group_by": "store", "x": "1"}, NOW, "UTC")
    assert set(bad.value.fields) == {"from", "to", "group_by", "x"}
    with pytest.raises(ValidationFailed) as reversed_:
        parse_query({"from": "2026-11-30", "to": "2026-11-01"}, NOW, "UTC")
    assert set(reversed_.value.fields) == {"to"}
    with pytest.raises(ValidationFailed) as long:
        parse_query({"from": "2024-01-01", "to": "2026-11-01"}, NOW, "UTC")
    assert set(long.value.fields) == {"from"}


COUNTERS = [
    ("funnel#2026-11-29#rule#welcome#-#im", {"members": 10, "sent": 8, "delivered": 7, "suppressed_no_consent": 2}),
    ("funnel#2026-11-30#rule#welcome#-#sms", {"members": 5, "sent": 5, "converted": 1, "revenue": 99.5}),
    ("funnel#2026-11-30#campaign#spring#a#im", {"members": 4, "deferrals": 1, "sent": 4, "clicked": 2}),
    ("funnel#2026-11-30#campaign#spring#control#im", {"members": 1, "converted": 1, "revenue": 10.0}),
    ("funnel#2026-12-01#rule#welcome#-#im", {"members": 100}),  # outside the period
    ("rule#welcome", {"members": 1000}),  # not a funnel counter
]


def test_a_periods_counters_sum_per_group() -> None:
    def by(group: str, **extra: str) -> dict[str, dict[str, object]]:
        query = FunnelQuery(date(2026, 11, 29), date(2026, 11, 30), group, extra.get("campaign"), extra.get("rule"))
        return {row["key"]: row for row in summarise(query, COUNTERS)}

    rules = by("rule")
    assert list(rules) == ["welcome"]
    assert (rules["welcome"]["targeted"], rules["welcome"]["sent"], rules["welcome"]["converted"]) == (15, 13, 1)
    assert rules["welcome"]["suppressed"] == {"no_consent": 2} and rules["welcome"]["revenue"] == 99.5
    assert list(by("campaign")) == ["spring"] and by("campaign")["spring"]["deferred"] == 1
    assert sorted(by("variant")) == ["spring/a", "spring/control", "welcome/-"]
    assert sorted(by("variant", campaign="spring")) == ["spring/a", "spring/control"]
    assert {k: v["targeted"] for k, v in by("channel").items()} == {"im": 15, "sms": 5}
    assert {k: v["targeted"] for k, v in by("day").items()} == {"2026-11-29": 10, "2026-11-30": 10}
    assert list(by("day", rule="welcome")) == ["2026-11-29", "2026-11-30"]
