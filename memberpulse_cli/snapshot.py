"""The snapshot CSV readers: what a POS exports (members, orders, products, coupons, points) read,
normalised and checked with the API's own validation (``chalicelib.domain.validation``).

Two verbs read these files: ``memberpulse import`` sends the rows to the HTTP API
(:mod:`memberpulse_cli.importer`) and ``memberpulse simulate --source DIR`` turns a directory of them
into domain objects the way the API would have stored them (:func:`read_snapshot_dir`). They live
here, apart from the importer, so that both verbs read a row the same way and the simulator does not
depend on the HTTP import machinery.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.isotime import parse_iso
from chalicelib.domain.model import Consent, Coupon, Member, Order, PointsTxn, Product
from chalicelib.domain.validation import (
    ID_PATTERN,
    check_timezone,
    merge_consent,
    parse_coupon,
    parse_member_update,
    parse_order,
    parse_points,
    parse_product,
)

from .project import CliError

MEMBER_COLUMNS = (
    "member_id",
    "name",
    "phone",
    "im_user_id",
    "timezone",
    "locale",
    "joined_at",
    "tier",
    "store_id",
    "tags",
    "consent_sms",
    "consent_im",
    "consent_marketing",
    "stored_value_balance",
    "stored_value_expires_on",
)
ORDER_COLUMNS = ("order_id", "member_id", "purchased_at", "sku", "qty", "price", "total", "store_id")
ORDER_REQUIRED = ("order_id", "member_id", "purchased_at", "sku", "qty", "price")
PRODUCT_COLUMNS = (
    "sku",
    "name",
    "category",
    "age_min_months",
    "age_max_months",
    "gender",
    "tags",
    "price",
    "accessory_of",
    "arrived_on",
    "in_stock",
)
COUPON_COLUMNS = ("coupon_id", "member_id", "title", "value", "expires_on", "issued_at")
POINTS_COLUMNS = ("txn_id", "member_id", "delta", "reason", "expires_on", "created_at")
REPORT_COLUMNS = ("file", "row", "member_id", "order_id", "column", "field", "error")

_CHILD_COLUMN = re.compile(r"^(child\d*)_(name|birthday|gender)$")
_TRUE = {"1", "true", "t", "yes", "y", "是", "✓"}
_FALSE = {"0", "false", "f", "no", "n", "否"}
_GENDERS = {
    "boy": "boy",
    "b": "boy",
    "m": "boy",
    "male": "boy",
    "男": "boy",
    "girl": "girl",
    "g": "girl",
    "f": "girl",
    "female": "girl",
    "女": "girl",
    "unknown": "unknown",
    "u": "unknown",
    "未知": "unknown",
}
_LOOSE_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_LOOSE_TIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")
_HAS_OFFSET = re.compile(r"(Z|z|[+-]\d{2}:?\d{2})$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_LOCALES = {
    "zh-cn": "zh-CN",
    "zh_cn": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-tw": "zh-TW",
    "zh_tw": "zh-TW",
    "zh-hant": "zh-TW",
}
_TIME_ERROR = "must be a time: YYYY-MM-DD HH:MM (local) or ISO 8601 with a zone"


# -- rows and errors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem with one row: ``column`` is the CSV column, ``field`` the API field path."""

    file: str
    row: int
    member_id: str
    order_id: str
    column: str
    field: str
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in REPORT_COLUMNS}


@dataclass
class MemberRecord:
    """One members.csv row as the body of ``PUT /v1/members/{member_id}``."""

    file: str
    row: int
    member_id: str
    body: dict[str, Any]
    child_columns: list[str] = field(default_factory=list)  # children[i] came from columns "<prefix>_…"
    errors: list[RowError] = field(default_factory=list)
    changes: dict[str, Any] | None = None  # the validated fields, when the row is good

    def error(self, column: str, api_field: str, why: str) -> None:
        self.errors.append(RowError(self.file, self.row, self.member_id, "", column, api_field, why))

    def column_of(self, api_field: str) -> str:
        """The CSV column an API field path came from (``children[1].birthday`` → ``child2_birthday``)."""
        if match := re.fullmatch(r"children\[(\d+)\](?:\.(\w+))?", api_field):
            index = int(match.group(1))
            prefix = self.child_columns[index] if index < len(self.child_columns) else f"child{index + 1}"
            return f"{prefix}_{match.group(2)}" if match.group(2) else prefix
        return api_field.replace(".", "_")


