"""Segments as data (CONTRACT §7): which members a campaign or a preview is about. Pure.

A segment is ``match`` (``all``/``any``) over conditions ``{field, op, value}``. Evaluation is a
function of the member's own record and one instant (:func:`matches`): everything a condition needs
is on the member's item (order count, total spent, categories bought with their last day, the
activities attended, kept there from the streams), so a segment is one pass over the members,
never a join across orders.

Fields whose member value is a collection (a member's children, tags, categories, activities)
hold when SOME element satisfies the operator: ``child_age_months between [36, 72]`` is "has a
child aged 3 to 6". Child ages are whole months on the instant's date in the member's own zone (a
child who turned 3 yesterday is 36 months). Day counts (``days_since_last_purchase``,
``joined_days_ago``, ``within_days``) are calendar days in the member's zone. A member without a
value (no purchase yet, no children) fails every condition on that field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .calendar import age_in_months, local_date, zone
from .errors import ValidationFailed
from .model import Member
from .validation import ID_PATTERN, MAX_TEXT, number_problem

OPS = ("eq", "in", "contains", "gte", "lte", "between")
NUMERIC_OPS = ("eq", "in", "gte", "lte", "between")
TEXT_OPS = ("eq", "in", "contains")
MATCHES = ("all", "any")
MAX_CONDITIONS = 20
MAX_VALUES = 100

# field → the operators it takes, and whether its values are numbers
FIELDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "child_age_months": (NUMERIC_OPS, True),
    "child_gender": (TEXT_OPS, False),
    "tags": (TEXT_OPS, False),
    "tier": (TEXT_OPS, False),
    "locale": (TEXT_OPS, False),
    "store_id": (TEXT_OPS, False),
    "points_balance": (NUMERIC_OPS, True),
    "days_since_last_purchase": (NUMERIC_OPS, True),
    "orders_count": (NUMERIC_OPS, True),
    "total_spent": (NUMERIC_OPS, True),
    "bought_category": (TEXT_OPS, False),
    "attended_activity": (TEXT_OPS, False),
    "joined_days_ago": (NUMERIC_OPS, True),
}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # a number or text; a list for ``in``; [lo, hi] for ``between``
    within_days: int | None = None  # bought_category only

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op, "value": self.value}
        if self.within_days is not None:
            out["within_days"] = self.within_days
        return out


@dataclass(frozen=True)
class Segment:
    segment_id: str
    name: str
    match: str
    conditions: tuple[Condition, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "name": self.name,
            "match": self.match,
            "conditions": [c.to_data() for c in self.conditions],
        }


def segment_from_data(data: dict[str, Any]) -> Segment:
    """A stored segment (already validated when it was put)."""
    return Segment(
        data["segment_id"],
        data.get("name") or "",
        data.get("match") or "all",
        tuple(
            Condition(c["field"], c["op"], c.get("value"), c.get("within_days")) for c in data.get("conditions") or []
        ),
    )


# -- validation --------------------------------------------------------------------------------------


def parse_segment(segment_id: str, body: Any) -> Segment:
    """``PUT /v1/segments/{id}``'s body → a :class:`Segment`; every bad field named at once
    (``conditions[1].field``: unknown field …)."""
    errors: dict[str, str] = {}
    if not ID_PATTERN.fullmatch(segment_id or ""):
        errors["segment_id"] = "must match [A-Za-z0-9_-]{1,64}"
    if not isinstance(body, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_TEXT:
        errors["name"] = f"must be a string of at most {MAX_TEXT} characters"
    match = body.get("match", "all")
    if match not in MATCHES:
        errors["match"] = "must be all or any"
    raw = body.get("conditions")
    conditions: list[Condition] = []
    if not isinstance(raw, list) or not raw or len(raw) > MAX_CONDITIONS:
        errors["conditions"] = f"must be a list of 1 to {MAX_CONDITIONS} conditions"
        raw = []
    for i, item in enumerate(raw):
        condition = _condition(item, f"conditions[{i}]", errors)
        if condition is not None:
            conditions.append(condition)
    unknown = sorted(set(body) - {"name", "match", "conditions", "segment_id"})
    for key in unknown:
        errors[key] = "unknown field"
    if errors:
        raise ValidationFailed(errors, "invalid segment: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    return Segment(segment_id, str(name).strip(), str(match), tuple(conditions))


def _condition(item: Any, where: str, errors: dict[str, str]) -> Condition | None:
    if not isinstance(item, dict):
        errors[where] = "must be an object {field, op, value}"
        return None
    field, op = item.get("field"), item.get("op")
    if field not in FIELDS:
        shown = field if isinstance(field, str) else repr(field)
        errors[f"{where}.field"] = f"unknown field {shown!r} (use {', '.join(FIELDS)})"
        return None
    ops, numeric = FIELDS[field]
    if op not in OPS:
        shown = op if isinstance(op, str) else repr(op)
        errors[f"{where}.op"] = f"unknown op {shown!r} (use {', '.join(OPS)})"
        return None
    if op not in ops:
        errors[f"{where}.op"] = f"{field} takes {', '.join(ops)}, not {op}"
        return None
    for key in sorted(set(item) - {"field", "op", "value", "within_days"}):
        errors[f"{where}.{key}"] = "unknown key"
    value = _value(item.get("value"), op, numeric, f"{where}.value", errors)
    within = item.get("within_days")
    if within is not None:
        if field != "bought_category":
            errors[f"{where}.within_days"] = "only for bought_category"
        elif isinstance(within, bool) or not isinstance(within, int) or not 1 <= within <= 3660:
            errors[f"{where}.within_days"] = "must be a whole number of days, 1 to 3660"
    if value is None:
        return None
    return Condition(str(field), str(op), value, within)


def _value(value: Any, op: str, numeric: bool, where: str, errors: dict[str, str]) -> Any:
    def one(v: Any) -> Any:
        if numeric:
            problem = number_problem(v)
            if problem:
                raise ValueError(problem)
            return v
        if not isinstance(v, str) or not v.strip() or len(v) > 64:
            raise ValueError("must be a non-empty text of at most 64 characters")
        return v.strip()

    try:
        if op == "between":
            if not numeric or not isinstance(value, list) or len(value) != 2:
                raise ValueError("must be [lo, hi]")
            lo, hi = one(value[0]), one(value[1])
            if lo > hi:
                raise ValueError("lo must not be above hi")
            return [lo, hi]
        if op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
                raise ValueError(f"must be a list of 1 to {MAX_VALUES} values")
            return [one(v) for v in value]
        if value is None:
            raise ValueError("is required")
        return one(value)
    except ValueError as exc:
        errors[where] = str(exc)
        return None


# -- evaluation --------------------------------------------------------------------------------------


def matches(member: Member, segment: Segment, at: datetime, store_zone: str) -> bool:
    """Is the member in the segment at ``at``? Pure."""
    tz = zone(member.timezone, store_zone)
    today = local_date(at, tz)
    results = (_holds(member, c, today, tz) for c in segment.conditions)
    return all(results) if segment.match == "all" else any(results)


def _holds(member: Member, c: Condition, today: date, tz: Any) -> bool:
    values = _member_values(member, c, today, tz)
    test = _test(c)
    return any(test(v) for v in values)


def _days_between(then: datetime | None, today: date, tz: Any) -> list[int]:
    return [] if then is None else [(today - local_date(then, tz)).days]


def _member_values(member: Member, c: Condition, today: date, tz: Any) -> Iterable[Any]:
    field = c.field
    if field == "child_age_months":
        return [age_in_months(child.birthday, today) for child in member.children if child.birthday <= today]
    if field == "child_gender":
        return [child.gender for child in member.children]
    if field == "tags":
        return list(member.tags)
    if field in ("tier", "locale", "store_id"):
        value = getattr(member, field)
        return [] if value is None else [value]
    if field == "points_balance":
        return [member.points_balance]
    if field == "days_since_last_purchase":
        return _days_between(member.last_purchase_at, today, tz)
    if field == "orders_count":
        return [member.orders_count]
    if field == "total_spent":
        return [member.total_spent]
    if field == "joined_days_ago":
        return _days_between(member.joined_at, today, tz)
    if field == "bought_category":
        since = today - timedelta(days=c.within_days) if c.within_days is not None else None
        return [cat for cat, day in member.bought.items() if since is None or day >= since]
    if field == "attended_activity":
        return list(member.attended)
    raise ValueError(f"unknown segment field {field}")


def _test(c: Condition) -> Callable[[Any], bool]:
    op, value = c.op, c.value
    if op in ("eq", "contains"):
        return lambda v: bool(v == value)
    if op == "in":
        return lambda v: v in value
    if op == "gte":
        return lambda v: bool(v >= value)
    if op == "lte":
        return lambda v: bool(v <= value)
    lo, hi = value
    return lambda v: bool(lo <= v <= hi)
