"""Rules as data: ``chalicelib/rules.toml`` says which rules run, when, over which channel, with
which text per locale. Loaded once, validated with errors that name the rule and the field.

Validation has two parts. The structure (classes, channels, numbers, locales, quiet hours …) is
checked on every load: it is cheap. The templates — each compiles, and each SMS it renders fits its
rule's limit under every counting regime (:func:`check_templates`) — cost a template engine and a
render of every template: ``memberpulse package`` checks them (and refuses a bad rules.toml), then
writes the digest of the bytes it checked beside the file (``rules.checked``). A load that finds
that digest, for these very bytes, skips the template check and compiles each template when it is
first rendered; any other load (an edited file, a test, the CLI) checks in full, so a bad rules.toml
still fails the function at start, naming the rule and the field."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .calendar import parse_clock
from .governance import OPT_OUT_LINES, FrequencyCap, QuietHours
from .model import Channel

RULES_FILE = Path(__file__).resolve().parent.parent / "rules.toml"
CHECKED_NAME = "rules.checked"  # beside rules.toml: the digest of the bytes checked in full at package time
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

    @property
    def urgent(self) -> bool:
        """May break quiet hours (none by default)."""
        return bool(self.params.get("urgent", False))

    @property
    def priority(self) -> int:
        return int(self.params.get("priority", 50))

    @property
    def max_sms_parts(self) -> int:
        return int(self.params.get("max_sms_parts", 3))

    @property
    def ack_minutes(self) -> int | None:
        """Needs a delivered/read receipt within this many minutes of an IM send, else SMS instead."""
        value = self.params.get("ack_minutes")
        return int(value) if value is not None else None

    @property
    def confirms_opt_out(self) -> bool:
        """The one message a member still gets after opting out: the confirmation of it."""
        return bool(self.params.get("confirms_opt_out", False))

    @property
    def samples(self) -> dict[str, Any]:
        """Typical values of the rule's own template variables (``sample = {…}`` in its section),
        for the length check when the rules load."""
        value = self.params.get("sample", {})
        return dict(value) if isinstance(value, dict) else {}

    @property
    def answers_opted_out(self) -> bool:
        """Goes even to a member who opted out on the channel (HELP: carriers require an answer)."""
        return bool(self.params.get("answers_opted_out", False))

    def quiet_hours(self, store: QuietHours) -> QuietHours:
        raw = self.params.get("quiet_hours")
        return parse_quiet_hours(raw, f"rules.{self.rule_id}.quiet_hours", store) if raw is not None else store


@dataclass(frozen=True)
class StoreConfig:
    name: str
    tiers: tuple[str, ...]
    tier_benefits: dict[str, str]
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    frequency_cap: FrequencyCap = field(default_factory=FrequencyCap)
    opt_out: dict[str, str] = field(default_factory=lambda: dict(OPT_OUT_LINES))


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
    urgent = raw.get("urgent", False)
    if not isinstance(urgent, bool):
        raise RulesConfigError(f"{where}.urgent: must be true or false")
    priority = raw.get("priority", 50)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RulesConfigError(f"{where}.priority: must be an integer (higher goes first)")
    max_parts = raw.get("max_sms_parts", 3)
    if isinstance(max_parts, bool) or not isinstance(max_parts, int) or max_parts <= 0:
        raise RulesConfigError(f"{where}.max_sms_parts: must be a positive integer")
    quiet = raw.get("quiet_hours")
    if quiet is not None:
        parse_quiet_hours(quiet, f"{where}.quiet_hours", QuietHours())
    ack = raw.get("ack_minutes")
    if ack is not None and (isinstance(ack, bool) or not isinstance(ack, int) or ack <= 0):
        raise RulesConfigError(f"{where}.ack_minutes: must be a positive integer (minutes)")
    if ack is not None and Channel.SMS not in channels:
        raise RulesConfigError(f"{where}.ack_minutes: needs sms among the channels to fall back to")
    if not isinstance(raw.get("sample", {}), dict):
        raise RulesConfigError(f"{where}.sample: must be a table of template variables and typical values")
    for flag in ("confirms_opt_out", "answers_opted_out"):
        if not isinstance(raw.get(flag, False), bool):
            raise RulesConfigError(f"{where}.{flag}: must be true or false")
    known = {"enabled", "class", "channels", "stale_after_hours", "templates"}
    params = {k: v for k, v in raw.items() if k not in known}
    return RuleConfig(rule_id, enabled, rule_class, channels, dict(templates), stale, params)


def _positive(table: dict[str, Any], key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RulesConfigError(f"{where}.{key}: must be a positive integer")
    return value


def parse_quiet_hours(raw: Any, where: str, base: QuietHours) -> QuietHours:
    """``{opens = "08:00", closes = "21:00", spread_minutes = 20}``; omitted keys keep ``base``."""
    if not isinstance(raw, dict):
        raise RulesConfigError(f'{where}: must be a table like {{opens = "08:00", closes = "21:00"}}')
    try:
        opens = parse_clock(raw["opens"]) if "opens" in raw else base.opens
        closes = parse_clock(raw["closes"]) if "closes" in raw else base.closes
    except (ValueError, TypeError, AttributeError):
        raise RulesConfigError(f'{where}: opens/closes must be "HH:MM"') from None
    if opens == closes:
        raise RulesConfigError(f"{where}: opens and closes must differ")
    spread_minutes = raw.get("spread_minutes", base.spread_minutes)
    if isinstance(spread_minutes, bool) or not isinstance(spread_minutes, int) or not 0 <= spread_minutes <= 120:
        raise RulesConfigError(f"{where}.spread_minutes: must be 0–120")
    return QuietHours(opens, closes, spread_minutes)


def parse_rule_book(text: str, *, templates_checked: bool = False) -> RuleBook:
    """The rule book in ``text``, checked in full; ``templates_checked``: its templates were already
    checked (``memberpulse package``, for these very bytes), so only the structure is."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesConfigError(f"rules.toml: {exc}") from None
    store_raw = _require(data, "store", dict, "rules.toml")
    cap_raw = store_raw.get("frequency_cap", {})
    cap = FrequencyCap(
        per_week=_positive(cap_raw, "per_week", 2, "store.frequency_cap"),
        per_month=_positive(cap_raw, "per_month", 6, "store.frequency_cap"),
    )
    opt_out = {**OPT_OUT_LINES, **dict(store_raw.get("opt_out", {}))}
    store = StoreConfig(
        name=_require(store_raw, "name", str, "store"),
        tiers=tuple(_require(store_raw, "tiers", list, "store")),
        tier_benefits=dict(store_raw.get("tier_benefits", {})),
        quiet_hours=parse_quiet_hours(store_raw.get("quiet_hours", {}), "store.quiet_hours", QuietHours()),
        frequency_cap=cap,
        opt_out=opt_out,
    )
    rules_raw = _require(data, "rules", dict, "rules.toml")
    rules = {rule_id: parse_rule(rule_id, raw) for rule_id, raw in rules_raw.items()}
    book = RuleBook(store, rules)
    if not templates_checked:
        check_templates(book)
    return book


