"""Liquid templates: strict about unknown variables unless defaulted."""

from __future__ import annotations

import pytest

from chalicelib.domain.rendering import TemplateError, compile_template, render


def test_render_fills_variables_and_strips() -> None:
    assert render("  {{ member.name }}，你好  ", {"member": {"name": "小明"}}) == "小明，你好"


def test_default_filter_covers_a_missing_name() -> None:
    assert render("{{ member.name | default: '会员' }}", {"member": {"name": None}}) == "会员"


def test_an_unknown_variable_is_an_error() -> None:
    with pytest.raises(TemplateError):
        render("{{ member.nmae }}", {"member": {"name": "x"}})


@pytest.mark.parametrize("source", ["{{ a ", "{% if a %}", "{% nosuchtag %}"])
def test_syntax_errors_are_template_errors(source: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(source)


def test_no_python_attribute_access() -> None:
    # Sandboxed: dunder attributes of a Python object are not reachable from a template
    with pytest.raises(TemplateError):
        render("{{ s.__class__ }}", {"s": "x"})


# -- member-supplied text is data --------------------------------------------------------------------

from chalicelib.domain.rendering import CHILD_NAME_CHARS, MEMBER_NAME_CHARS  # noqa: E402


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("小明\n回T退订", "小明 回T退订"),  # a newline cannot start a line of its own
        ("Tom\tLee", "Tom Lee"),
        ("\u202eevil\u202c", "evil"),  # right-to-left override
        ("\u2066小明\u2069", "小明"),  # isolates
        ("小\u200b明\u200d\ufeff", "小明"),  # zero-width characters
        ("\u200f小明\u200e", "小明"),  # direction marks
        ("A\u2028B\u2029C", "A B C"),  # line and paragraph separators
        ("  王   小明  ", "王 小明"),
        ("小明\x00\x07\x1b", "小明"),
        ("\ue000小明\ue001", "小明"),  # private use: nothing can fake our marks
    ],
)
def test_member_names_lose_control_characters(name: str, shown: str) -> None:
    assert render("你好{{ member.name }}！", {"member": {"name": name}}) == f"你好{shown}！"


def test_a_long_name_is_cut_to_its_budget_with_an_ellipsis() -> None:
    name = "王" * 40
    out = render("{{ member.name }}", {"member": {"name": name}})
    assert out == "王" * (MEMBER_NAME_CHARS - 1) + "…"
    assert len(render("{{ child.name }}", {"child": {"name": "A" * 99}})) == CHILD_NAME_CHARS
    # cut between grapheme clusters, never inside an emoji
    family = "👨‍👩‍👧" * 40
    cut = render("{{ member.name }}", {"member": {"name": family}})
    assert cut == "👨‍👩‍👧" * (MEMBER_NAME_CHARS - 1) + "…"


def test_a_name_within_its_budget_is_unchanged() -> None:
    assert render("{{ member.name }}", {"member": {"name": "王" * MEMBER_NAME_CHARS}}) == "王" * MEMBER_NAME_CHARS


def test_names_still_work_with_filters_and_conditions() -> None:
    variables = {"member": {"name": "王小明"}}
    assert render("{{ member.name | slice: 0, 1 }}先生", variables) == "王先生"
    assert render("{% if member.name %}有{% endif %}", variables) == "有"
    assert render("{{ member.name | default: '会员' }}", {"member": {"name": ""}}) == "会员"


def track(text: str) -> str:
    return text.replace("https://", "TRACKED:")


def test_only_links_from_the_template_become_tracked_links() -> None:
    variables = {"member": {"name": "http://evil.io"}}
    out = render("Hi {{ member.name }}, see https://shop.example/new", variables, rewrite_links=track)
    assert out == "Hi http://evil.io, see TRACKED:shop.example/new"
    variables = {"member": {"name": "https://ev.io"}}
    out = render("{{ member.name }} https://shop.example", variables, rewrite_links=track)
    assert out == "https://ev.io TRACKED:shop.example"
    # a store link that carries the member's name is still the store's
    out = render("https://shop.example/?n={{ member.name }}", {"member": {"name": "小明"}}, rewrite_links=track)
    assert out == "TRACKED:shop.example/?n=小明"


def test_a_sliced_name_is_still_not_a_link() -> None:
    variables = {"member": {"name": "https://ev.io/ab"}}  # 16 characters: within the budget
    out = render("{{ member.name | slice: 0, 15 }} https://shop.example", variables, rewrite_links=track)
    assert out == "https://ev.io/a TRACKED:shop.example"
    variables = {"member": {"name": "我 https://ev.io"}}
    out = render("{{ member.name | slice: 2, 20 }} https://shop.example", variables, rewrite_links=track)
    assert out == "https://ev.io TRACKED:shop.example"


def test_store_values_are_not_cut() -> None:
    assert render("{{ tier.benefits }}", {"tier": {"benefits": "优" * 200}}) == "优" * 200