@dataclass
class OrderRecord:
    """The rows of orders.csv that share an ``order_id``, as the body of ``POST …/orders``."""

    file: str
    rows: list[int]
    order_id: str
    member_id: str
    body: dict[str, Any]
    errors: list[RowError] = field(default_factory=list)
    order: Order | None = None  # the validated order, when the rows are good

    @property
    def row(self) -> int:
        return self.rows[0]

    def error(self, column: str, api_field: str, why: str, row: int | None = None) -> None:
        self.errors.append(RowError(self.file, row or self.row, self.member_id, self.order_id, column, api_field, why))

    def add_api_errors(self, fields: dict[str, str]) -> None:
        for api_field, why in sorted(fields.items()):
            if match := re.fullmatch(r"items\[(\d+)\](?:\.(\w+))?", api_field):
                index = int(match.group(1))
                row = self.rows[index] if index < len(self.rows) else self.row
                self.error(match.group(2) or "sku", api_field, why, row)
            else:
                self.error(api_field if api_field in ORDER_COLUMNS else "", api_field, why)


# -- reading -------------------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """A CSV file's text: UTF-8 (with or without the BOM Excel writes), else GB18030 (GBK exports)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise CliError(f"{path}: not UTF-8 or GBK text") from None


@dataclass
class Table:
    name: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (row number in the file, header 1 → first data row 2, cells)
    unknown_columns: list[str]


