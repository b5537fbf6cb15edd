"""A child's age and gender in a member's reply ("3岁男孩", "两岁半", "18 month old girl"). Pure.

Kept apart from the keyword router (``keywords.py``) because this is a small grammar of its own —
Chinese and Arabic numerals, 岁/歲/个月/半, "3 year old", "aged 4" — with rules the rest of the router
doesn't need. The main one: a bare count ("3个月", "3 years", "my daughter is 5") is read as an age
only when a child or a gender is named in the same clause, or when the count is the whole clause.
A duration is not an age: a bare count right after a verb of time or "for/in/after…" ("用了3个月",
"had it for 3 months") or right before "ago/later/前/后" ("3个月前买的", "2 years ago") is skipped,
while an age said as one ("3岁", "3 year old", "8个月大") always counts. The gender is the one
nearest the age.

This module doesn't normalise text and doesn't read keywords.toml. The router normalises each clause
(see ``split_clauses``) and passes in the locale's gender and child words (``ChildWords``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_AGE_MONTHS = 16 * 12 + 11  # "ages outside 0–16 years → none": 16岁半 is still 16
_DIGITS = "0123456789"


class Word(Protocol):
    """A configured word, as the router compiles it (``keywords.Phrase``)."""

    @property
    def pattern(self) -> re.Pattern[str]: ...


class ChildWords(Protocol):
    """The locale's words that say who an age belongs to (``keywords.LocaleWords`` has them)."""

    @property
    def boy(self) -> Sequence[Word]: ...
    @property
    def girl(self) -> Sequence[Word]: ...
    @property
    def ignore(self) -> Sequence[Word]: ...  # contain gender characters but name an adult ("女士")
    @property
    def child(self) -> Sequence[Word]: ...  # make a bare count read as a child's age ("宝宝8个月")


@dataclass(frozen=True)
class Child:
    """The child a reply describes."""

    months: int  # 0 … MAX_AGE_MONTHS
    gender: str | None  # "boy" | "girl" | None
    matched: str  # the age phrase as normalised ("3岁")


@dataclass(frozen=True)
class AgeMatch:
    """An age phrase in a normalised clause."""

    start: int
    end: int
    months: int  # -1: not a sensible age ("3岁15个月")
    needs_context: bool  # a bare count ("3个月", "3 years"): counts only if a child is named or it is all
    duration: bool = False  # a bare count that says how long, not how old ("3个月前", "for 2 years")


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4}
_CN_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_NUMBERS = {
    word: n
    for n, word in enumerate(
        [
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"),
            *("twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
        ]
    )
}
_ARABIC = r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?"
_CN_NUM = rf"(?:{_ARABIC}|[一二三四五六七八九]?十[一二三四五六七八九]?|[零〇一二两兩三四五六七八九])"
_EN_NUM = rf"(?:{_ARABIC}|(?<![a-z])(?:{'|'.join(sorted(_EN_NUMBERS, key=len, reverse=True))}))"
_AGED = r"(?:(?<![a-z])(?P<aged>aged?) )?"
_MONTH_UNIT = r" ?(?:months?|mos?)(?![a-z])"
# "my daughter is 5": a number after is/turned with no unit after it (not "is 5 months", "is 5 o'clock")
_NOT_A_UNIT = (
    r"(?![0-9.]| ?(?:months?|mos?|m|weeks?|wks?|days?|years?|yrs?|y|o|feet|foot|ft|inch|inches|in|cm|kg|kgs|lbs?"
    r"|pounds?|dollars?|bucks|am|pm|percent|pieces?|pcs|items?)(?![a-z]))"
)
# Groups: n = years, half = +6 months, m = months; "old" or "aged" present = clearly an age. An empty
# (?P<old>) marks patterns that are always an age ("3岁").
_AGE_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        rf"(?P<n>{_CN_NUM})[周週]?[岁歲嵗](?:(?P<half>半)|零?(?P<m>{_CN_NUM})[个個]?月)?(?P<old>)",
        r"(?<![0-9零〇一二两兩三四五六七八九十])(?P<half>半)[岁歲嵗](?P<old>)",
        rf"(?P<m>{_CN_NUM})(?:[个個]半?多?月|月(?=大))(?P<old>大)?",
        rf"{_AGED}(?P<n>{_EN_NUM})(?P<half> and a half)? ?(?:years?|yrs?|y)(?![a-z])"
        rf"(?: (?:and )?(?P<m>{_EN_NUM}){_MONTH_UNIT})?(?P<old> ?olds?(?![a-z]))?",
        rf"(?P<n>{_EN_NUM}) ?y ?o(?![a-z])(?P<old>)",
        rf"{_AGED}(?P<m>{_EN_NUM}){_MONTH_UNIT}(?P<old> olds?(?![a-z]))?",
        rf"(?<![a-z])(?:is|turned|turns|will be|will turn) (?P<n>{_EN_NUM}){_NOT_A_UNIT}",
        rf"(?<![a-z])(?P<aged>aged?) (?P<n>{_EN_NUM})(?![a-z0-9.]| ?(?:months?|mos?|years?|yrs?|y)(?![a-z]))",
    )
)
_CLAUSE_BREAK = re.compile(r"[,;!?\n。、]|(?<![0-9])\.|\.(?![0-9])")
# Abbreviations whose dots are not a clause's end: "4 y.o.", "3 yrs.", "18 mos."
_ABBREVIATION = re.compile(r"(?i)(?<![a-z])(?:(y)\. ?(o)\.?|(yrs?|mos?)\.)(?![a-z])")
# A bare count that is a duration: after a verb of time or a preposition of time, or before ago/前/后.
_DURATION_BEFORE = re.compile(
    r"(?:[了用玩等买買过過花穿戴]|(?<![a-z])(?:for|in|within|after|over|past|last|every|since|than)) ?$"
)
_DURATION_AFTER = re.compile(r"^(?: ?(?:ago|later|before|after|earlier|back|from now)(?![a-z])|[以之]?[前后後])")


