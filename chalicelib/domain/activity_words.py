"""The words of a member's replies about store activities (``[activities]`` in keywords.toml):
cancel the next registration (取消, 请假, cancel), claim an offered seat (确认, yes). Whole message
only, compared as the keyword router compares (``keywords.normalize``). Pure except loading."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .keywords import KEYWORDS_FILE, KeywordsConfigError, normalize


def _key(word: str) -> str:
    return normalize(word).replace(" ", "")


@dataclass(frozen=True)
class ActivityWords:
    cancel: frozenset[str]
    claim: frozenset[str]

    def is_cancel(self, text: str) -> bool:
        return _key(text) in self.cancel

    def is_claim(self, text: str) -> bool:
        return _key(text) in self.claim

    def any(self, text: str) -> bool:
        return self.is_cancel(text) or self.is_claim(text)


DEFAULT = ActivityWords(frozenset({"取消", "请假", "請假", "cancel"}), frozenset({"确认", "確認", "yes", "confirm"}))


def parse_activity_words(data: dict[str, Any], source: str = "keywords.toml") -> ActivityWords:
    table = data.get("activities")
    if table is None:
        return DEFAULT
    if not isinstance(table, dict):
        raise KeywordsConfigError(f"{source}: activities: must be a table")
    for key in table:
        if key not in ("cancel", "claim"):
            raise KeywordsConfigError(f"{source}: activities.{key}: unknown key (expected cancel, claim)")
    lists: dict[str, frozenset[str]] = {}
    for name in ("cancel", "claim"):
        raw = table.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(w, str) and _key(w) for w in raw):
            raise KeywordsConfigError(f"{source}: activities.{name}: must be a list of words")
        lists[name] = frozenset(_key(w) for w in raw)
    both = lists["cancel"] & lists["claim"]
    if both:
        raise KeywordsConfigError(f"{source}: activities: {sorted(both)[0]!r} is both a cancel and a claim word")
    return ActivityWords(lists["cancel"], lists["claim"])


def load_activity_words(path: Path | None = None) -> ActivityWords:
    path = path or KEYWORDS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeywordsConfigError(f"{path}: {exc}") from None
    return parse_activity_words(data, path.name)


_CHOICE = re.compile(r"^(.*?)([0-9]{1,2})$")


def split_choice(text: str) -> tuple[str, int | None]:
    """ "报名2" → ("报名", 2): a sign-up word with the number of a listed choice; else (text, None)."""
    key = _key(text)
    match = _CHOICE.match(key)
    if match and match.group(1):
        return match.group(1), int(match.group(2))
    return key, None