def read_table(
    text: str, name: str, known: Iterable[str], required: Sequence[str], extra: Callable[[str], bool] | None = None
) -> Table:
    """Rows of a CSV file, cells stripped; blank lines skipped. Row numbers count lines as a
    spreadsheet does (the header is row 1)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CliError(f"{name}: empty file (expected a header row)") from None
    except csv.Error as exc:
        raise CliError(f"{name}: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise CliError(f"{name}: missing column(s) {', '.join(missing)} (header: {','.join(header)})")
    known_set = set(known)
    unknown = [h for h in header if h and h not in known_set and not (extra and extra(h))]
    rows: list[tuple[int, dict[str, str]]] = []
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(c.strip() for c in cells):
                continue
            rows.append((row_number, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}))
    except csv.Error as exc:
        raise CliError(f"{name} row {row_number + 1}: {exc}") from None
    return Table(name, header, rows, unknown)


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(check_timezone(name)) if name else ZoneInfo(fallback)
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo(fallback)


def normalize_day(text: str) -> str:
    """``2019/5/1`` → ``2019-05-01``; anything else unchanged (validation then names the field)."""
    if match := _LOOSE_DATE.fullmatch(text):
        y, m, d = match.groups()
        return f"{y}-{int(m):02d}-{int(d):02d}"
    return text


def normalize_time(text: str, tz: ZoneInfo) -> str:
    """A POS time as UTC ISO 8601. With an offset (``…Z``, ``…+08:00``) it is kept; a bare date
    (``2025-03-01``) is local midnight; a time without a zone (``2025-03-01 14:30``) is local time in
    ``tz``. Anything else is returned unchanged for validation to reject."""
    if _HAS_OFFSET.search(text):
        return text
    if match := _LOOSE_DATE.fullmatch(text):
        y, m, d = (int(g) for g in match.groups())
        try:
            local = datetime.combine(date(y, m, d), clock_time(0), tz)
        except ValueError:
            return text
    elif match := _LOOSE_TIME.fullmatch(text):
        y, m, d, hh, mm = (int(g) for g in match.groups()[:5])
        ss = int(match.group(6) or 0)
        try:
            local = datetime(y, m, d, hh, mm, ss, tzinfo=tz)
        except ValueError:
            return text
    else:
        return text
    return local.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None


def _number(text: str) -> float | None:
    """``59``, ``59.90``, ``¥1,299.00`` → a float; anything else ``None``."""
    cleaned = text.strip().lstrip("¥￥$").strip()
    if _THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        value = float(cleaned) if cleaned else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _integer(text: str) -> int | None:
    value = _number(text)
    return int(value) if value is not None and value.is_integer() else None


def _as_number(text: str, whole: bool = False) -> Any:
    """The number in a cell, or the text itself so that validation names the field."""
    value = _integer(text) if whole else _number(text)
    return text if value is None else value


def _split(text: str) -> list[str]:
    """``a;b；c`` → ``[a, b, c]`` (ASCII or full-width semicolons)."""
    return [part.strip() for part in text.replace("；", ";").split(";") if part.strip()]


def _locale(text: str) -> str:
    low = text.lower()
    if low in _LOCALES:
        return _LOCALES[low]
    return "en" if low.startswith("en") else text


def _child_prefixes(header: Sequence[str]) -> list[str]:
    prefixes = {m.group(1) for h in header if (m := _CHILD_COLUMN.match(h))}

    def number(prefix: str) -> int:
        digits = prefix.removeprefix("child")
        return int(digits) if digits else 1

    return sorted(prefixes, key=number)


def member_record(file: str, row: int, cells: dict[str, str], children: Sequence[str], zone_name: str) -> MemberRecord:
    """The PUT body for one members.csv row (empty cells are left out: the API keeps what it has)."""
    member_id = cells.get("member_id", "")
    rec = MemberRecord(file, row, member_id, {})
    body = rec.body
    if not ID_PATTERN.fullmatch(member_id):
        rec.error("member_id", "member_id", "is required and must match [A-Za-z0-9_-]{1,64}")
    for key in ("name", "phone", "im_user_id", "timezone", "tier", "store_id"):
        if cells.get(key):
            body[key] = cells[key]
    if cells.get("locale"):
        body["locale"] = _locale(cells["locale"])
    tz = _zone(cells.get("timezone"), zone_name)
    if cells.get("joined_at"):
        body["joined_at"] = normalize_time(cells["joined_at"], tz)
    if cells.get("tags"):
        body["tags"] = _split(cells["tags"])
    kids: list[dict[str, Any]] = []
    for prefix in children:
        name, birthday, gender = (cells.get(f"{prefix}_{k}", "") for k in ("name", "birthday", "gender"))
        if not (name or birthday or gender):
            continue
        kid: dict[str, Any] = {"name": name}
        if birthday:  # without one, validation says children[i].birthday "is required"
            kid["birthday"] = normalize_day(birthday)
        kid["gender"] = _GENDERS.get(gender.lower(), gender) if gender else "unknown"
        kids.append(kid)
        rec.child_columns.append(prefix)
    if kids:
        body["children"] = kids
    consent: dict[str, bool] = {}
    for kind in ("sms", "im", "marketing"):
        cell = cells.get(f"consent_{kind}", "")
        if cell:
            flag = _bool(cell)
            if flag is None:
                rec.error(f"consent_{kind}", f"consent.{kind}", "must be true/false, yes/no or 1/0")
            else:
                consent[kind] = flag
    if consent:
        body["consent"] = consent
    balance, expires = cells.get("stored_value_balance", ""), cells.get("stored_value_expires_on", "")
    if balance or expires:
        amount = _number(balance) if balance else 0.0
        if amount is None:
            rec.error("stored_value_balance", "stored_value.balance", "must be a number")
        else:
            body["stored_value"] = {"balance": amount, "expires_on": normalize_day(expires) if expires else None}
    return rec


def check_member(rec: MemberRecord, phone_region: str) -> dict[str, Any] | None:
    """Validate with the API's own rules; errors land on the record. Returns the parsed changes."""
    try:
        changes = parse_member_update(rec.body, phone_region)
    except ValidationFailed as exc:
        for api_field, why in sorted(exc.fields.items()):
            rec.error(rec.column_of(api_field), api_field, why)
        return None
    rec.changes = changes if not rec.errors else None
    return rec.changes