def split_clauses(text: str) -> list[str]:
    """The raw reply (NFKC) cut at punctuation, so an age takes the gender from its own clause; a decimal
    point between digits doesn't cut ("3.5岁"), nor does an abbreviation's ("4 y.o."). The caller
    normalises each clause."""
    text = _ABBREVIATION.sub(lambda m: "".join(g for g in m.groups() if g), unicodedata.normalize("NFKC", text))
    return _CLAUSE_BREAK.split(text)


def read_child(clauses: Sequence[str], words: ChildWords) -> Child | None:
    """The first child's age in range, with the gender word nearest it in its clause (after it on a
    tie: "3岁男孩"); failing that, the one gender named anywhere in the message, if only one is.
    ``clauses`` are normalised."""
    genders = [_gender_spans(clause, words) for clause in clauses]
    named = {gender for spans in genders for _, _, gender in spans}
    for clause, spans in zip(clauses, genders, strict=True):
        child_named = bool(spans) or any(word.pattern.search(clause) for word in words.child)
        for age in find_ages(clause):
            alone = age.start == 0 and age.end == len(clause)
            if not 0 <= age.months <= MAX_AGE_MONTHS or age.duration:
                continue
            if age.needs_context and not (child_named or alone):
                continue
            gender = _nearest(age, spans) or (next(iter(named)) if len(named) == 1 else None)
            return Child(age.months, gender, clause[age.start : age.end])
    return None


def find_ages(clause: str) -> list[AgeMatch]:
    """Every age phrase in a normalised clause, leftmost first, none overlapping (the longest wins)."""
    found = sorted(
        (
            AgeMatch(m.start(), m.end(), _months(groups), bare, bare and _is_duration(clause, m.start(), m.end()))
            for pattern in _AGE_PATTERNS
            for m in pattern.finditer(clause)
            for groups in (m.groupdict(),)
            for bare in (groups.get("old") is None and groups.get("aged") is None,)
        ),
        key=lambda age: (age.start, -age.end),
    )
    ages: list[AgeMatch] = []
    for age in found:
        if not ages or age.start >= ages[-1].end:
            ages.append(age)
    return ages


def _is_duration(clause: str, start: int, end: int) -> bool:
    return bool(_DURATION_BEFORE.search(clause[:start]) or _DURATION_AFTER.match(clause[end:]))


def _number(raw: str) -> float | None:
    if raw[0] in _DIGITS:
        return float(raw) if len(raw) <= 6 else None
    if raw in _EN_NUMBERS:
        return _EN_NUMBERS[raw]
    tens, ten, units = raw.partition("十")
    if not ten:
        return _CN_DIGITS[raw]
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _months(groups: dict[str, str | None]) -> int:
    n, m = groups.get("n"), groups.get("m")
    years = _number(n) if n else 0.0
    extra = _number(m) if m else 0.0
    if years is None or extra is None or (n and extra >= 12):
        return -1
    return int(years * 12 + (6 if groups.get("half") else 0) + extra + 1e-9)


def _gender_spans(clause: str, words: ChildWords) -> list[tuple[int, int, str]]:
    for word in words.ignore:
        clause = word.pattern.sub(lambda m: "\0" * len(m.group()), clause)
    return [
        (match.start(), match.end(), gender)
        for gender, genders in (("boy", words.boy), ("girl", words.girl))
        for word in genders
        for match in word.pattern.finditer(clause)
    ]


def _nearest(age: AgeMatch, spans: list[tuple[int, int, str]]) -> str | None:
    def distance(span: tuple[int, int, str]) -> tuple[int, int]:
        start, end, _ = span
        return (start - age.end, 0) if start >= age.end else (max(age.start - end, 0), 1)

    return min(spans, key=distance)[2] if spans else None
