"""Validation of API payloads into domain values: pure, with errors that name the field.

Each ``parse_*`` takes the decoded JSON body and returns a domain value or raises
:class:`ValidationFailed` listing every bad field at once.

Numbers (every numeric field of CONTRACT §3: order ``total``, ``items[].price``/``qty``, points
``delta``, coupon ``value``, ``stored_value.balance``, product ``price``/``age_*_months``) must be
finite and at most ``MAX_NUMBER`` (10^15) in size, which keeps them far inside what DynamoDB
stores (38 significant digits, 10^-130 … 10^126) and exact as floats: ``1e+200``, ``NaN``,
``Infinity`` or a 40-digit integer is a 400 naming the field, never a failed write.

Dates must be plausible, relative to ``now``, the request time (a parameter: validation stays
pure). Without ``now`` (offline checks of files) only the fixed ends apply.

| field | earliest | latest |
|---|---|---|
| order ``purchased_at`` | 2000-01-01 | ``now`` + 1 day (clocks and zones differ) |
| member ``joined_at`` | 2000-01-01 | ``now`` + 1 day |
| ``children[].birthday`` | less than 18 years before ``now`` (a child) | ``now``'s date + 1 day (zones) |
| ``stored_value.expires_on``, points and coupon ``expires_on`` | 2000-01-01 | ``now`` + 10 years |
| product ``arrived_on`` | 2000-01-01 | ``now`` + 1 year (announced arrivals) |
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ValidationFailed
from .isotime import parse_date, parse_iso, years_before
from .model import Child, Consent, Coupon, Order, OrderItem, PointsTxn, Product, StoredValue
from .phones import to_e164

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOCALES = ("zh-CN", "zh-TW", "en")
GENDERS = ("boy", "girl", "unknown")
PRODUCT_GENDERS = ("boy", "girl", "any")
MAX_TEXT = 200
MAX_LIST = 50
MAX_NUMBER = 10**15
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CHILD_YEARS = 18
AHEAD = timedelta(days=1)
EXPIRY_YEARS = 10
ARRIVAL_AHEAD = timedelta(days=366)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def number_problem(value: Any, integer: bool = False) -> str | None:
    """Why ``value`` is not a number we store (None when it is)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        return "must be an integer" if integer else "must be a number"
    if not _finite(value):
        return "must be a finite number"
    if abs(value) > MAX_NUMBER:
        return "must be between -1e15 and 1e15"
    exact = Decimal(value)
    if exact and exact.adjusted() < -100:
        return "is too small to store (nearer 0 than 1e-100)"
    return None


class _Window:
    """A plausible range for a date field; ``latest`` None: no upper end known (no ``now``)."""

    def __init__(self, earliest: date, latest: date | None) -> None:
        self.earliest, self.latest = earliest, latest

    def problem(self, day: date) -> str | None:
        if day < self.earliest:
            return f"must not be before {self.earliest.isoformat()}"
        if self.latest is not None and day > self.latest:
            return f"must not be after {self.latest.isoformat()}"
        return None


def _expiry_window(now: datetime | None) -> _Window:
    latest = years_before(now.date(), -EXPIRY_YEARS) if now else None
    return _Window(EARLIEST.date(), latest)


def _moment_problem(at: datetime, now: datetime | None) -> str | None:
    if at < EARLIEST:
        return f"must not be before {EARLIEST.date().isoformat()}"
    if now is not None and at > now + AHEAD:
        return "must not be more than a day after the request time"
    return None


class _Collector:
    """Gathers field errors so a caller learns every problem in one answer."""

    def __init__(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ValidationFailed({"body": "must be a JSON object"})
        self.body: dict[str, Any] = body
        self.errors: dict[str, str] = {}

    def fail(self, path: str, why: str) -> None:
        self.errors.setdefault(path, why)

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)

    def text(self, key: str, required: bool = False, max_len: int = MAX_TEXT) -> str | None:
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(key, "must be a non-empty string" if required else "must be a string")
            return None
        if len(value) > max_len:
            self.fail(key, f"must be at most {max_len} characters")
            return None
        return value.strip()

    def ident(self, key: str, required: bool = True) -> str | None:
        value = self.body.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            self.fail(key, "is required and must match [A-Za-z0-9_-]{1,64}")
            return None
        return value

    def number(self, key: str, required: bool = False, minimum: float | None = None) -> float | None:
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        problem = number_problem(value)
        if problem:
            self.fail(key, problem)
            return None
        if minimum is not None and value < minimum:
            self.fail(key, f"must be at least {minimum:g}")
            return None
        return float(value)

    def integer(self, key: str, required: bool = False, minimum: int | None = None) -> int | None:
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        problem = number_problem(value, integer=True)
        if problem:
            self.fail(key, problem)
            return None
        if minimum is not None and value < minimum:
            self.fail(key, f"must be at least {minimum}")
            return None
        return int(value)

    def day(
        self,
        key: str,
        required: bool = False,
        path: str | None = None,
        source: Any = None,
        window: _Window | None = None,
    ) -> date | None:
        value = (source if source is not None else self.body).get(key)
        where = path or key
        if value is None:
            if required:
                self.fail(where, "is required")
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            day = parse_date(value)
        except ValueError:
            self.fail(where, "must be a date YYYY-MM-DD")
            return None
        problem = window.problem(day) if window else None
        if problem:
            self.fail(where, problem)
            return None
        return day

    def moment(self, key: str, required: bool = False, now: datetime | None = None) -> datetime | None:
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, "is required")
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            at = parse_iso(value)
        except ValueError:
            self.fail(key, "must be an ISO 8601 time with a zone, e.g. 2026-11-22T10:00:00Z")
            return None
        problem = _moment_problem(at, now)
        if problem:
            self.fail(key, problem)
            return None
        return at

    def string_list(self, key: str) -> list[str] | None:
        value = self.body.get(key)
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or len(value) > MAX_LIST
            or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
        ):
            self.fail(key, f"must be a list of at most {MAX_LIST} short strings")
            return None
        return [v.strip() for v in value]

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        value = self.body.get(key)
        if value is None:
            return None
        if value not in options:
            self.fail(key, "must be one of " + ", ".join(options))
            return None
        return str(value)