def read_members(path: Path, zone_name: str, phone_region: str) -> tuple[list[MemberRecord], list[str]]:
    """members.csv → records (each validated; ``errors`` set on bad ones) and the unknown columns."""
    table = read_table(
        read_text(path), path.name, MEMBER_COLUMNS, ("member_id",), extra=lambda h: bool(_CHILD_COLUMN.match(h))
    )
    return parse_members(table, zone_name, phone_region), table.unknown_columns


def parse_members(table: Table, zone_name: str, phone_region: str) -> list[MemberRecord]:
    children = _child_prefixes(table.header)
    records: list[MemberRecord] = []
    first_row: dict[str, int] = {}
    for row, cells in table.rows:
        rec = member_record(table.name, row, cells, children, zone_name)
        if rec.member_id and rec.member_id in first_row:
            rec.error("member_id", "member_id", f"duplicate member_id (first on row {first_row[rec.member_id]})")
        elif rec.member_id:
            first_row[rec.member_id] = row
        check_member(rec, phone_region)
        records.append(rec)
    return records


def read_orders(path: Path, zone_name: str) -> tuple[list[OrderRecord], list[RowError], list[str]]:
    table = read_table(read_text(path), path.name, ORDER_COLUMNS, ORDER_REQUIRED)
    orders, loose = parse_orders(table, zone_name)
    return orders, loose, table.unknown_columns


def parse_orders(table: Table, zone_name: str) -> tuple[list[OrderRecord], list[RowError]]:
    """Group rows by ``order_id`` (in order of first appearance) into order bodies, validated.
    Returns the orders and the errors of rows that belong to no order (no usable ``order_id``)."""
    loose: list[RowError] = []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for row, cells in table.rows:
        order_id = cells.get("order_id", "")
        if not ID_PATTERN.fullmatch(order_id):
            why = "is required and must match [A-Za-z0-9_-]{1,64}"
            loose.append(RowError(table.name, row, cells.get("member_id", ""), order_id, "order_id", "order_id", why))
            continue
        groups.setdefault(order_id, []).append((row, cells))
    orders = [_order_record(table.name, order_id, rows, zone_name) for order_id, rows in groups.items()]
    return orders, loose


def _order_record(file: str, order_id: str, rows: list[tuple[int, dict[str, str]]], zone_name: str) -> OrderRecord:
    member_id = next((cells["member_id"] for _, cells in rows if cells.get("member_id")), "")
    rec = OrderRecord(file, [r for r, _ in rows], order_id, member_id, {"order_id": order_id})
    if not ID_PATTERN.fullmatch(member_id):
        rec.error("member_id", "member_id", "is required and must match [A-Za-z0-9_-]{1,64}")
    tz = ZoneInfo(zone_name)
    # Order-level columns must agree across the order's rows (blank cells are fine).
    for column in ("member_id", "purchased_at", "total", "store_id"):
        seen: tuple[int, str] | None = None
        for row, cells in rows:
            value = cells.get(column, "")
            if not value:
                continue
            if seen is None:
                seen = (row, value)
            elif value != seen[1]:
                rec.error(column, column, f"{value!r} differs from {seen[1]!r} on row {seen[0]} of the same order", row)
        if column == "purchased_at" and seen:
            rec.body["purchased_at"] = normalize_time(seen[1], tz)
        elif column == "store_id" and seen:
            rec.body["store_id"] = seen[1]
        elif column == "total" and seen:
            total = _number(seen[1])
            if total is None:
                rec.error("total", "total", "must be a number", seen[0])
            else:
                rec.body["total"] = total
    items: list[dict[str, Any]] = []
    for index, (row, cells) in enumerate(rows):
        qty, price = _integer(cells.get("qty", "")), _number(cells.get("price", ""))
        if qty is None:
            rec.error("qty", f"items[{index}].qty", "must be a whole number", row)
        if price is None:
            rec.error("price", f"items[{index}].price", "must be a number", row)
        items.append({"sku": cells.get("sku", ""), "qty": qty if qty is not None else 0, "price": price or 0.0})
    rec.body["items"] = items
    if "total" not in rec.body and not rec.errors:
        rec.body["total"] = round(sum(i["qty"] * i["price"] for i in items), 2)
    if not rec.errors:
        try:
            rec.order = parse_order(rec.member_id, rec.body)
        except ValidationFailed as exc:
            rec.add_api_errors(exc.fields)
    return rec


