"""rules.toml: loads, and every configuration error names the rule and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.domain.model import Channel
from chalicelib.domain.rendering import render
from chalicelib.domain.rulebook import (
    CHECKED_NAME,
    LOCALES,
    RULES_FILE,
    RulesConfigError,
    checked_at_package,
    load_rule_book,
    parse_rule_book,
    rules_digest,
    sample_variables,
)
from memberpulse_cli.packaging import check_rules
from memberpulse_cli.project import CliError

STORE = """
[store]
name = "乐乐玩具"
tiers = ["regular", "gold"]
"""


def book_with(rule_toml: str) -> str:
    return STORE + rule_toml


def config_error(text: str) -> str:
    with pytest.raises(RulesConfigError) as info:
        parse_rule_book(text)
    return str(info.value)


def welcome_toml(settings: str = 'class = "transactional"', templates: str | None = 'zh-CN = "hi"') -> str:
    """A [rules.welcome] table with these settings and templates (None: no templates table)."""
    text = f"[rules.welcome]\n{settings}\n"
    return text if templates is None else text + f"[rules.welcome.templates]\n{templates}\n"


def test_the_shipped_rules_toml_loads() -> None:
    book = load_rule_book()
    assert book.store.name
    assert book.store.tiers
    assert book.rules, "rules.toml defines no rule"
    for rule in book.rules.values():
        assert "zh-CN" in rule.templates
        assert set(rule.templates) <= set(LOCALES)
        assert rule.channels


def test_the_shipped_welcome_rule_speaks_every_locale() -> None:
    welcome = load_rule_book().get("welcome")
    assert welcome is not None
    assert set(welcome.templates) == {"zh-CN", "zh-TW", "en"}


def test_a_minimal_rule_gets_defaults() -> None:
    book = parse_rule_book(book_with(welcome_toml()))
    rule = book.rules["welcome"]
    assert rule.enabled and rule.channels == (Channel.IM, Channel.SMS) and rule.stale_after_hours == 24


def test_extra_keys_become_params_and_disabled_rules_are_hidden_from_get() -> None:
    book = parse_rule_book(
        book_with(
            '[rules.dormant_45d]\nclass = "marketing"\nenabled = false\ndays = 45\n'
            '[rules.dormant_45d.templates]\nzh-CN = "想你了"\n'
        )
    )
    assert book.rules["dormant_45d"].params == {"days": 45}
    assert book.get("dormant_45d") is None
    assert book.get("no_such_rule") is None


def test_template_for_falls_back_to_zh_cn() -> None:
    book = parse_rule_book(book_with(welcome_toml(templates='zh-CN = "欢迎"\nen = "Welcome"')))
    rule = book.rules["welcome"]
    assert rule.template_for("en") == "Welcome"
    assert rule.template_for("zh-TW") == "欢迎"


@pytest.mark.parametrize(
    ("rule_toml", "where"),
    [
        (welcome_toml(settings=""), "rules.welcome.class"),
        (welcome_toml(settings='class = "promo"'), "rules.welcome.class"),
        (welcome_toml(settings="class = 1"), "rules.welcome.class"),
        (welcome_toml(settings='class = "transactional"\nchannels = ["email"]'), "rules.welcome.channels"),
        (welcome_toml(settings='class = "transactional"\nchannels = []'), "rules.welcome.channels"),
        (welcome_toml(settings='class = "transactional"\nchannels = "sms"'), "rules.welcome.channels"),
        (welcome_toml(settings='class = "transactional"\nenabled = "yes"'), "rules.welcome.enabled"),
        (welcome_toml(settings='class = "transactional"\nstale_after_hours = 0'), "rules.welcome.stale_after_hours"),
        (welcome_toml(settings='class = "transactional"\nstale_after_hours = true'), "rules.welcome.stale_after_hours"),
        (welcome_toml(templates=None), "rules.welcome.templates"),
        (welcome_toml(templates='en = "hi"'), "rules.welcome.templates.zh-CN"),
        (welcome_toml(templates='zh-CN = "hi"\nfr = "salut"'), "rules.welcome.templates.fr"),
        (welcome_toml(templates='zh-CN = "  "'), "rules.welcome.templates.zh-CN"),
        (welcome_toml(templates="zh-CN = 3"), "rules.welcome.templates.zh-CN"),
        (welcome_toml(templates='zh-CN = "{{ member.name "'), "rules.welcome.templates.zh-CN"),
        (welcome_toml(templates='zh-CN = "{% if x %}open"'), "rules.welcome.templates.zh-CN"),
        (welcome_toml(templates='zh-CN = "hi"\nen = "{{ a | }}"'), "rules.welcome.templates.en"),
    ],
)
def test_rule_errors_name_the_rule_and_the_field(rule_toml: str, where: str) -> None:
    message = config_error(book_with(rule_toml))
    assert message.startswith(where + ":"), message


def test_store_and_rules_tables_are_required() -> None:
    assert config_error('[rules.welcome]\nclass = "transactional"\n').startswith("rules.toml.store")
    assert config_error(STORE).startswith("rules.toml.rules")
    assert config_error('[store]\ntiers = ["a"]\n[rules]\n').startswith("store.name")


def test_toml_syntax_error_is_a_config_error() -> None:
    assert config_error("[store\nname = 1").startswith("rules.toml:")


def test_a_rule_that_is_not_a_table_is_a_config_error_naming_the_rule() -> None:
    # Given `welcome = "yes"` under [rules] (a value where a table belongs)
    # Then a RulesConfigError names rules.welcome (today: AttributeError 'str' object has no attribute 'get')
    message = config_error(STORE + '[rules]\nwelcome = "yes"\n')
    assert message.startswith("rules.welcome"), message


def test_a_template_longer_than_its_sms_limit_is_flagged_when_the_rules_load() -> None:
    # Given a marketing rule whose text, with the opt-out line and the signature, needs two parts
    long_text = "新品到店" * 16  # 64 characters + 【…】 + 回T退订 > 70
    text = book_with(welcome_toml('class = "marketing"\nmax_sms_parts = 1', f'zh-CN = "{long_text}"'))
    # Then loading names the rule, the locale and the limit
    message = config_error(text)
    assert "rules.welcome.templates.zh-CN" in message
    assert "2 SMS parts" in message and "max_sms_parts = 1" in message


def test_the_same_text_passes_when_the_rule_allows_two_parts_or_sends_only_im() -> None:
    long_text = "新品到店" * 16
    parse_rule_book(book_with(welcome_toml('class = "marketing"\nmax_sms_parts = 2', f'zh-CN = "{long_text}"')))
    im_only = 'class = "marketing"\nmax_sms_parts = 1\nchannels = ["im"]'
    parse_rule_book(book_with(welcome_toml(im_only, f'zh-CN = "{long_text}"')))


def test_a_template_is_checked_under_every_sms_regime() -> None:
    # Given a zh-CN template of 36 emoji: 36 + 6 signature characters is one China part, but any
    # other number counts UCS-2 units, 72 of them: two parts. A zh-CN member may have a Hong Kong
    # number, so the rule does not fit max_sms_parts = 1.
    emoji = "😀" * 36
    settings = 'class = "transactional"\nmax_sms_parts = 1'
    message = config_error(book_with(welcome_toml(settings, f'zh-CN = "{emoji}"')))
    assert "rules.welcome.templates.zh-CN" in message and "2 SMS parts (international)" in message


def test_a_template_past_the_china_length_limit_is_flagged() -> None:
    # 495 characters + 【…】: more than the 500 a China SMS may have, whatever max_sms_parts allows
    settings = 'class = "transactional"\nmax_sms_parts = 20'
    message = config_error(book_with(welcome_toml(settings, f'zh-CN = "{"好" * 495}"')))
    assert "500 characters" in message and "china_domestic" in message


def test_the_shipped_rules_fit_their_limits() -> None:
    from chalicelib.domain.rulebook import load_rule_book

    book = load_rule_book()
    assert all(rule.max_sms_parts >= 1 for rule in book.rules.values())


# -- the template check: at package time, and at start unless the package did it for these bytes ----


def rules_file(tmp_path: Path, text: str, stamp: str | None = None) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    if stamp is not None:
        (tmp_path / CHECKED_NAME).write_text(stamp + "\n", encoding="utf-8")
    return path


BAD_TEMPLATE = book_with(welcome_toml(templates='zh-CN = "{% if member.name %}hi"'))  # no {% endif %}


def test_a_bad_template_fails_the_load_naming_the_rule_and_locale(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match=r"rules\.welcome\.templates\.zh-CN"):
        load_rule_book(rules_file(tmp_path, BAD_TEMPLATE))


def test_a_check_stamp_for_other_bytes_does_not_skip_the_template_check(tmp_path: Path) -> None:
    # Given rules.checked from a package of an earlier rules.toml, and the file edited since
    path = rules_file(tmp_path, BAD_TEMPLATE, rules_digest(book_with(welcome_toml())))
    # Then the load checks the templates itself
    assert not checked_at_package(path)
    with pytest.raises(RulesConfigError, match=r"rules\.welcome\.templates\.zh-CN"):
        load_rule_book(path)


def test_the_structure_is_checked_even_with_a_check_stamp(tmp_path: Path) -> None:
    text = book_with(welcome_toml('class = "promotional"'))
    with pytest.raises(RulesConfigError, match=r"rules\.welcome\.class"):
        load_rule_book(rules_file(tmp_path, text, rules_digest(text)))


def test_the_package_check_stamps_the_shipped_rules_and_the_stamped_book_is_the_same(tmp_path: Path) -> None:
    path = rules_file(tmp_path, RULES_FILE.read_text(encoding="utf-8"))
    assert not checked_at_package(path)
    check_rules(path)
    assert checked_at_package(path)
    assert (tmp_path / CHECKED_NAME).read_text(encoding="utf-8").strip() == rules_digest(path.read_text("utf-8"))
    stamped = load_rule_book(path)
    assert stamped == load_rule_book()
    # each template is compiled when first rendered
    welcome = stamped.rules["welcome"]
    assert render(welcome.template_for("en"), sample_variables(stamped.store)).startswith("Welcome to 乐乐玩具")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (BAD_TEMPLATE, "rules.welcome.templates.zh-CN"),
        (
            book_with(welcome_toml('class = "transactional"\nmax_sms_parts = 1', f'zh-CN = "{"好" * 80}"')),
            "rules.welcome.templates.zh-CN: renders to 2 SMS parts",
        ),
    ],
)
def test_the_package_check_refuses_a_bad_rules_toml_naming_rule_and_field(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(CliError, match=re.escape(named)):
        check_rules(rules_file(tmp_path, text))
    assert not (tmp_path / CHECKED_NAME).exists()


def test_the_package_check_refuses_a_rule_module_without_its_section(tmp_path: Path) -> None:
    with pytest.raises(CliError, match=r"has no \[rules\.\w+\] section"):
        check_rules(rules_file(tmp_path, book_with(welcome_toml())))