def check_id(value: str, field: str) -> str:
    if not ID_PATTERN.fullmatch(value or ""):
        raise ValidationFailed({field: "must match [A-Za-z0-9_-]{1,64}"})
    return value


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("not an IANA time zone") from None
    return name


def parse_member_update(body: Any, default_phone_region: str, now: datetime | None = None) -> dict[str, Any]:
    """The fields a member PUT sets. Omitted fields are left as they are; ``null`` clears optional ones.
    ``now``: the request time, for the date windows (module docstring)."""
    c = _Collector(body)
    out: dict[str, Any] = {}
    b = c.body
    if "name" in b:
        out["name"] = c.text("name") or ""
    if "phone" in b:
        if b["phone"] is None:
            out["phone"] = None
        elif not isinstance(b["phone"], str):
            c.fail("phone", "must be a string")
        else:
            try:
                out["phone"] = to_e164(b["phone"], default_phone_region)
            except ValueError as exc:
                c.fail("phone", str(exc))
    if "im_user_id" in b:
        out["im_user_id"] = c.text("im_user_id", max_len=128)
    if "timezone" in b:
        if b["timezone"] is None:
            out["timezone"] = None
        else:
            try:
                if not isinstance(b["timezone"], str):
                    raise ValueError
                out["timezone"] = check_timezone(b["timezone"])
            except ValueError:
                c.fail("timezone", "must be an IANA time zone, e.g. Asia/Shanghai")
    if "locale" in b:
        locale = c.choice("locale", LOCALES)
        if locale:
            out["locale"] = locale
    if "joined_at" in b:
        out["joined_at"] = c.moment("joined_at", now=now)
    if "tier" in b:
        out["tier"] = c.text("tier", max_len=32)
    if "store_id" in b:
        out["store_id"] = c.text("store_id", max_len=64)
    if "tags" in b:
        out["tags"] = c.string_list("tags") or []
    if "children" in b:
        out["children"] = [] if b["children"] is None else _children(c, b["children"], now)
    if "consent" in b:
        consent = _consent(c, b["consent"])
        if consent is not None:
            out["consent"] = consent
    if "stored_value" in b:
        out["stored_value"] = _stored_value(c, b["stored_value"], now)
    unknown = set(b) - {
        "name",
        "phone",
        "im_user_id",
        "timezone",
        "locale",
        "joined_at",
        "tier",
        "store_id",
        "tags",
        "children",
        "consent",
        "stored_value",
        "member_id",
    }
    for key in sorted(unknown):
        c.fail(key, "is not a member field")
    c.done()
    return out


def _children(c: _Collector, value: Any, now: datetime | None) -> list[Child]:
    if not isinstance(value, list) or len(value) > 20:
        c.fail("children", "must be a list of at most 20 children")
        return []
    children: list[Child] = []
    for i, raw in enumerate(value):
        path = f"children[{i}]"
        if not isinstance(raw, dict):
            c.fail(path, "must be an object")
            continue
        name = raw.get("name", "")
        if not isinstance(name, str) or len(name) > 64:
            c.fail(f"{path}.name", "must be a string of at most 64 characters")
            continue
        birthday = c.day("birthday", required=True, path=f"{path}.birthday", source=raw, window=_birthdays(now))
        gender = raw.get("gender", "unknown")
        if gender not in GENDERS:
            c.fail(f"{path}.gender", "must be one of " + ", ".join(GENDERS))
            continue
        if birthday is not None:
            children.append(Child(name=name.strip(), birthday=birthday, gender=gender))
    return children


def _birthdays(now: datetime | None) -> _Window | None:
    """A child's birthday: not after today (a day's grace for zones), less than 18 years ago."""
    if now is None:
        return None
    today = now.date()
    return _Window(years_before(today, CHILD_YEARS) + timedelta(days=1), today + timedelta(days=1))


