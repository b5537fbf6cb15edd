"""Message texts promise only what happens: every reply word a template tells the member to send is
one the keyword router acts on, and the action is the one the text promises. Activity messages
(``activity_*``, ``reply_activity``) ask for the activity words (keywords.toml ``[activities]``:
取消/请假/CANCEL cancel the member's registration, 确认/YES claim an offered seat) and for the
activity's own sign-up word (a template variable: ``{{ activity.keyword }}``)."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain.activity_words import load_activity_words
from chalicelib.domain.keywords import classify, load_keywords
from chalicelib.domain.rulebook import load_rule_book

BOOK = load_rule_book()
WORDS = load_keywords()
ACTIVITY_WORDS = load_activity_words()
SIGNUP_WORD = re.compile(r"\{\{\s*[\w.]*(keyword|reply)\s*\}\}")
# "Reply HELP …", "reply with …" (no word), 回复“客服”, 回覆「售後」, 回T退订
EN_WORD = re.compile(r"\bReply ([A-Z]{2,})\b")
ZH_WORD = re.compile(r"回[复覆][“「\"]([^”」\"]+)[”」\"]|回([A-Z])(?=退)")
EN_VARIABLE = re.compile(r"\bReply (\{\{[^}]+\}\})")


def promised_words() -> list[tuple[str, str, str, str]]:
    """(rule, locale, word, what follows the word in the text)."""
    found: list[tuple[str, str, str, str]] = []
    for rule in BOOK.rules.values():
        for locale, text in rule.templates.items():
            patterns = (EN_WORD, EN_VARIABLE) if locale == "en" else (ZH_WORD,)
            for match in (m for pattern in patterns for m in pattern.finditer(text)):
                word = next(g for g in match.groups() if g)
                after = re.split(r"[，。,;；!！?？]", text[match.end() :], maxsplit=1)[0]
                found.append((rule.rule_id, locale, word, after))
    return found


PROMISES = {
    "a person": "handoff",
    "get back to you": "handoff",
    "联系店员": "handoff",
    "聯繫店員": "handoff",
    "我们马上帮您": "handoff",
    "我們馬上幫您": "handoff",
    "opt out": "opt_out",
    "退订": "opt_out",
    "退訂": "opt_out",
    "resubscribe": "opt_in",
    "恢复": "opt_in",
    "恢復": "opt_in",
}


def is_activity_rule(rule: str) -> bool:
    return rule.startswith("activity_") or rule == "reply_activity"


@pytest.mark.parametrize(("rule", "locale", "word", "after"), [p for p in promised_words() if is_activity_rule(p[0])])
def test_every_word_an_activity_message_asks_for_is_an_activity_word(
    rule: str, locale: str, word: str, after: str
) -> None:
    understood = SIGNUP_WORD.fullmatch(word) or ACTIVITY_WORDS.is_cancel(word) or ACTIVITY_WORDS.is_claim(word)
    assert understood, f"rules.{rule}.templates.{locale} asks for {word!r}, which no activity reply handles"


@pytest.mark.parametrize(
    ("rule", "locale", "word", "after"), [p for p in promised_words() if not is_activity_rule(p[0])]
)
def test_every_reply_word_a_message_asks_for_is_understood(rule: str, locale: str, word: str, after: str) -> None:
    intent = classify(word, locale, WORDS)
    assert intent.kind != "none", f"rules.{rule}.templates.{locale} asks for {word!r}, which the router ignores"
    for phrase, kind in PROMISES.items():
        if phrase in after:
            assert intent.kind == kind, f"rules.{rule}.templates.{locale}: {word!r} promises {kind}, does {intent.kind}"


def test_the_care_check_promises_a_person_on_a_word_that_reaches_one() -> None:
    for locale, text in BOOK.rules["post_purchase_care"].templates.items():
        words = [w for r, loc, w, _ in promised_words() if r == "post_purchase_care" and loc == locale]
        assert words, text
        assert all(classify(w, locale, WORDS).kind == "handoff" for w in words), (locale, words)