def check_templates(book: RuleBook) -> None:
    """Every template compiles, and every SMS one renders fits its rule's limit (the expensive part
    of the validation: python-liquid, and a render of every template under every regime)."""
    from .rendering import TemplateError, compile_template

    for rule in book.rules.values():
        for locale, source in rule.templates.items():
            try:
                compile_template(source)
            except TemplateError as exc:
                raise RulesConfigError(f"rules.{rule.rule_id}.templates.{locale}: {exc}") from None
        check_sms_length(rule, book.store)


def sample_variables(store: StoreConfig) -> dict[str, Any]:
    """Typical values for every template variable (docs/templates.md), for the length check."""
    from .rendering import CHILD_NAME_CHARS, MEMBER_NAME_CHARS

    longest_benefit = max(store.tier_benefits.values(), key=len, default="")
    return {
        # Names as long as rendering lets them be: a rule that loads fits with any member's name
        "member": {"id": "m-10001", "name": "王" * MEMBER_NAME_CHARS, "tier": "gold", "points": 1580},
        "store": {"name": store.name},
        "rule": "sample",
        "child": {
            "name": "乐" * CHILD_NAME_CHARS,
            "age": 4,
            "birthday": "2026-12-01",
            "gender": "boy",
            "birth_date": "2022-12-01",
        },
        "picks": ["恐龙拼图·第2辑", "百变积木桶", "小熊换装套"],
        "arrivals": ["恐龙拼图·第2辑", "百变积木桶", "小熊换装套"],
        "points": {"delta": 158, "balance": 1580, "reason": "purchase"},
        "expiring": {"amount": 158, "date": "2026-12-31"},
        "tier": {"name": "gold", "old": "silver", "benefits": longest_benefit},
        "coupon": {"id": "c-1", "title": "满100减20券", "value": 20, "expires_on": "2026-12-31"},
        "balance": {"amount": 200, "date": "2026-12-31"},
        "last_purchase": "2026-10-01",
        "days": 45,
        "order": {"id": "o-1", "products": ["小熊娃娃", "恐龙拼图·第1辑"]},
        "product": {"sku": "PUZ-DINO-1", "name": "恐龙拼图·第1辑", "category": "puzzle"},
        "accessories": ["小熊换装套", "小熊背包"],
        "next": ["恐龙拼图·第2辑", "恐龙拼图·第3辑"],
        "ask": {"age_months": 36, "age_years": 3, "gender": "boy"},
        "ticket": {"id": "h0123456789abcdef012"},
        "activity": _SAMPLE_ACTIVITY,
        "reminder": {"minutes": 60},
        "next_activity": {"title": "周六积木大赛", "starts": "12月5日（周六）14:00", "keyword": "报名"},
        "outcome": "cancelled",
        "choices": [
            {"reply": "报名1", "title": "周六积木大赛", "starts": "11月28日（周六）14:00"},
            {"reply": "报名2", "title": "绘本故事会", "starts": "11月29日（周日）10:00"},
        ],
    }