# -- snapshot from CSV (for ``memberpulse simulate --source DIR``) ----------------------------------------


def member_from_record(rec: MemberRecord, changes: dict[str, Any]) -> Member:
    """The member the API would store for a new member PUT with these changes."""
    member = Member(member_id=rec.member_id)
    for key, value in changes.items():
        if key == "consent":
            member.consent = merge_consent(Consent(), value)
        elif not (key == "joined_at" and value is None):
            setattr(member, key, value)
    return member


@dataclass
class CsvSnapshot:
    members: list[Member]
    orders: list[Order]
    coupons: list[Coupon]
    products: list[Product]
    errors: list[RowError]
    unknown_columns: dict[str, list[str]]


def read_snapshot_dir(directory: Path, zone_name: str, phone_region: str, now: datetime) -> CsvSnapshot:
    """members.csv (required), orders.csv, products.csv, coupons.csv, points.csv (optional) → domain
    objects, the way the API would have stored them. Bad rows are left out and listed in ``errors``."""
    if not directory.is_dir():
        raise CliError(f"--source {directory}: not a directory (or use --source stack)")
    if not (directory / "members.csv").exists():
        raise CliError(f"{directory}: no members.csv")
    errors: list[RowError] = []
    unknown: dict[str, list[str]] = {}
    records, unknown["members.csv"] = read_members(directory / "members.csv", zone_name, phone_region)
    members: dict[str, Member] = {}
    for rec in records:
        errors.extend(rec.errors)
        if rec.changes is not None:
            members[rec.member_id] = member_from_record(rec, rec.changes)
    orders: list[Order] = []
    if (directory / "orders.csv").exists():
        order_recs, loose, unknown["orders.csv"] = read_orders(directory / "orders.csv", zone_name)
        errors.extend(loose)
        for orec in order_recs:
            errors.extend(orec.errors)
            order = orec.order
            if order is not None and order.member_id in members:
                orders.append(order)
                member = members[orec.member_id]
                if member.last_purchase_at is None or order.purchased_at > member.last_purchase_at:
                    member.last_purchase_at = order.purchased_at
    products: list[Product] = []
    if (directory / "products.csv").exists():
        products = _read_products(directory / "products.csv", errors, unknown)
    coupons: list[Coupon] = []
    if (directory / "coupons.csv").exists():
        coupons = _read_coupons(directory / "coupons.csv", zone_name, now, members, errors, unknown)
    if (directory / "points.csv").exists():
        _read_points(directory / "points.csv", zone_name, now, members, errors, unknown)
    return CsvSnapshot(list(members.values()), orders, coupons, products, errors, unknown)


def _rows_of(
    path: Path, known: Sequence[str], required: Sequence[str], unknown: dict[str, list[str]]
) -> Iterator[tuple[int, dict[str, str]]]:
    table = read_table(read_text(path), path.name, known, required)
    unknown[path.name] = table.unknown_columns
    yield from table.rows


def _fail(errors: list[RowError], file: str, row: int, exc: ValidationFailed, member_id: str = "") -> None:
    for api_field, why in sorted(exc.fields.items()):
        errors.append(RowError(file, row, member_id, "", api_field, api_field, why))


