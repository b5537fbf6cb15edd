"""Funnels (CONTRACT §8, ``GET /v1/analytics/funnel``): what each message adds to the funnel of its
rule or campaign, variant, channel and day, and how a period's counters are summed per group. Pure.

A message belongs to exactly one funnel counter, keyed by where it came from and the day it was
planned in the store's zone: ``funnel#<day>#rule#<rule id>#<variant or ->#<channel>`` or
``funnel#<day>#campaign#<campaign id>#<variant or control>#<channel>``. Every later stage of that
message (sent, delivered, read, clicked, converted, revenue) counts on the same counter, the day it
was *planned* (a cohort): a funnel for a period reads as "of the members targeted in these days,
how many were reached and bought", and no stage can exceed the one before it because its events
fell on another day. A query reads the counters of the period's days (``days × groups`` items,
whatever the number of messages); ``group_by`` sums them.

Suppressions are counted per reason code (:data:`SUPPRESSION_CODES`), from the message's reason
text: one short, closed vocabulary, so the counters' attributes are known in advance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import ValidationFailed
from .model import Message

GROUPS = ("rule", "campaign", "variant", "channel", "day")
MAX_DAYS = 366
PREFIX = "funnel#"
NO_VARIANT = "-"

# Suppression reasons, most telling first: a reason naming several channels ("no im address; no sms
# consent") is counted under the first code any part of it matches.
SUPPRESSION_CODES = (
    "member_gone",
    "no_marketing_consent",
    "unreachable",
    "no_consent",
    "address_unusable",
    "no_address",
    "expired",
    "other",
)
_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("member_gone", ("member no longer exists", "member erased")),
    ("no_marketing_consent", ("no marketing consent",)),
    ("unreachable", ("unreachable",)),
    ("no_consent", (" consent",)),
    ("address_unusable", ("unavailable",)),
    ("no_address", (" address",)),
    ("expired", ("expired", "too late", "send_before", "past its")),
)

# The counted stages, in funnel order, and what each is called on the counter item.
STAGES = ("targeted", "capped", "deferred", "sent", "delivered", "read", "clicked", "converted", "unknown")
_COUNTER_OF = {"targeted": "members", "deferred": "deferrals"}


def suppression_code(reason: str | None) -> str:
    text = (reason or "").lower()
    for code, needles in _PATTERNS:
        if any(needle in text for needle in needles):
            return code
    return "other"


def suppressed_field(code: str) -> str:
    """The counter attribute of one suppression reason."""
    return f"suppressed_{code}"


SUPPRESSED_FIELDS = tuple(suppressed_field(code) for code in SUPPRESSION_CODES)


@dataclass(frozen=True)
class FunnelKey:
    day: date
    kind: str  # "rule" or "campaign"
    source: str  # the rule id or the campaign id
    variant: str
    channel: str

    def encode(self) -> str:
        return f"{PREFIX}{self.day.isoformat()}#{self.kind}#{self.source}#{self.variant}#{self.channel}"


def funnel_key(message: Message, store_zone: str) -> FunnelKey:
    day = message.created_at.astimezone(ZoneInfo(store_zone)).date()
    if message.campaign_id is not None:
        return FunnelKey(day, "campaign", message.campaign_id, message.variant or NO_VARIANT, message.channel.value)
    return FunnelKey(day, "rule", message.trigger, message.variant or NO_VARIANT, message.channel.value)


def is_funnel_key(counter_id: str) -> bool:
    return counter_id.startswith(PREFIX)


def parse_key(counter_id: str) -> FunnelKey:
    day, kind, source, variant, channel = counter_id[len(PREFIX) :].split("#")
    return FunnelKey(date.fromisoformat(day), kind, source, variant, channel)


@dataclass(frozen=True)
class FunnelQuery:
    first: date
    last: date
    group_by: str
    campaign_id: str | None = None
    rule: str | None = None

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def wants(self, key: FunnelKey) -> bool:
        if self.campaign_id is not None and (key.kind != "campaign" or key.source != self.campaign_id):
            return False
        if self.rule is not None and (key.kind != "rule" or key.source != self.rule):
            return False
        if self.group_by == "rule":
            return key.kind == "rule"
        if self.group_by == "campaign":
            return key.kind == "campaign"
        return True


PARAMETERS = ("from", "to", "group_by", "campaign", "rule")


def parse_query(params: Mapping[str, str] | None, now: datetime, store_zone: str) -> FunnelQuery:
    """The query string → what to read; 400 naming each bad parameter. ``from`` and ``to`` are days
    in the store's zone, both included (default: the last 7 days up to today)."""
    params = dict(params or {})
    problems: dict[str, str] = {}
    for name in params:
        if name not in PARAMETERS:
            problems[name] = f"is not a parameter of the funnel ({', '.join(PARAMETERS)})"
    today = now.astimezone(ZoneInfo(store_zone)).date()
    days: dict[str, date] = {}
    for name, default in (("from", today - timedelta(days=6)), ("to", today)):
        raw = params.get(name)
        if raw is None:
            days[name] = default
            continue
        try:
            days[name] = date.fromisoformat(raw)
            if len(raw) != 10:
                raise ValueError(raw)
        except ValueError:
            problems[name] = "must be a date YYYY-MM-DD"
    group_by = params.get("group_by", "rule")
    if group_by not in GROUPS:
        problems["group_by"] = "must be one of " + ", ".join(GROUPS)
    for name in ("campaign", "rule"):
        if name in params and not params[name].strip():
            problems[name] = "must not be empty"
    if "from" in days and "to" in days and not problems.keys() & {"from", "to"}:
        if days["from"] > days["to"]:
            problems["to"] = "must not be before from"
        elif (days["to"] - days["from"]).days + 1 > MAX_DAYS:
            problems["from"] = f"the period may span at most {MAX_DAYS} days"
    if problems:
        raise ValidationFailed(problems, "invalid query: " + ", ".join(sorted(problems)))
    return FunnelQuery(days["from"], days["to"], group_by, params.get("campaign"), params.get("rule"))


def group_key(key: FunnelKey, group_by: str) -> str:
    if group_by in ("rule", "campaign"):
        return key.source
    if group_by == "variant":
        return f"{key.source}/{key.variant}"
    if group_by == "channel":
        return key.channel
    return key.day.isoformat()


def empty_row(key: str) -> dict[str, Any]:
    row: dict[str, Any] = {"key": key, "suppressed": {}}
    for stage in STAGES:
        row[stage] = 0
    row["revenue"] = 0.0
    return row


def add_counter(row: dict[str, Any], counts: Mapping[str, float]) -> None:
    for stage in STAGES:
        row[stage] += int(counts.get(_COUNTER_OF.get(stage, stage), 0))
    for code in SUPPRESSION_CODES:
        n = int(counts.get(suppressed_field(code), 0))
        if n:
            row["suppressed"][code] = row["suppressed"].get(code, 0) + n
    row["revenue"] = round(row["revenue"] + float(counts.get("revenue", 0.0)), 2)


def summarise(query: FunnelQuery, counters: Iterable[tuple[str, Mapping[str, float]]]) -> list[dict[str, Any]]:
    """The period's counters (counter id, counts) → one row per group, in key order."""
    rows: dict[str, dict[str, Any]] = {}
    for counter_id, counts in counters:
        if not is_funnel_key(counter_id):
            continue
        key = parse_key(counter_id)
        if not query.first <= key.day <= query.last or not query.wants(key):
            continue
        name = group_key(key, query.group_by)
        add_counter(rows.setdefault(name, empty_row(name)), counts)
    return [rows[name] for name in sorted(rows)]