# A typical activity as messages show it (with the signed links a store with a public URL gets).
_LINK = "https://api.example-toys.cn/a/sat-lego-1128/rAbCdEfGhIj0123456789ab"
_SAMPLE_ACTIVITY = {
    "id": "sat-lego-1128",
    "title": "周六积木大赛",
    "location": "乐乐玩具万象城店",
    "starts": "11月28日（周六）14:00",
    "date": "11月28日（周六）",
    "time": "14:00",
    "ends": "16:00",
    "keyword": "报名",
    "cancelled": False,
    "changed": ["starts_at"],
    "code": "K7M2QX",
    "position": 2,
    "deadline": "11月27日（周五）20:00",
    "offers": True,
    "links": {"register": _LINK, "cancel": _LINK, "claim": _LINK},
}


def check_sms_length(rule: RuleConfig, store: StoreConfig) -> None:
    """Flag, when the rules load, a template whose SMS (with sample values, the opt-out line of a
    marketing rule and the 【signature】) runs past the rule's ``max_sms_parts`` or the longest text
    its platforms take.

    Which regime (``sms_parts.sms_regime``) a member's SMS is counted under depends on their number,
    which a rule book cannot know: the store's default phone region only fills in numbers written
    without a country code, and a member of any locale may give a number of any country (a zh-CN
    member with a Hong Kong number, an en member with a mainland one). So every template is counted
    under every regime, China domestic with the store's signature and international, and the
    larger count must fit: a rule that loads fits its limit on any number."""
    if Channel.SMS not in rule.channels:
        return
    from .governance import with_opt_out
    from .rendering import TemplateError, render
    from .sms_parts import REGIMES, count_parts, fits

    signature = f"【{store.name}】"
    for locale, source in rule.templates.items():
        try:
            text = render(source, {**sample_variables(store), **rule.samples})
        except TemplateError as exc:
            raise RulesConfigError(f"rules.{rule.rule_id}.templates.{locale}: {exc}") from None
        if rule.rule_class == "marketing":
            text = with_opt_out(text, locale, store.opt_out)
        for regime in REGIMES:
            parts = count_parts(text, regime, signature)
            if parts > rule.max_sms_parts:
                raise RulesConfigError(
                    f"rules.{rule.rule_id}.templates.{locale}: renders to {parts} SMS parts ({regime.name}) "
                    f"with sample values (limit max_sms_parts = {rule.max_sms_parts}): shorten it or raise the limit"
                )
            if not fits(text, regime, signature):
                raise RulesConfigError(
                    f"rules.{rule.rule_id}.templates.{locale}: longer than the {regime.max_chars} characters "
                    f"an SMS ({regime.name}) may have, with sample values"
                )


def rules_digest(text: str) -> str:
    """What ``rules.checked`` holds for a rules.toml whose templates were checked in full."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def checked_at_package(path: Path = RULES_FILE) -> bool:
    """``memberpulse package`` checked these very bytes in full: ``rules.checked`` beside the file
    holds their digest."""
    stamp = path.with_name(CHECKED_NAME)
    if not stamp.is_file():
        return False
    return stamp.read_text(encoding="utf-8").strip() == rules_digest(path.read_text(encoding="utf-8"))


def load_rule_book(path: Path = RULES_FILE) -> RuleBook:
    """The rule book at ``path``; its templates are checked too unless the package checked them."""
    return parse_rule_book(path.read_text(encoding="utf-8"), templates_checked=checked_at_package(path))
