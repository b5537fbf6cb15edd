"""Rules as data: ``chalicelib/rules.toml`` says which rules run, when, over which channel, with
which text per locale. Loaded once, validated with errors that name the rule and the field."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Channel
from .rendering import TemplateError, compile_template

RULES_FILE = Path(__file__).resolve().parent.parent / "rules.toml"
LOCALES = ("zh-CN", "zh-TW", "en")
CLASSES = ("transactional", "marketing")


class RulesConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RuleConfig:
    rule_id: str
    enabled: bool
    rule_class: str
    channels: tuple[Channel, ...]
    templates: dict[str, str]
    stale_after_hours: int = 24
    params: dict[str, Any] = field(default_factory=dict)

    def template_for(self, locale: str) -> str:
        return self.templates.get(locale) or self.templates["zh-CN"]


@dataclass(frozen=True)
class StoreConfig:
    name: str
    tiers: tuple[str, ...]
    tier_benefits: dict[str, str]


@dataclass(frozen=True)
class RuleBook:
    store: StoreConfig
    rules: dict[str, RuleConfig]

    def get(self, rule_id: str) -> RuleConfig | None:
        rule = self.rules.get(rule_id)
        return rule if rule and rule.enabled else None


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise RulesConfigError(f"{where}.{key}: is required")
    value = table[key]
    if not isinstance(value, kind):
        raise RulesConfigError(f"{where}.{key}: must be a {kind.__name__}")
    return value


def parse_rule(rule_id: str, raw: dict[str, Any]) -> RuleConfig:
    where = f"rules.{rule_id}"
    if not isinstance(raw, dict):
        raise RulesConfigError(f"{where}: must be a table ([{where}])")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RulesConfigError(f"{where}.enabled: must be true or false")
    rule_class = _require(raw, "class", str, where)
    if rule_class not in CLASSES:
        raise RulesConfigError(f"{where}.class: must be one of {', '.join(CLASSES)}")
    channels_raw = raw.get("channels", ["im", "sms"])
    try:
        channels = tuple(Channel(c) for c in channels_raw)
    except (ValueError, TypeError):
        raise RulesConfigError(f"{where}.channels: must list sms and/or im") from None
    if not channels:
        raise RulesConfigError(f"{where}.channels: must not be empty")
    stale = raw.get("stale_after_hours", 24)
    if isinstance(stale, bool) or not isinstance(stale, int) or stale <= 0:
        raise RulesConfigError(f"{where}.stale_after_hours: must be a positive integer")
    templates = _require(raw, "templates", dict, where)
    if "zh-CN" not in templates:
        raise RulesConfigError(f"{where}.templates.zh-CN: is required (the fallback locale)")
    for locale, source in templates.items():
        if locale not in LOCALES:
            raise RulesConfigError(f"{where}.templates.{locale}: unknown locale (use {', '.join(LOCALES)})")
        if not isinstance(source, str) or not source.strip():
            raise RulesConfigError(f"{where}.templates.{locale}: must be non-empty text")
        try:
            compile_template(source)
        except TemplateError as exc:
            raise RulesConfigError(f"{where}.templates.{locale}: {exc}") from None
    known = {"enabled", "class", "channels", "stale_after_hours", "templates"}
    params = {k: v for k, v in raw.items() if k not in known}
    return RuleConfig(rule_id, enabled, rule_class, channels, dict(templates), stale, params)


def parse_rule_book(text: str) -> RuleBook:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesConfigError(f"rules.toml: {exc}") from None
    store_raw = _require(data, "store", dict, "rules.toml")
    store = StoreConfig(
        name=_require(store_raw, "name", str, "store"),
        tiers=tuple(_require(store_raw, "tiers", list, "store")),
        tier_benefits=dict(store_raw.get("tier_benefits", {})),
    )
    rules_raw = _require(data, "rules", dict, "rules.toml")
    rules = {rule_id: parse_rule(rule_id, raw) for rule_id, raw in rules_raw.items()}
    return RuleBook(store, rules)


def load_rule_book(path: Path = RULES_FILE) -> RuleBook:
    return parse_rule_book(path.read_text(encoding="utf-8"))
