"""Segments (domain/segments.py): validation naming the field, and evaluation as a pure function of
(member, segment, instant), checked against hand-computed answers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import Child, Member, PointsLot
from chalicelib.domain.segments import matches, parse_segment

ZONE = "Asia/Shanghai"
# 2026-11-22 01:00 UTC = 09:00 in Shanghai, still 2026-11-21 in Los Angeles
AT = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def seg(*conditions: dict[str, object], match: str = "all") -> object:
    return parse_segment("s1", {"name": "t", "match": match, "conditions": list(conditions)})


def kid(born: str, gender: str = "boy") -> Child:
    return Child("乐乐", date.fromisoformat(born), gender)


def test_a_child_who_turned_three_yesterday_is_in_and_one_who_turns_three_tomorrow_is_not() -> None:
    three_to_six = seg({"field": "child_age_months", "op": "between", "value": [36, 72]})
    turned = Member("a", children=[kid("2023-11-21")])
    turns_tomorrow = Member("b", children=[kid("2023-11-23")])
    assert matches(turned, three_to_six, AT, ZONE)  # type: ignore[arg-type]
    assert not matches(turns_tomorrow, three_to_six, AT, ZONE)  # type: ignore[arg-type]


def test_child_age_is_on_the_members_own_date() -> None:
    three_plus = seg({"field": "child_age_months", "op": "gte", "value": 36})
    # Turns 3 on 2026-11-22: it is already the 22nd in Shanghai, still the 21st in Los Angeles.
    here = Member("a", children=[kid("2023-11-22")])
    there = Member("b", timezone="America/Los_Angeles", children=[kid("2023-11-22")])
    assert matches(here, three_plus, AT, ZONE)  # type: ignore[arg-type]
    assert not matches(there, three_plus, AT, ZONE)  # type: ignore[arg-type]


def test_some_child_is_enough_and_gender_goes_with_any_child() -> None:
    s = seg(
        {"field": "child_age_months", "op": "between", "value": [36, 72]},
        {"field": "child_gender", "op": "eq", "value": "girl"},
    )
    m = Member("a", children=[kid("2025-01-01", "girl"), kid("2021-06-01", "boy")])
    assert matches(m, s, AT, ZONE)  # type: ignore[arg-type]


def test_every_field_on_a_hand_computed_member() -> None:
    m = Member(
        "m",
        tags=["train", "lego"],
        tier="gold",
        locale="zh-TW",
        store_id="s-2",
        points_lots=[PointsLot("t", 500, None)],
        last_purchase_at=datetime(2026, 10, 23, 4, 0, tzinfo=UTC),  # 30 days before the 22nd
        joined_at=datetime(2025, 11, 22, 4, 0, tzinfo=UTC),  # 365 days
        orders_count=4,
        total_spent=880.5,
        bought={"train": date(2026, 11, 1), "puzzle": date(2026, 1, 5)},
        attended={"lego-day": AT},
    )
    yes = [
        {"field": "tags", "op": "contains", "value": "train"},
        {"field": "tags", "op": "in", "value": ["doll", "lego"]},
        {"field": "tier", "op": "in", "value": ["gold", "platinum"]},
        {"field": "locale", "op": "eq", "value": "zh-TW"},
        {"field": "store_id", "op": "eq", "value": "s-2"},
        {"field": "points_balance", "op": "gte", "value": 500},
        {"field": "days_since_last_purchase", "op": "eq", "value": 30},
        {"field": "days_since_last_purchase", "op": "lte", "value": 90},
        {"field": "orders_count", "op": "between", "value": [3, 5]},
        {"field": "total_spent", "op": "gte", "value": 880.5},
        {"field": "bought_category", "op": "eq", "value": "train", "within_days": 30},
        {"field": "bought_category", "op": "eq", "value": "puzzle"},
        {"field": "attended_activity", "op": "eq", "value": "lego-day"},
        {"field": "joined_days_ago", "op": "eq", "value": 365},
    ]
    no = [
        {"field": "tags", "op": "eq", "value": "doll"},
        {"field": "points_balance", "op": "lte", "value": 499},
        {"field": "days_since_last_purchase", "op": "gte", "value": 31},
        {"field": "bought_category", "op": "eq", "value": "puzzle", "within_days": 90},
        {"field": "attended_activity", "op": "in", "value": ["story-hour"]},
        {"field": "child_gender", "op": "eq", "value": "boy"},
    ]
    for c in yes:
        assert matches(m, seg(c), AT, ZONE), c  # type: ignore[arg-type]
    for c in no:
        assert not matches(m, seg(c), AT, ZONE), c  # type: ignore[arg-type]
    assert matches(m, seg(*no, yes[0], match="any"), AT, ZONE)  # type: ignore[arg-type]
    assert not matches(m, seg(*no, match="any"), AT, ZONE)  # type: ignore[arg-type]


def test_a_member_who_never_bought_fails_purchase_conditions() -> None:
    m = Member("m")
    assert not matches(m, seg({"field": "days_since_last_purchase", "op": "gte", "value": 0}), AT, ZONE)  # type: ignore[arg-type]
    assert matches(m, seg({"field": "orders_count", "op": "eq", "value": 0}), AT, ZONE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "field"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 3}, "conditions[0].field"),
        ({"field": "tags", "op": "like", "value": "x"}, "conditions[0].op"),
        ({"field": "tags", "op": "gte", "value": "x"}, "conditions[0].op"),
        ({"field": "orders_count", "op": "between", "value": [5, 1]}, "conditions[0].value"),
        ({"field": "orders_count", "op": "gte", "value": "3"}, "conditions[0].value"),
        ({"field": "tags", "op": "in", "value": []}, "conditions[0].value"),
        ({"field": "tags", "op": "eq", "value": "x", "within_days": 3}, "conditions[0].within_days"),
        ({"field": "orders_count", "op": "gte", "value": 1e400}, "conditions[0].value"),
    ],
)
def test_bad_conditions_are_named(condition: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_segment("s1", {"conditions": [condition]})
    assert field in caught.value.fields
    if field.endswith(".field") or field.endswith(".op"):
        assert str(condition[field.rsplit(".", 1)[1]]) in caught.value.fields[field]


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_segment("bad id!", {"match": "some", "conditions": "x", "extra": 1})
    assert set(caught.value.fields) == {"segment_id", "match", "conditions", "extra"}
