"""Properties of the keyword router: it never raises, normalising is idempotent, decorated opt-out
words always opt out, near misses never do, and ages read back in both numeral systems."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.keywords import classify, load_keywords, normalize

BOOK = load_keywords()
OPT_OUT_WORDS = sorted({p.written for p in BOOK.merged.whole["opt_out"].values()})
OPT_OUT_KEYS = set(BOOK.merged.whole["opt_out"])
LOCALES = st.sampled_from(["zh-CN", "zh-TW", "en", "zh-HK", "en-GB", "fr", "", "zz-Top"]) | st.text(max_size=12)
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)
CHINESE_TEXT = st.text(alphabet="零一二两三四五六七八九十半岁歲个月大男孩女儿子宝3 5.,，。T退订人工", max_size=40)
DECORATION = st.text(
    alphabet=" \t\n\u3000!?.,;:'\"()[]{}-_/*&#@~。！？，、；：“”‘’（）【】《》…—·😀🙏👍❤\ufe0f✅★™©→",
    max_size=6,
)
FAST = settings(max_examples=100, deadline=None)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def chinese(n: int, two: str = "两") -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return two if n == 2 else digits[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + ("" if units == 0 else digits[units])


@FAST
@given(ANY_TEXT, LOCALES)
def test_classify_never_raises(text: str, locale: str) -> None:
    intent = classify(text, locale, BOOK)
    assert intent.kind in {"opt_out", "opt_in", "help", "recommend", "handoff", "new_arrivals", "none"}
    if intent.kind == "recommend":
        assert intent.age_months is not None and 0 <= intent.age_months < 17 * 12
        assert intent.gender in {"boy", "girl", None}


@FAST
@given(CHINESE_TEXT, st.sampled_from(["zh-CN", "zh-TW", "en"]))
def test_classify_never_raises_on_age_like_chinese(text: str, locale: str) -> None:
    classify(text, locale, BOOK)


@FAST
@given(ANY_TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert once == once.strip() and "  " not in once


@FAST
@given(
    st.sampled_from(OPT_OUT_WORDS),
    DECORATION,
    DECORATION,
    st.lists(st.booleans(), min_size=20, max_size=20),
    st.booleans(),
    LOCALES,
)
def test_a_decorated_opt_out_word_opts_out(
    word: str, before: str, after: str, upper: list[bool], wide: bool, locale: str
) -> None:
    cased = "".join(c.upper() if up else c.lower() for c, up in zip(word, upper, strict=False))
    text = before + (full_width(cased) if wide else cased) + after
    assert classify(text, locale, BOOK).kind == "opt_out", text


@FAST
@given(st.sampled_from(OPT_OUT_WORDS), st.lists(DECORATION, min_size=20, max_size=20), LOCALES)
def test_punctuation_between_the_letters_still_opts_out(word: str, gaps: list[str], locale: str) -> None:
    text = "".join(c + gap for c, gap in zip(word, gaps, strict=False))
    assert classify(text, locale, BOOK).kind == "opt_out", text


@FAST
@given(
    st.sampled_from(OPT_OUT_WORDS),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789恤口罩谢谢好的", min_size=1, max_size=8),
    st.booleans(),
    LOCALES,
)
def test_an_opt_out_word_with_more_letters_is_not_an_opt_out(word: str, more: str, before: bool, locale: str) -> None:
    text = more + word if before else word + more
    if normalize(text).replace(" ", "") in OPT_OUT_KEYS:  # e.g. T + D = TD
        return
    assert classify(text, locale, BOOK).kind != "opt_out", text


@FAST
@given(
    st.integers(0, 16),
    st.sampled_from(["arabic", "chinese", "chinese-er", "full-width"]),
    st.sampled_from(["", "半"]),
    st.sampled_from([("", None), ("男孩", "boy"), ("女孩", "girl"), ("儿子", "boy"), ("女儿", "girl")]),
    st.sampled_from(["zh-CN", "zh-TW", "en", "fr"]),
    st.sampled_from(["", "我家", "请问"]),
    st.sampled_from(["", "玩什么好", "，有推荐吗？"]),
)
def test_chinese_ages_round_trip(
    n: int,
    numerals: str,
    half: str,
    gender: tuple[str, str | None],
    locale: str,
    before: str,
    after: str,
) -> None:
    number = {
        "arabic": str(n),
        "chinese": chinese(n),
        "chinese-er": chinese(n, two="二"),
        "full-width": full_width(str(n)),
    }[numerals]
    word, expected_gender = gender
    intent = classify(f"{before}{number}岁{half}{word}{after}", locale, BOOK)
    assert intent.kind == "recommend"
    assert intent.age_months == n * 12 + (6 if half else 0)
    assert intent.gender == expected_gender


@FAST
@given(
    st.integers(0, 16),
    st.sampled_from(["{n} year old", "{n}-year-old", "{n} years old", "{n}yo", "{n} y/o"]),
    st.sampled_from([("", None), (" boy", "boy"), (" girl", "girl"), (" son", "boy"), (" daughter", "girl")]),
    st.sampled_from(["zh-CN", "en", "fr"]),
)
def test_english_ages_round_trip(n: int, form: str, gender: tuple[str, str | None], locale: str) -> None:
    word, expected_gender = gender
    intent = classify(form.format(n=n) + word, locale, BOOK)
    assert (intent.kind, intent.age_months, intent.gender) == ("recommend", n * 12, expected_gender)


@FAST
@given(st.integers(17, 200), st.sampled_from(["{n}岁", "{n}岁男孩", "{n} year old girl"]))
def test_ages_past_sixteen_are_not_recommendations(n: int, form: str) -> None:
    assert classify(form.format(n=n), "zh-CN", BOOK).kind == "none"


@FAST
@given(st.integers(0, 16), st.integers(1, 11))
def test_years_and_months_round_trip(years: int, months: int) -> None:
    intent = classify(f"{chinese(years)}岁{chinese(months)}个月", "zh-CN", BOOK)
    assert intent.age_months == years * 12 + months
