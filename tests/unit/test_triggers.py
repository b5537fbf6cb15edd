"""Which rules a member change fires."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.domain import scheduling
from chalicelib.domain.model import Member
from chalicelib.domain.rulebook import RuleBook
from chalicelib.domain.triggers import Trigger
from tests.fakes import NOW, member, rule_book


def on_member_change(old: Member | None, new: Member, at: datetime, book: RuleBook) -> list[Trigger]:
    """The rules a member change fires now (welcome, tier_upgraded: ``domain/rules/``)."""
    return [p for p in scheduling.on_member_change(old, new, book, at, "Asia/Shanghai") if isinstance(p, Trigger)]


def test_insert_fires_welcome_with_occurrence_join() -> None:
    # Given a new member record (no old image)
    fired = on_member_change(None, member(tier="regular"), NOW, rule_book())
    # Then exactly the welcome rule fires, for the "join" occurrence, at the change time
    assert [(t.rule_id, t.member_id, t.occurrence, t.at) for t in fired] == [("welcome", "m-1", "join", NOW)]


def test_insert_with_a_high_tier_still_fires_only_welcome() -> None:
    assert [t.rule_id for t in on_member_change(None, member(tier="gold"), NOW, rule_book())] == ["welcome"]


def test_insert_fires_nothing_when_welcome_is_not_in_the_book() -> None:
    assert on_member_change(None, member(), NOW, rule_book(without=("welcome",))) == []


def test_tier_upgrade_fires_tier_upgraded_with_facts() -> None:
    # Given a book with a tier_upgraded rule and a member going regular → gold
    fired = on_member_change(member(tier="regular"), member(tier="gold"), NOW, rule_book())
    # Then tier_upgraded fires once, keyed on the new tier, with the tier's benefits
    assert len(fired) == 1
    trigger = fired[0]
    assert (trigger.rule_id, trigger.occurrence) == ("tier_upgraded", "tier:gold")
    assert trigger.facts == {"tier": {"name": "gold", "old": "regular", "benefits": "全场9折"}}


def test_a_tier_without_listed_benefits_has_none() -> None:
    fired = on_member_change(member(tier="gold"), member(tier="platinum"), NOW, rule_book())
    assert fired[0].facts == {"tier": {"name": "platinum", "old": "gold", "benefits": None}}


def test_tier_upgrade_fires_nothing_without_a_tier_upgraded_rule() -> None:
    book = rule_book(without=("tier_upgraded",))
    assert on_member_change(member(tier="regular"), member(tier="gold"), NOW, book) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("gold", "regular"),
        ("platinum", "silver"),
        ("gold", "gold"),
        ("gold", None),
        ("regular", "diamond"),
        (None, "regular"),
        (None, None),
    ],
)
def test_downgrades_same_tier_unknown_tier_and_no_tier_fire_nothing(old: str | None, new: str | None) -> None:
    assert on_member_change(member(tier=old), member(tier=new), NOW, rule_book()) == []


@pytest.mark.parametrize(("old", "new"), [(None, "silver"), ("unknown-tier", "silver"), ("silver", "platinum")])
def test_any_move_up_the_tier_list_fires(old: str | None, new: str) -> None:
    fired = on_member_change(member(tier=old), member(tier=new), NOW, rule_book())
    assert [(t.rule_id, t.occurrence) for t in fired] == [("tier_upgraded", f"tier:{new}")]


def test_a_change_of_other_fields_fires_nothing() -> None:
    assert on_member_change(member(name="a"), member(name="b", phone=None), NOW, rule_book()) == []
