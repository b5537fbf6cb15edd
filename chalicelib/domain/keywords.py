"""The keyword router: what a member's reply means, from its text alone. Pure; no I/O except reading
``chalicelib/keywords.toml`` in ``load_keywords``.

A reply is normalised (``normalize``) and then, in this order of precedence:

1. the whole message is an opt-out / opt-in / help / handoff word (``whole`` lists) → that intent.
   Opt-out and opt-in words apply in every locale, so "T" opts out and "START" opts in whatever
   locale the member has, and a message that *is* an opt-out word beats everything. Members are
   polite: a ``courtesy`` word may stand before or after the keyword ("STOP PLEASE", "请退订",
   "我要退订了"; a Latin one only with a space between), and a clause that is only an ``aside``
   ("谢谢", "ok") is left out ("退订！谢谢", "好的，T") — both lists in ``[settings]``;
2. a ``within`` word stands anywhere in a short message (≤ ``within_max_chars``), same order:
   "please stop texting", "别再发了" → opt-out; "我要售后", "转人工客服" → handoff;
3. a child's age ("3岁男孩", "两岁半", "18 month old") → recommend, with the gender nearest the age
   (the age grammar lives in ``child_age.py``; this module only hands it normalised clauses and the
   locale's gender/child words); handoff beats recommend because a member asking for a person wants
   a person, not a product;
4. a ``within`` word of new arrivals ("有什么新品", "what's new") → this week's new arrivals; after
   the age, so "3岁男孩想要新玩具" gets picks for the child (the whole message "新玩具" — what stores
   tell members to send — is a whole-message word, step 1);
5. otherwise ``none``: kept as conversation history, no automatic reply.

Short codes ("T", "N", "R") and everyday words ("STOP", "END", "退订") only ever match as the
whole message, so "Thanks", "T恤", "N95口罩", "stop by the store tomorrow?" and "退订单怎么弄" do not
opt out.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .child_age import MAX_AGE_MONTHS as MAX_AGE_MONTHS  # re-exported: the router's public names stay
from .child_age import AgeMatch as AgeMatch
from .child_age import find_ages as find_ages
from .child_age import read_child, split_clauses

KEYWORDS_FILE = Path(__file__).resolve().parent.parent / "keywords.toml"
INTENTS = ("opt_out", "opt_in", "help", "handoff", "new_arrivals")  # precedence order among keyword intents
AFTER_AGE = ("new_arrivals",)  # `within` words of these count only when no child's age was read
EVERY_LOCALE = ("opt_out", "opt_in", "new_arrivals")  # words that mean the same whatever the locale
REPLY_RULES = {
    "opt_out": "reply_optout",
    "opt_in": "reply_optin",
    "help": "reply_help",
    "handoff": "reply_handoff",
    "new_arrivals": "reply_new_arrivals",
    "recommend": "reply_recommendation",
}
_ASCII_WORD = "abcdefghijklmnopqrstuvwxyz0123456789"
_DIGITS = "0123456789"


class KeywordsConfigError(ValueError):
    """keywords.toml is wrong; the message names the key."""


@dataclass(frozen=True)
class Intent:
    """What a reply asks for, and the reply rule that answers it (None: keep as history only)."""

    kind: str  # "opt_out" | "opt_in" | "help" | "recommend" | "handoff" | "new_arrivals" | "none"
    reply_rule: str | None  # "reply_optout" | … | None
    age_months: int | None = None
    gender: str | None = None  # "boy" | "girl" | None
    matched: str | None = None  # the keyword/phrase that decided it


NO_INTENT = Intent("none", None)


# ---------------------------------------------------------------------------- normalisation


def _is_noise(ch: str) -> bool:
    """Punctuation, symbols (emoji included), separators, control/format/unassigned code points,
    enclosing marks (keycaps) and variation selectors: none of them changes what a reply means."""
    category = unicodedata.category(ch)
    code = ord(ch)
    return category[0] in "PSZC" or category == "Me" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _denoise(text: str) -> str:
    kept = []
    for i, ch in enumerate(text):
        between_digits = 0 < i < len(text) - 1 and text[i - 1] in _DIGITS and text[i + 1] in _DIGITS
        kept.append(ch if (ch == "." and between_digits) or not _is_noise(ch) else " ")
    return "".join(kept)


def _normalize_once(text: str) -> str:
    # Symbols go before NFKC too, or "™" would become the letters "tm" ("cancel™" must still opt out).
    text = unicodedata.normalize("NFKC", _denoise(text.replace("\u3000", " ")))
    text = unicodedata.normalize("NFKC", text.casefold())
    words = _denoise(text).split()
    out: list[str] = []
    for word in words:
        if out and not (_is_wide(out[-1][-1]) or _is_wide(word[0])):
            out.append(" ")
        out.append(word)
    return "".join(out)


def normalize(text: str) -> str:
    """The matching form of a reply: NFKC (full-width → half-width, U+3000 → space), case folded,
    punctuation/symbols/emoji → space, whitespace collapsed and trimmed, and no space next to a CJK
    character ("3 岁 男孩" → "3岁男孩", "I want 人工" → "i want人工"). A decimal point between digits
    stays ("3.5岁"). Idempotent: repeated until nothing changes (joining can compose Hangul jamo)."""
    for _ in range(4):
        again = _normalize_once(text)
        if again == text:
            break
        text = again
    return text


def _compact(text: str) -> str:
    return text.replace(" ", "")


# ---------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class Phrase:
    """One configured word: as written, where it was written (for errors), and its matcher."""

    written: str
    where: str
    key: str  # normalised
    pattern: re.Pattern[str]  # finds it inside a normalised message; Latin words only as whole words

    @classmethod
    def of(cls, written: str, where: str) -> Phrase:
        key = normalize(written)
        if not key:
            raise KeywordsConfigError(f"{where} = {written!r}: nothing left after normalisation")
        body = re.escape(key)
        if key[0] in _ASCII_WORD:
            body = f"(?<![a-z0-9]){body}"
        if key[-1] in _ASCII_WORD:
            body = f"{body}(?![a-z0-9])"
        return cls(written, where, key, re.compile(body))

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            yield match.start(), match.end()


@dataclass(frozen=True)
class LocaleWords:
    """The words of one locale (or of all locales merged)."""

    whole: dict[str, dict[str, Phrase]]  # intent → compact key → phrase
    within: dict[str, tuple[Phrase, ...]]  # intent → phrases
    boy: tuple[Phrase, ...] = ()
    girl: tuple[Phrase, ...] = ()
    ignore: tuple[Phrase, ...] = ()  # contain gender characters but name an adult ("女士")
    child: tuple[Phrase, ...] = ()  # make a bare month count read as a child's age ("宝宝8个月")


@dataclass(frozen=True)
class KeywordBook:
    """Per-locale word sets built from keywords.toml, plus their merge for unknown locales."""

    locales: dict[str, LocaleWords]
    merged: LocaleWords
    within_max_chars: int = 60
    courtesy: tuple[str, ...] = ()  # normalised, longest first: may stand next to a whole-message word
    asides: frozenset[str] = frozenset()  # compact: a clause of only this is left out ("谢谢")

    def for_locale(self, locale: str) -> LocaleWords:
        """Exact locale (any case, ``_`` or ``-``); else zh-Hant/-TW/-HK/-MO → zh-TW, other zh → zh-CN,
        other ``xx-…`` → a configured ``xx``; else the merge of every locale."""
        wanted = locale.strip().replace("_", "-").casefold()
        by_fold = {name.casefold(): name for name in self.locales}
        if wanted in by_fold:
            return self.locales[by_fold[wanted]]
        parts = wanted.split("-")
        if parts[0] == "zh":
            traditional = {"hant", "tw", "hk", "mo"} & set(parts[1:])
            name = by_fold.get("zh-tw" if traditional else "zh-cn")
            if name:
                return self.locales[name]
        if parts[0] in by_fold:
            return self.locales[by_fold[parts[0]]]
        return self.merged


# ---------------------------------------------------------------------------- classify


def classify(text: str, locale: str, book: KeywordBook) -> Intent:
    """What this reply asks for; never raises on any text. See the module docstring for precedence."""
    words = book.for_locale(locale)
    norm = normalize(text)
    compact = _compact(norm)
    if not compact:
        return NO_INTENT
    for key in _whole_candidates(text, norm, book):
        for kind in INTENTS:
            phrase = words.whole[kind].get(key)
            if phrase is not None:
                return Intent(kind, REPLY_RULES[kind], matched=phrase.written)
    short = len(compact) <= book.within_max_chars
    found = _within(norm, words, [k for k in INTENTS if k not in AFTER_AGE]) if short else None
    if found is not None:
        return found
    child = read_child([normalize(clause) for clause in split_clauses(text)], words)
    if child is not None:
        return Intent("recommend", REPLY_RULES["recommend"], child.months, child.gender, child.matched)
    return (_within(norm, words, AFTER_AGE) if short else None) or NO_INTENT


def _within(norm: str, words: LocaleWords, kinds: Iterable[str]) -> Intent | None:
    for kind in kinds:
        found = [(m.start(), -len(m.group()), p) for p in words.within[kind] for m in [p.pattern.search(norm)] if m]
        if found:  # the leftmost, longest word: "转人工客服" was decided by 转人工
            return Intent(kind, REPLY_RULES[kind], matched=min(found, key=lambda f: f[:2])[2].written)
    return None


def _whole_candidates(text: str, norm: str, book: KeywordBook) -> list[str]:
    """Compact forms that may be a whole-message word: the message; without courtesy words at its
    ends; and, when some of its clauses are only asides, the other clauses (with and without)."""
    forms = [norm]
    clauses = [c for c in (normalize(clause) for clause in split_clauses(text)) if c]
    kept = [c for c in clauses if _compact(c) not in book.asides]
    if kept and len(kept) < len(clauses):
        forms.append(normalize(" ".join(kept)))
    keys: list[str] = []
    for form in forms:
        for key in (_compact(form), _compact(_strip_courtesy(form, book.courtesy))):
            if key and key not in keys:
                keys.append(key)
    return keys


def _strip_courtesy(text: str, courtesy: tuple[str, ...]) -> str:
    """``text`` without courtesy words at its start or end ("stop please" → "stop", "请退订了" →
    "退订"). A Latin word goes only where a space parts it from the rest ("stopplease" stays)."""
    changed = True
    while changed and text:
        changed = False
        for word in courtesy:
            if text.startswith(word):
                rest = text[len(word) :]
                if not rest or word[-1] not in _ASCII_WORD or rest[0] == " ":
                    text, changed = rest.strip(), True
                    break
            if text.endswith(word):
                rest = text[: len(text) - len(word)]
                if not rest or word[0] not in _ASCII_WORD or rest[-1] == " ":
                    text, changed = rest.strip(), True
                    break
    return text


# ---------------------------------------------------------------------------- loading


def load_keywords(path: Path | None = None) -> KeywordBook:
    """Load and check keywords.toml (default: the shipped ``chalicelib/keywords.toml``)."""
    path = path or KEYWORDS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeywordsConfigError(f"{path}: cannot read: {exc}") from None
    return parse_keywords(text, source=path.name)


def parse_keywords(text: str, source: str = "keywords.toml") -> KeywordBook:
    """Build the book from TOML text; every error names the key (``locales.zh-CN.opt_out.whole[3]``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeywordsConfigError(f"{source}: {exc}") from None
    _only(data, ("settings", "locales", "activities"), source)  # activities: domain/activity_words.py
    settings = _table(data.get("settings", {}), "settings")
    _only(settings, ("within_max_chars", "courtesy", "asides"), "settings")
    limit = settings.get("within_max_chars", 60)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise KeywordsConfigError("settings.within_max_chars: must be a whole number from 1 to 10000")
    courtesy = sorted({p.key for p in _phrases(settings, "courtesy", "settings")}, key=lambda k: (-len(k), k))
    asides = frozenset(_compact(p.key) for p in _phrases(settings, "asides", "settings"))
    locales_raw = _table(data.get("locales"), "locales")
    if not locales_raw:
        raise KeywordsConfigError("locales: at least one locale is required")
    parsed = {name: _parse_locale(name, raw) for name, raw in locales_raw.items()}
    everywhere_whole = {kind: _merge_whole(words.whole[kind] for words in parsed.values()) for kind in EVERY_LOCALE}
    everywhere_within = {kind: _merge_within(words.within[kind] for words in parsed.values()) for kind in EVERY_LOCALE}
    locales = {
        name: _checked(
            LocaleWords(
                {**words.whole, **everywhere_whole},
                {**words.within, **everywhere_within},
                words.boy,
                words.girl,
                words.ignore,
                words.child,
            )
        )
        for name, words in parsed.items()
    }
    every = locales.values()
    merged = _checked(
        LocaleWords(
            {kind: _merge_whole(w.whole[kind] for w in every) for kind in INTENTS},
            {kind: _merge_within(w.within[kind] for w in every) for kind in INTENTS},
            boy=_merge_within(w.boy for w in every),
            girl=_merge_within(w.girl for w in every),
            ignore=_merge_within(w.ignore for w in every),
            child=_merge_within(w.child for w in every),
        )
    )
    return KeywordBook(locales, merged, limit, tuple(courtesy), asides)


_LOCALE_NAME = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def _parse_locale(name: str, raw: Any) -> LocaleWords:
    where = f"locales.{name}"
    if not _LOCALE_NAME.fullmatch(name):
        raise KeywordsConfigError(f"{where}: not a locale name like zh-CN or en")
    table = _table(raw, where)
    _only(table, (*INTENTS, "gender", "child"), where)
    whole: dict[str, dict[str, Phrase]] = {}
    within: dict[str, tuple[Phrase, ...]] = {}
    for kind in INTENTS:
        lists = _table(table.get(kind, {}), f"{where}.{kind}")
        _only(lists, ("whole", "within"), f"{where}.{kind}")
        whole[kind] = {}
        for phrase in _phrases(lists, "whole", f"{where}.{kind}"):
            whole[kind].setdefault(_compact(phrase.key), phrase)
        within[kind] = _phrases(lists, "within", f"{where}.{kind}", min_chars=2)
    gender = _table(table.get("gender", {}), f"{where}.gender")
    _only(gender, ("boy", "girl", "ignore"), f"{where}.gender")
    child = _table(table.get("child", {}), f"{where}.child")
    _only(child, ("words",), f"{where}.child")
    return LocaleWords(
        whole,
        within,
        _phrases(gender, "boy", f"{where}.gender"),
        _phrases(gender, "girl", f"{where}.gender"),
        _phrases(gender, "ignore", f"{where}.gender"),
        _phrases(child, "words", f"{where}.child"),
    )


def _phrases(table: dict[str, Any], key: str, where: str, min_chars: int = 1) -> tuple[Phrase, ...]:
    raw = table.get(key, [])
    if not isinstance(raw, list):
        raise KeywordsConfigError(f"{where}.{key}: must be a list of words")
    phrases = []
    for i, word in enumerate(raw):
        at = f"{where}.{key}[{i}]"
        if not isinstance(word, str):
            raise KeywordsConfigError(f"{at}: must be a string, not {type(word).__name__}")
        phrase = Phrase.of(word, at)
        if len(_compact(phrase.key)) < min_chars:
            raise KeywordsConfigError(f"{at} = {word!r}: too short to match inside a message; list it under whole")
        phrases.append(phrase)
    return tuple(phrases)


def _merge_whole(tables: Iterable[dict[str, Phrase]]) -> dict[str, Phrase]:
    merged: dict[str, Phrase] = {}
    for table in tables:
        for key, phrase in table.items():
            merged.setdefault(key, phrase)
    return merged


def _merge_within(lists: Iterable[tuple[Phrase, ...]]) -> tuple[Phrase, ...]:
    merged: dict[str, Phrase] = {}
    for phrases in lists:
        for phrase in phrases:
            merged.setdefault(phrase.key, phrase)
    return tuple(merged.values())


def _checked(words: LocaleWords) -> LocaleWords:
    """A word may mean only one thing: no word in two intents' whole lists, no gender in both."""
    seen: dict[str, Phrase] = {}
    for kind in INTENTS:
        for key, phrase in words.whole[kind].items():
            if key in seen:
                raise KeywordsConfigError(f"{phrase.where} = {phrase.written!r}: also listed at {seen[key].where}")
            seen[key] = phrase
    boys = {p.key: p for p in words.boy}
    for phrase in words.girl:
        if phrase.key in boys:
            raise KeywordsConfigError(f"{phrase.where} = {phrase.written!r}: also listed at {boys[phrase.key].where}")
    return words


def _table(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        raise KeywordsConfigError(f"{where}: is required")
    if not isinstance(value, dict):
        raise KeywordsConfigError(f"{where}: must be a table")
    return value


def _only(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise KeywordsConfigError(f"{where}.{key}: unknown key (expected one of {', '.join(allowed)})")