def _consent(c: _Collector, value: Any) -> dict[str, bool] | None:
    if not isinstance(value, dict):
        c.fail("consent", "must be an object with sms, im, marketing booleans")
        return None
    out: dict[str, bool] = {}
    for key, flag in value.items():
        if key not in ("sms", "im", "marketing"):
            c.fail(f"consent.{key}", "is not a consent kind (sms, im, marketing)")
        elif not isinstance(flag, bool):
            c.fail(f"consent.{key}", "must be true or false")
        else:
            out[key] = flag
    return out


def merge_consent(current: Consent, changes: dict[str, bool]) -> Consent:
    return Consent(
        sms=changes.get("sms", current.sms),
        im=changes.get("im", current.im),
        marketing=changes.get("marketing", current.marketing),
    )


def _stored_value(c: _Collector, value: Any, now: datetime | None) -> StoredValue | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail("stored_value", "must be an object with balance and expires_on")
        return None
    balance: Any = value.get("balance")
    problem = number_problem(balance)
    if problem or balance < 0:
        c.fail("stored_value.balance", problem or "must be a number ≥ 0")
        return None
    expires = c.day("expires_on", path="stored_value.expires_on", source=value, window=_expiry_window(now))
    return StoredValue(balance=float(balance), expires_on=expires)


def parse_order(member_id: str, body: Any, now: datetime | None = None) -> Order:
    """``now``: the request time (an order is not dated more than a day after it)."""
    c = _Collector(body)
    order_id = c.ident("order_id")
    purchased_at = c.moment("purchased_at", required=True, now=now)
    total = c.number("total", required=True, minimum=0)
    store_id = c.text("store_id", max_len=64)
    items: list[OrderItem] = []
    raw_items = c.body.get("items")
    if not isinstance(raw_items, list) or not raw_items or len(raw_items) > 500:
        c.fail("items", "must be a non-empty list of at most 500 items")
    else:
        for i, raw in enumerate(raw_items):
            path = f"items[{i}]"
            if not isinstance(raw, dict):
                c.fail(path, "must be an object with sku, qty, price")
                continue
            item = _Collector(raw)
            sku = item.ident("sku")
            qty = item.integer("qty", required=True, minimum=1)
            price = item.number("price", required=True, minimum=0)
            for key, why in item.errors.items():
                c.fail(f"{path}.{key}", why)
            if sku and qty is not None and price is not None:
                items.append(OrderItem(sku=sku, qty=qty, price=price))
    c.done()
    assert order_id and purchased_at and total is not None
    return Order(member_id, order_id, purchased_at, tuple(items), total, store_id)


def parse_points(member_id: str, body: Any, now: datetime) -> PointsTxn:
    c = _Collector(body)
    txn_id = c.ident("txn_id")
    delta = c.integer("delta", required=True)
    if delta == 0:
        c.fail("delta", "must not be zero")
    reason = c.text("reason", max_len=100) or ""
    expires_on = c.day("expires_on", window=_expiry_window(now))
    if expires_on is not None and delta is not None and delta < 0:
        c.fail("expires_on", "only a credit (delta > 0) has an expiry date")
    c.done()
    assert txn_id and delta is not None
    return PointsTxn(member_id, txn_id, delta, reason, expires_on, now)


def parse_coupon(member_id: str, body: Any, now: datetime) -> Coupon:
    c = _Collector(body)
    coupon_id = c.ident("coupon_id")
    title = c.text("title", required=True, max_len=100)
    value = c.number("value", required=True, minimum=0)
    expires_on = c.day("expires_on", required=True, window=_expiry_window(now))
    c.done()
    assert coupon_id and title and value is not None and expires_on
    return Coupon(member_id, coupon_id, title, value, expires_on, now)


def parse_product(sku: str, body: Any, now: datetime | None = None) -> Product:
    """``now``: the request time (an arrival is announced at most a year ahead)."""
    check_id(sku, "sku")
    c = _Collector(body)
    name = c.text("name", required=True)
    category = c.text("category", max_len=64)
    age_min = c.integer("age_min_months", minimum=0)
    age_max = c.integer("age_max_months", minimum=0)
    if age_min is not None and age_max is not None and age_max < age_min:
        c.fail("age_max_months", "must not be below age_min_months")
    gender = c.choice("gender", PRODUCT_GENDERS) or "any"
    tags = c.string_list("tags") or []
    price = c.number("price", minimum=0)
    accessory_of = c.string_list("accessory_of") or []
    latest_arrival = (now + ARRIVAL_AHEAD).date() if now else None
    arrived_on = c.day("arrived_on", window=_Window(EARLIEST.date(), latest_arrival))
    in_stock = c.body.get("in_stock", True)
    if not isinstance(in_stock, bool):
        c.fail("in_stock", "must be true or false")
    c.done()
    assert name
    return Product(
        sku=sku,
        name=name,
        category=category,
        age_min_months=age_min,
        age_max_months=age_max,
        gender=gender,
        tags=tuple(tags),
        price=price,
        accessory_of=tuple(accessory_of),
        arrived_on=arrived_on,
        in_stock=bool(in_stock),
    )