def _read_products(path: Path, errors: list[RowError], unknown: dict[str, list[str]]) -> list[Product]:
    out: list[Product] = []
    for row, cells in _rows_of(path, PRODUCT_COLUMNS, ("sku", "name"), unknown):
        body: dict[str, Any] = {"name": cells.get("name", "")}
        for key in ("category", "gender"):
            if cells.get(key):
                body[key] = cells[key]
        for key in ("age_min_months", "age_max_months"):
            if cells.get(key):
                body[key] = _as_number(cells[key], whole=True)
        if cells.get("price"):
            body["price"] = _as_number(cells["price"])
        for key in ("tags", "accessory_of"):
            if cells.get(key):
                body[key] = _split(cells[key])
        if cells.get("arrived_on"):
            body["arrived_on"] = normalize_day(cells["arrived_on"])
        if cells.get("in_stock"):
            flag = _bool(cells["in_stock"])
            body["in_stock"] = flag if flag is not None else cells["in_stock"]
        try:
            out.append(parse_product(cells.get("sku", ""), body))
        except ValidationFailed as exc:
            _fail(errors, path.name, row, exc)
    return out


def _optional_time(cells: dict[str, str], column: str, zone_name: str, default: datetime) -> datetime | None:
    """The column's time (naive times are in ``zone_name``), ``default`` when empty, None when unreadable."""
    if not cells.get(column):
        return default
    try:
        return parse_iso(normalize_time(cells[column], ZoneInfo(zone_name)))
    except ValueError:
        return None


def _read_coupons(
    path: Path,
    zone_name: str,
    now: datetime,
    members: dict[str, Member],
    errors: list[RowError],
    unknown: dict[str, list[str]],
) -> list[Coupon]:
    out: list[Coupon] = []
    for row, cells in _rows_of(
        path, COUPON_COLUMNS, ("coupon_id", "member_id", "title", "value", "expires_on"), unknown
    ):
        member_id = cells.get("member_id", "")
        body: dict[str, Any] = {
            "coupon_id": cells.get("coupon_id", ""),
            "title": cells.get("title", ""),
            "value": _as_number(cells.get("value", "")),
            "expires_on": normalize_day(cells.get("expires_on", "")),
        }
        issued = _optional_time(cells, "issued_at", zone_name, now)
        if issued is None:
            errors.append(RowError(path.name, row, member_id, "", "issued_at", "issued_at", _TIME_ERROR))
            continue
        try:
            coupon = parse_coupon(member_id, body, issued)
        except ValidationFailed as exc:
            _fail(errors, path.name, row, exc, member_id)
            continue
        if member_id in members:
            out.append(coupon)
    return out


def _read_points(
    path: Path,
    zone_name: str,
    now: datetime,
    members: dict[str, Member],
    errors: list[RowError],
    unknown: dict[str, list[str]],
) -> None:
    """Apply points transactions (in ``created_at`` order) to the members' lots, as the API would."""
    from chalicelib.domain.points import apply_txn

    txns: list[tuple[int, PointsTxn]] = []
    for row, cells in _rows_of(path, POINTS_COLUMNS, ("txn_id", "member_id", "delta"), unknown):
        member_id = cells.get("member_id", "")
        body: dict[str, Any] = {
            "txn_id": cells.get("txn_id", ""),
            "delta": _as_number(cells.get("delta", ""), whole=True),
            "reason": cells.get("reason", ""),
        }
        if cells.get("expires_on"):
            body["expires_on"] = normalize_day(cells["expires_on"])
        created = _optional_time(cells, "created_at", zone_name, now)
        if created is None:
            errors.append(RowError(path.name, row, member_id, "", "created_at", "created_at", _TIME_ERROR))
            continue
        try:
            txns.append((row, parse_points(member_id, body, created)))
        except ValidationFailed as exc:
            _fail(errors, path.name, row, exc, member_id)
    for row, txn in sorted(txns, key=lambda t: (t[1].created_at, t[0])):
        member = members.get(txn.member_id)
        if member is None:
            continue
        try:
            member.points_lots = apply_txn(member.points_lots, txn)
        except ValidationFailed as exc:
            _fail(errors, path.name, row, exc, txn.member_id)
