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
