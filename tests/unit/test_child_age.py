"""The child-age grammar on its own, with a few words of its own rather than keywords.toml: ages, bare
counts that need a child named, the gender nearest the age. The router's tests cover the shipped words."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from chalicelib.domain.child_age import MAX_AGE_MONTHS, Child, find_ages, read_child, split_clauses


@dataclass(frozen=True)
class Word:
    pattern: re.Pattern[str]


def words(*written: str) -> tuple[Word, ...]:
    return tuple(Word(re.compile(re.escape(w))) for w in written)


@dataclass(frozen=True)
class Words:
    boy: tuple[Word, ...] = words("男孩", "boy")
    girl: tuple[Word, ...] = words("女孩", "女", "girl")
    ignore: tuple[Word, ...] = words("女士")
    child: tuple[Word, ...] = words("宝宝", "baby")


def child(text: str) -> Child | None:
    """The caller's job (normalising each clause) done crudely: these texts are already normal."""
    return read_child([part.strip() for part in split_clauses(text)], Words())


@pytest.mark.parametrize(
    ("clause", "months"),
    [
        ("3岁", 36),
        ("两岁半", 30),
        ("十一岁", 132),
        ("3岁2个月", 38),
        ("半岁", 6),
        ("18个月", 18),
        ("2.5岁", 30),
        ("3 year old", 36),
        ("two and a half years", 30),
        ("aged 4", 48),
        ("5yo", 60),
    ],
)
def test_find_ages_reads_the_months(clause: str, months: int) -> None:
    [age] = find_ages(clause)
    assert (age.start, age.end, age.months) == (0, len(clause), months)


def test_an_impossible_age_is_minus_one() -> None:
    assert [age.months for age in find_ages("3岁15个月")] == [-1]


def test_the_gender_is_the_one_nearest_the_age() -> None:
    assert child("3岁男孩") == Child(36, "boy", "3岁")
    assert child("女孩5岁, 男孩3岁") == Child(60, "girl", "5岁")
    assert child("3岁") == Child(36, None, "3岁")


def test_adult_words_are_not_a_gender() -> None:
    assert child("女士 3岁") == Child(36, None, "3岁")


def test_a_bare_count_needs_a_child_named_or_to_be_all_there_is() -> None:
    assert child("等了3个月") is None
    assert child("宝宝3个月") == Child(3, None, "3个月")
    assert child("3个月") == Child(3, None, "3个月")


@pytest.mark.parametrize(
    "text",
    ["宝宝3个月前买的", "宝宝等了3个月", "宝宝用了3个月就坏了", "baby, 2 years ago", "baby had it for 3 months",
     "baby: in 2 months", "宝宝3个月后再买", "girl 2 years later"],
)  # fmt: skip
def test_a_duration_is_not_an_age(text: str) -> None:
    assert child(text) is None


def test_the_gender_named_once_elsewhere_applies() -> None:
    assert child("girl. 3岁") == Child(36, "girl", "3岁")
    assert child("boy. girl. 3岁") == Child(36, None, "3岁")


def test_ages_past_sixteen_are_not_a_child() -> None:
    assert MAX_AGE_MONTHS == 16 * 12 + 11
    assert child("16岁半") == Child(198, None, "16岁半")
    assert child("17岁") is None


def test_a_decimal_point_does_not_split_a_clause() -> None:
    assert split_clauses("3.5岁。男孩") == ["3.5岁", "男孩"]
