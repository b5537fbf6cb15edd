"""Message text from user-authored Liquid templates (python-liquid, sandboxed: no file system,
no Python attribute access; an unknown variable is an error unless it has a ``default``).

Member-supplied text is data, and this is the one place that treats it so:

- every string value loses control and format characters (newlines and tabs become a space; bidi
  overrides and isolates U+202A–U+202E, U+2066–U+2069, direction marks, zero-width characters,
  private-use code points are dropped) and runs of spaces collapse, so a value cannot start a line
  of its own, reorder the text around it or hide characters;
- the member's own fields (``MEMBER_FIELDS``: the member's and a child's name) have a length budget
  in grapheme clusters and are cut with "…", so a long name cannot push an SMS past its rule's
  ``max_sms_parts`` (the rule loader checks templates with names of the full budget);
- a URL that starts inside a member's field ("http://evil.example" as a name) is never rewritten
  into a store-signed tracked link: ``rewrite_links`` only sees the links that come from the
  template (a store link that carries a member's value, ``https://shop/?n={{ member.name }}``, is
  the store's). To tell them apart the template is rendered a second time with each member value
  replaced by as many private-use characters; where the two texts line up, a link whose first
  character is a member's is the member's. Where a template makes them differ in length (it
  compares a name with something), only links found whole in the second rendering are the
  template's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from .links import find_urls

if TYPE_CHECKING:
    import regex
    from liquid import BoundTemplate, Environment

MEMBER_NAME_CHARS = 16
CHILD_NAME_CHARS = 12
# (variable, key) → budget in grapheme clusters: the fields members (or staff typing for them) fill in
MEMBER_FIELDS = {("member", "name"): MEMBER_NAME_CHARS, ("child", "name"): CHILD_NAME_CHARS}
ELLIPSIS = "…"
_SHADOW = "\ue000"  # stands in for each character of a member's value in the second rendering
_HOLD = "\ue001"  # stands in for a member's link while the template's links are rewritten
_ZWJ = "\u200d"


@cache
def _pattern(source: str) -> regex.Pattern[str]:
    """``regex`` (grapheme clusters, Unicode properties), imported when text is first cleaned or cut."""
    import regex

    return regex.compile(source)


_GRAPHEME = r"\X"
_SPACES = r"\s+"
_PICTOGRAPH = r"[\p{Extended_Pictographic}\N{VARIATION SELECTOR-16}\p{Emoji_Modifier}]"


class TemplateError(ValueError):
    pass


@cache
def _environment() -> Environment:
    """The Liquid environment, built (and python-liquid imported) when the first template is compiled:
    a function that renders nothing never loads the template engine."""
    from liquid import Environment, StrictDefaultUndefined

    return Environment(undefined=StrictDefaultUndefined, autoescape=False)


@lru_cache(maxsize=512)
def compile_template(source: str) -> BoundTemplate:
    try:
        return _environment().from_string(source)
    except Exception as exc:  # python-liquid raises several syntax error types
        raise TemplateError(str(exc).splitlines()[0]) from exc


def render(source: str, variables: dict[str, Any], rewrite_links: Callable[[str], str] | None = None) -> str:
    """The message text. ``rewrite_links(text)`` (click tracking, ``links.rewrite_links``) is given
    the text with only the template's links in it."""
    data = _as_data(variables)
    text = _render(source, data)
    if rewrite_links is not None:
        text = _rewrite_template_links(text, _render(source, _shadow(data)), rewrite_links)
    return text.strip()


def _render(source: str, data: dict[str, Any]) -> str:
    try:
        return compile_template(source).render(**data)
    except TemplateError:
        raise
    except Exception as exc:
        raise TemplateError(str(exc).splitlines()[0]) from exc


def clean_text(value: str) -> str:
    """``value`` without control/format/private-use characters, whitespace runs as one space. A
    zero-width joiner stays only inside an emoji sequence (👨‍👩‍👧), where it joins pictographs."""
    pictograph = _pattern(_PICTOGRAPH)
    kept: list[str] = []
    for i, ch in enumerate(value):
        category = unicodedata.category(ch)
        joins_emoji = bool(
            ch == _ZWJ and kept and pictograph.match(kept[-1]) and pictograph.match(value[i + 1 : i + 2])
        )
        if category in ("Cc", "Zl", "Zp") or ch.isspace():
            kept.append(" ")
        elif joins_emoji or category not in ("Cf", "Co", "Cs", "Cn"):
            kept.append(ch)
    return _pattern(_SPACES).sub(" ", "".join(kept)).strip()


def fit(value: str, budget: int) -> str:
    """``value`` in at most ``budget`` grapheme clusters, the last one "…" when it was cut."""
    clusters = _pattern(_GRAPHEME).findall(value)
    if len(clusters) <= budget:
        return value
    return "".join(clusters[: budget - 1]) + ELLIPSIS


def _as_data(variables: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: _clean(value) for key, value in variables.items()}
    for (name, key), budget in MEMBER_FIELDS.items():
        table = out.get(name)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            out[name] = {**table, key: fit(table[key], budget)}
    return out


def _shadow(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for name, key in MEMBER_FIELDS:
        table = out.get(name)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            out[name] = {**table, key: _SHADOW * len(table[key])}
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _rewrite_template_links(text: str, shadow: str, rewrite_links: Callable[[str], str]) -> str:
    """``text`` with its template links rewritten and its members' links left as they are."""
    if len(text) == len(shadow):

        def from_member(start: int, end: int) -> bool:
            return shadow[start] == _SHADOW

    else:
        template_links = {shadow[a:b] for a, b in find_urls(shadow)}

        def from_member(start: int, end: int) -> bool:
            return text[start:end] not in template_links

    held: list[str] = []
    pieces: list[str] = []
    last = 0
    for start, end in find_urls(text):
        if from_member(start, end):
            pieces.append(f"{text[last:start]}{_HOLD}{len(held)}{_HOLD}")
            held.append(text[start:end])
            last = end
    pieces.append(text[last:])
    rewritten = rewrite_links("".join(pieces))
    for index, url in enumerate(held):
        rewritten = rewritten.replace(f"{_HOLD}{index}{_HOLD}", url, 1)
    return rewritten
