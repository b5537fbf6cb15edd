"""The keyword router: member replies → intent, per locale, after normalisation; keywords.toml checks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from chalicelib.domain.keywords import (
    KEYWORDS_FILE,
    Intent,
    KeywordBook,
    KeywordsConfigError,
    classify,
    load_keywords,
    normalize,
    parse_keywords,
)

BOOK = load_keywords()
LOCALES = ("zh-CN", "zh-TW", "en")

OPT_OUT_WORDS = [
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPT OUT",
    "T", "TD", "R", "N", "退订", "取消订阅", "拒收",
]  # fmt: skip


def kind(text: str, locale: str = "zh-CN", book: KeywordBook = BOOK) -> str:
    return classify(text, locale, book).kind


# ---------------------------------------------------------------- the built-in words


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("word", OPT_OUT_WORDS)
def test_every_opt_out_word_opts_out_in_every_locale(word: str, locale: str) -> None:
    intent = classify(word, locale, BOOK)
    assert intent == Intent("opt_out", "reply_optout", matched=word)


@pytest.mark.parametrize("locale", LOCALES)
def test_shipped_file_lists_every_built_in_word_in_every_locale(locale: str) -> None:
    raw = tomllib.loads(KEYWORDS_FILE.read_text(encoding="utf-8"))["locales"][locale]
    assert set(OPT_OUT_WORDS) <= set(raw["opt_out"]["whole"])
    assert {"START", "YES", "UNSTOP", "订阅"} <= set(raw["opt_in"]["whole"])
    assert {"HELP", "INFO", "帮助"} <= set(raw["help"]["whole"])
    assert {"售后", "客服", "人工", "转人工", "human", "agent"} <= set(raw["handoff"]["within"])


@pytest.mark.parametrize(
    ("text", "expected", "rule"),
    [
        ("START", "opt_in", "reply_optin"),
        ("yes", "opt_in", "reply_optin"),
        ("Unstop", "opt_in", "reply_optin"),
        ("订阅", "opt_in", "reply_optin"),
        ("HELP", "help", "reply_help"),
        ("info", "help", "reply_help"),
        ("帮助", "help", "reply_help"),
        ("售后", "handoff", "reply_handoff"),
        ("我要售后", "handoff", "reply_handoff"),
        ("转人工客服", "handoff", "reply_handoff"),
        ("客服在吗", "handoff", "reply_handoff"),
        ("人工", "handoff", "reply_handoff"),
        ("I want a human", "handoff", "reply_handoff"),
        ("agent please", "handoff", "reply_handoff"),
        ("好的，谢谢", "none", None),
        ("Thanks!", "none", None),
    ],
)
def test_keyword_intents(text: str, expected: str, rule: str | None) -> None:
    intent = classify(text, "zh-CN", BOOK)
    assert (intent.kind, intent.reply_rule) == (expected, rule)


def test_matched_names_the_deciding_word_as_written() -> None:
    assert classify("ｓｔｏｐ！", "en", BOOK).matched == "STOP"
    assert classify("转人工客服", "zh-CN", BOOK).matched == "转人工"  # leftmost, longest
    assert classify("我家3岁男孩玩什么好", "zh-CN", BOOK).matched == "3岁"
    assert classify("随便看看", "zh-CN", BOOK).matched is None


# ---------------------------------------------------------------- a child's age and gender


@pytest.mark.parametrize(
    ("text", "months", "gender"),
    [
        ("3岁男孩", 36, "boy"),
        ("五岁女孩", 60, "girl"),
        ("两岁半", 30, None),
        ("3 year old boy", 36, "boy"),
        ("18个月", 18, None),
        ("一岁八个月", 20, None),
        ("3yo girl", 36, "girl"),
        ("三歲男孩", 36, "boy"),
        ("10岁", 120, None),
        ("十二岁", 144, None),
        ("3岁", 36, None),
        ("我家3岁男孩玩什么好", 36, "boy"),
        ("女儿4岁了，有什么推荐", 48, "girl"),
        ("儿子两岁", 24, "boy"),
        ("3 岁 男 孩", 36, "boy"),
        ("３岁男孩", 36, "boy"),
        ("3.5岁", 42, None),
        ("3岁零2个月", 38, None),
        ("半岁女宝", 6, "girl"),
        ("8个月大", 8, None),
        ("宝宝8个月", 8, None),
        ("二十四个月男孩", 24, "boy"),
        ("十六岁半", 198, None),
        ("零岁", 0, None),
        ("my daughter is 4 years old", 48, "girl"),
        ("three year old son", 36, "boy"),
        ("3 and a half year old", 42, None),
        ("3 y/o boy", 36, "boy"),
        ("3-year-old girl", 36, "girl"),
        ("18 month old", 18, None),
        ("aged 5", 60, None),
        ("3 years", 36, None),  # the whole message is the age
        ("三歲女孩", 36, "girl"),
    ],
)
def test_recommend_reads_age_and_gender(text: str, months: int, gender: str | None) -> None:
    intent = classify(text, "zh-CN", BOOK)
    assert intent.kind == "recommend"
    assert intent.reply_rule == "reply_recommendation"
    assert (intent.age_months, intent.gender) == (months, gender)


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("我儿子5岁，女儿3岁", "boy"),  # the gender in the age's own clause
        ("3岁男孩和5岁女孩", "boy"),  # the first age, its nearest gender
        ("孩子是男孩。3岁", "boy"),  # the only gender named anywhere
        ("王女士，孩子3岁", None),  # 女士 is the member, not the child
        ("男孩女孩都有，3岁", None),  # both named elsewhere: not a guess
    ],
)
def test_gender_is_the_one_nearest_the_age(text: str, gender: str | None) -> None:
    assert classify(text, "zh-CN", BOOK).gender == gender


@pytest.mark.parametrize(
    "text",
    [
        "20岁",  # not a child
        "十七岁",
        "seventeen year old",
        "我20岁了",
        "3个月前买的积木",  # a bare month count with no child in sight
        "I've been a member for 3 years",
        "2024年3月",  # a date, not an age
        "男孩",  # a gender but no age
        "3岁22个月",  # not a sensible age
    ],
)
def test_not_a_childs_age(text: str) -> None:
    assert kind(text) == "none"


def test_the_first_childs_age_in_range_wins() -> None:
    assert classify("我20岁，孩子3岁", "zh-CN", BOOK).age_months == 36


# ---------------------------------------------------------------- precedence


def test_opt_out_beats_everything_when_the_whole_message_is_an_opt_out_word() -> None:
    assert kind("退订") == "opt_out"
    assert kind("N") == "opt_out"


def test_handoff_beats_recommend() -> None:
    intent = classify("我家3岁男孩的玩具坏了，找售后", "zh-CN", BOOK)
    assert (intent.kind, intent.age_months) == ("handoff", None)


def test_opt_out_inside_a_sentence_is_not_an_opt_out_but_may_be_something_else() -> None:
    assert kind("不要退订我，我要人工") == "handoff"
    assert kind("STOP 3岁男孩") == "recommend"


def test_handoff_words_count_only_in_a_short_message() -> None:
    long_story = "我上周在你们店里买了一套积木，" * 5 + "客服态度很好"
    assert kind(long_story) == "none"
    assert kind(long_story + "，孩子3岁") == "recommend"


# ---------------------------------------------------------------- normalisation and non-matches


@pytest.mark.parametrize(
    "text",
    ["ＳＴＯＰ", "Ｔ", "stop", "Stop", "sToP", " stop ", "STOP!", "stop。", "【退订】", "退订！", "“T”",
     "\u3000T\u3000", "T\n", "STOP 🙏", "opt-out", "Opt Out", "OPTOUT",
     "取消订阅。。。", "…R…", "——TD——", "（N）", "UNSUBSCRIBE!!!"],
)  # fmt: skip
def test_decorated_opt_out_words_opt_out(text: str) -> None:
    assert kind(text) == "opt_out"


@pytest.mark.parametrize(
    "text",
    ["Thanks", "stopover", "T恤", "N95口罩", "I want to STOP by the store", "TT", "Tea", "No", "end of season sale?",
     "请问退订怎么操作", "Rabbit", "R2D2", "Td1", "stop stop", "t-shirt"],
)  # fmt: skip
def test_near_misses_do_not_opt_out(text: str) -> None:
    assert kind(text) != "opt_out"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("ＳＴＯＰ", "stop"),
        ("\u3000 Stop\t\n", "stop"),
        ("Hello, World!", "hello world"),
        ("3 岁 男 孩", "3岁男孩"),
        ("I want 人工", "i want人工"),
        ("3.5岁", "3.5岁"),
        ("end.", "end"),
        ("【退订】", "退订"),
        ("👍👍", ""),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("1️⃣", "1"),
    ],
)
def test_normalize(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


def test_latin_handoff_words_match_only_as_whole_words() -> None:
    assert kind("management") == "none"
    assert kind("humanity") == "none"
    assert kind("我要human") == "handoff"


# ---------------------------------------------------------------- locales


def test_locale_names_resolve_to_the_nearest_configured_locale() -> None:
    assert BOOK.for_locale("zh_tw") is BOOK.locales["zh-TW"]
    assert BOOK.for_locale("zh-Hant-HK") is BOOK.locales["zh-TW"]
    assert BOOK.for_locale("zh-HK") is BOOK.locales["zh-TW"]
    assert BOOK.for_locale("zh-Hans") is BOOK.locales["zh-CN"]
    assert BOOK.for_locale("zh") is BOOK.locales["zh-CN"]
    assert BOOK.for_locale("en-US") is BOOK.locales["en"]
    assert BOOK.for_locale("fr-FR") is BOOK.merged
    assert BOOK.for_locale("") is BOOK.merged


def test_unknown_locales_get_every_locales_words() -> None:
    assert kind("售後", "fr") == "handoff"  # zh-TW only
    assert kind("customer service", "fr") == "handoff"  # en only
    assert kind("STOP", "xx") == "opt_out"


def test_traditional_words_in_zh_tw() -> None:
    assert kind("售後", "zh-TW") == "handoff"
    assert kind("幫助", "zh-TW") == "help"
    assert kind("退訂", "zh-TW") == "opt_out"
    assert classify("三歲女孩", "zh-TW", BOOK).gender == "girl"


# ---------------------------------------------------------------- keywords.toml


SMALL = """
[locales.zh-CN.opt_out]
whole = ["退订"]
[locales.en.opt_out]
whole = ["STOP"]
[locales.en.help]
whole = ["HELP"]
"""


def config_error(text: str) -> str:
    with pytest.raises(KeywordsConfigError) as info:
        parse_keywords(text)
    return str(info.value)


def test_a_store_adds_an_opt_out_phrase_without_code() -> None:
    book = parse_keywords(SMALL.replace('whole = ["退订"]', 'whole = ["退订", "不要再发"]\nwithin = ["别再发"]'))
    assert kind("不要再发！", "zh-CN", book) == "opt_out"
    assert kind("不要再发", "en", book) == "opt_out"  # opt-out words apply in every locale
    assert kind("请别再发了", "zh-CN", book) == "opt_out"
    assert kind("STOP", "zh-CN", book) == "opt_out"


def test_missing_intents_are_empty() -> None:
    book = parse_keywords(SMALL)
    assert kind("人工", "zh-CN", book) == "none"
    assert kind("help", "zh-CN", book) == "none"
    assert kind("help", "en", book) == "help"
    assert kind("3岁", "zh-CN", book) == "recommend"


def test_within_max_chars_is_configurable() -> None:
    book = parse_keywords('[settings]\nwithin_max_chars = 4\n[locales.zh-CN.handoff]\nwithin = ["人工"]\n')
    assert kind("我要人工", "zh-CN", book) == "handoff"
    assert kind("我要转人工", "zh-CN", book) == "none"


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ("[locales.zh-CN.opt_out]\nwhole = [1]", "locales.zh-CN.opt_out.whole[0]: must be a string"),
        ("[locales.zh-CN.opt_out]\nwhole = ['STOP', '!!!']", "locales.zh-CN.opt_out.whole[1] = '!!!': nothing left"),
        ("[locales.zh-CN.opt_out]\nwhole = 'STOP'", "locales.zh-CN.opt_out.whole: must be a list"),
        ("[locales.zh-CN.opt_uot]\nwhole = ['STOP']", "locales.zh-CN.opt_uot: unknown key"),
        ("[locales.zh-CN.opt_out]\nall = ['STOP']", "locales.zh-CN.opt_out.all: unknown key"),
        ("[locales.zh-CN.handoff]\nwithin = ['T']", "locales.zh-CN.handoff.within[0] = 'T': too short"),
        ("[locales.zh-CN.gender]\nboys = ['男']", "locales.zh-CN.gender.boys: unknown key"),
        ("[locales.zh-CN]\nopt_out = 3", "locales.zh-CN.opt_out: must be a table"),
        ("[locales.zh-CN.gender]\nboy = ['男']\ngirl = ['男']", "locales.zh-CN.gender.girl[0] = '男': also listed at"),
        ("[locales.zh-CN.opt_in]\nwhole = ['YES', 'ok', 'Ok']\n[locales.zh-CN.help]\nwhole = ['OK']",
         "locales.zh-CN.help.whole[0] = 'OK': also listed at locales.zh-CN.opt_in.whole[1]"),
        ("[locales.zh-CN.opt_in]\nwhole = ['N']\n[locales.en.opt_out]\nwhole = ['N']",
         "locales.zh-CN.opt_in.whole[0] = 'N': also listed at locales.en.opt_out.whole[0]"),
        ("[locales.zh-CN.help]\nwhole = ['ok']\n[locales.en.opt_in]\nwhole = ['OK']",
         "locales.zh-CN.help.whole[0] = 'ok': also listed at locales.en.opt_in.whole[0]"),  # in the merge
        ("[locales.'chinese!'.opt_out]\nwhole = ['T']", "locales.chinese!: not a locale name"),
        ("[settings]\nwithin_max_chars = 0\n[locales.en]", "settings.within_max_chars: must be a whole number"),
        ("[settings]\nwithin_max_chars = true\n[locales.en]", "settings.within_max_chars: must be a whole number"),
        ("[settings]\nmax = 3\n[locales.en]", "settings.max: unknown key"),
        ("[setting]\n[locales.en]", "keywords.toml.setting: unknown key"),
        ("[settings]", "locales: is required"),
        ("locales = {}", "locales: at least one locale"),
        ("locales = 3", "locales: must be a table"),
        ("[locales.en\n", "keywords.toml: "),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(toml: str, names: str) -> None:
    assert names in config_error(toml)


def test_load_keywords_reads_a_given_file(tmp_path: Path) -> None:
    path = tmp_path / "store-keywords.toml"
    path.write_text(SMALL, encoding="utf-8")
    assert kind("STOP", "zh-CN", load_keywords(path)) == "opt_out"
    path.write_text("[locales.en\n", encoding="utf-8")
    with pytest.raises(KeywordsConfigError, match=r"store-keywords\.toml"):
        load_keywords(path)


def test_load_keywords_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeywordsConfigError, match=r"missing\.toml: cannot read"):
        load_keywords(tmp_path / "missing.toml")


# ---------------------------------------------------------------- as members really write them

EVERY_LOCALE = ("zh-CN", "zh-TW", "en", "fr", "")

# AWS End User Messaging SMS's required opt-out keywords (docs.aws.amazon.com/sms-voice, "Required
# opt-out keywords") and Twilio's defaults (twilio.com/docs/messaging/tutorials/advanced-opt-out):
AWS_OPT_OUT = ["ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD", "UNSUBSCRIBE"]
TWILIO_OPT_OUT = ["STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"]


@pytest.mark.parametrize("locale", EVERY_LOCALE)
@pytest.mark.parametrize("word", sorted({*AWS_OPT_OUT, *TWILIO_OPT_OUT, "ARRÊT", "Arrêt", "OPT OUT", "STOP ALL", "T"}))
def test_every_provider_default_opt_out_word_opts_out_in_every_locale(word: str, locale: str) -> None:
    assert kind(word, locale) == "opt_out"
    assert kind(word.lower(), locale) == "opt_out"


@pytest.mark.parametrize("locale", EVERY_LOCALE)
@pytest.mark.parametrize(
    "text",
    [
        # CTIA: "STOP PLEASE", "please stop texting" and friends
        "STOP PLEASE", "Stop please!", "please stop", "Please STOP!!", "pls stop", "stop plz", "STOP NOW",
        "stop, thanks", "Stop thank you", "stop texting", "please stop texting", "Please stop texting me.",
        "stop texting me", "Stop sending me messages", "stop sending these", "stop messaging me",
        "unsubscribe me please", "Unsubscribe me", "remove me from your list", "Please remove me",
        "take me off your list", "no more texts", "No more messages please", "opt me out",
        "don't text me again", "do not text me", "stop contacting me", "Cancel please", "quit please",
        "END.", "unsubscribe!", "Arrêt", "arret svp",
        # Chinese, as members write them
        "我要退订", "请退订", "请帮我退订", "麻烦退订", "退订了", "退订吧", "退订T", "回T", "回TD",
        "回复T", "回T退订", "T退订", "退订！谢谢",
        "不要再发了", "别再发了", "别再给我发短信了", "不要再发短信了", "别发了", "不要再给我发了",
        "不想再收到这种短信", "别再發了", "請退訂", "我要退訂", "不要再發了",
    ],
)  # fmt: skip
def test_real_opt_out_phrasings_opt_out(text: str, locale: str) -> None:
    assert kind(text, locale) == "opt_out", text


@pytest.mark.parametrize("locale", EVERY_LOCALE)
@pytest.mark.parametrize(
    "text",
    [
        "stop by the store tomorrow?", "Can I stop by the store tomorrow?", "I can't stop playing with it!",
        "When does the sale end?", "end of season sale?", "quit smoking, bought toys instead", "TD bank",
        "T-Rex toy in stock?", "T恤还有吗", "T恤有没有3岁的", "退订单怎么弄", "我的退订单号是多少", "请问退订怎么操作",
        "有新的T恤吗", "不要停产这个系列", "removed the batteries, still broken", "please send more deals",
        "Thanks!", "好的谢谢", "收到", "please", "请", "我要", "cancelled my order by mistake?",
    ],
)  # fmt: skip
def test_look_alikes_do_not_opt_out(text: str, locale: str) -> None:
    assert kind(text, locale) != "opt_out", text


@pytest.mark.parametrize("locale", EVERY_LOCALE)
@pytest.mark.parametrize(
    "text",
    ["START", "start", "Start please", "YES", "yes please", "UNSTOP", "unstop", "SUBSCRIBE", "订阅", "我要订阅",
     "重新订阅", "请恢复订阅", "訂閱", "重新訂閱"],
)  # fmt: skip
def test_opt_in_words_opt_in_in_every_locale(text: str, locale: str) -> None:
    assert kind(text, locale) == "opt_in", text


@pytest.mark.parametrize("text", ["start time?", "When does it start?", "yesterday's order", "订阅号是哪个"])
def test_look_alikes_do_not_opt_in(text: str) -> None:
    assert kind(text, "en") != "opt_in" and kind(text, "zh-CN") != "opt_in"


@pytest.mark.parametrize("locale", ("zh-CN", "zh-TW", "en"))
@pytest.mark.parametrize("text", ["HELP", "help", "Help please", "INFO", "info", "帮助", "请帮助"])
def test_help_words_are_help(text: str, locale: str) -> None:
    assert kind(text, locale) == "help", text


def test_a_courtesy_word_alone_means_nothing() -> None:
    assert kind("please") == "none" and kind("thanks") == "none" and kind("请") == "none"


def test_courtesy_words_are_configurable() -> None:
    book = parse_keywords('[settings]\ncourtesy = ["bitte"]\n[locales.en.opt_out]\nwhole = ["STOP"]\n')
    assert kind("stop bitte", "en", book) == "opt_out"
    assert kind("stop please", "en", book) == "none"
    assert "settings.courtesy[0]: must be a string" in config_error("[settings]\ncourtesy = [1]\n[locales.en]")


# ---------------------------------------------------------------- ages as parents write them


@pytest.mark.parametrize(
    "text",
    ["宝宝3个月前买的玩具坏了", "my son bought it 2 years ago", "用了两年了", "我家宝宝用了3个月就坏了",
     "we've had it for 3 months, my daughter loves it", "儿子半年前买的", "baby turned 2 weeks ago?",
     "三个月前买的小汽车", "my girl, bought 2 months ago"],
)  # fmt: skip
def test_a_duration_is_not_an_age(text: str) -> None:
    assert classify(text, "en", BOOK).age_months is None
    assert classify(text, "zh-CN", BOOK).kind != "recommend", text


@pytest.mark.parametrize(
    ("text", "months", "gender"),
    [
        ("my daughter is 5", 60, "girl"),
        ("My son is 3!", 36, "boy"),
        ("my son just turned 4", 48, "boy"),
        ("for my 4 y.o. grandson", 48, "boy"),
        ("for my 4 yo granddaughter", 48, "girl"),
        ("toys for 3 year olds?", 36, None),
        ("女儿五岁半", 66, "girl"),
        ("3岁男孩", 36, "boy"),
        ("两岁半的女孩", 30, "girl"),
        ("宝宝已经8个月了", 8, None),
        ("儿子3岁2个月", 38, "boy"),
    ],
)
def test_ages_as_parents_write_them(text: str, months: int, gender: str | None) -> None:
    intent = classify(text, "en", BOOK)
    assert (intent.kind, intent.age_months, intent.gender) == ("recommend", months, gender), text


@pytest.mark.parametrize("text", ["the price is 5", "my order is 12345", "it is 5 o'clock"])
def test_is_a_number_without_a_child_is_no_age(text: str) -> None:
    assert kind(text, "en") == "none"


# ---------------------------------------------------------------- new arrivals


@pytest.mark.parametrize("locale", ("zh-CN", "zh-TW", "en", "fr"))
@pytest.mark.parametrize(
    "text",
    ["新玩具", "新品", "本周新品", "有什么新品吗？", "想看看新品", "新玩具！", "上新了吗", "new toys", "New arrivals",
     "what's new", "What's new?", "whats new", "新貨", "有什麼新品"],
)  # fmt: skip
def test_new_arrivals(text: str, locale: str) -> None:
    intent = classify(text, locale, BOOK)
    assert (intent.kind, intent.reply_rule) == ("new_arrivals", "reply_new_arrivals"), text


@pytest.mark.parametrize("text", ["新年快乐", "what's up", "news", "newborn gift ideas?"])
def test_not_new_arrivals(text: str) -> None:
    assert kind(text) != "new_arrivals" and kind(text, "en") != "new_arrivals"
