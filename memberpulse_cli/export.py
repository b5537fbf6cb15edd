"""``memberpulse export --out DIR``: the store's whole data set as files, so the store can leave with
everything it owns (CONTRACT §9).

Every data table the stack has (members, activity, messages, products, handoffs; campaigns,
segments and activities once the stack has them) is read with a parallel scan (``--segments``
workers, one DynamoDB scan segment each) and written as JSON Lines, one item per line, exactly as
stored (``<table>.jsonl``), plus CSV views of what a spreadsheet wants (``members.csv``,
``orders.csv``, ``points.csv``, ``coupons.csv``, ``messages.csv``, ``products.csv``) and
``manifest.json`` (when, from which stack, how many of each). Erased members' tombstones are left
out (``erased_members`` counts them); their messages are kept as they are stored: counts, no text.
Operational tables (timers, audience, counters, API keys, outbox, inbound log, cursors) are not the
store's data set and are not exported."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from .project import CliError
from .simulate import from_dynamo

DATA_TABLES = ("members", "activity", "messages", "products", "handoffs", "campaigns", "segments", "activities")

CSV_VIEWS: dict[str, tuple[str, tuple[str, ...]]] = {
    # file: (table, columns)
    "members.csv": (
        "members",
        (
            "member_id", "name", "phone", "im_user_id", "timezone", "locale", "joined_at", "tier", "store_id",
            "tags", "children", "consent_sms", "consent_im", "consent_marketing", "stored_value_balance",
            "stored_value_expires_on", "points_balance", "last_purchase_at", "created_at", "updated_at",
        ),
    ),
    "orders.csv": ("activity", ("order_id", "member_id", "purchased_at", "total", "store_id", "items")),
    "points.csv": ("activity", ("txn_id", "member_id", "delta", "reason", "expires_on", "created_at")),
    "coupons.csv": ("activity", ("coupon_id", "member_id", "title", "value", "expires_on", "issued_at")),
    "messages.csv": (
        "messages",
        (
            "message_id", "member_id", "trigger", "channel", "provider", "status", "created_at", "send_after",
            "sent_at", "delivered_at", "read_at", "clicked_at", "reason", "parts", "text",
        ),
    ),
    "products.csv": (
        "products",
        (
            "sku", "name", "category", "age_min_months", "age_max_months", "gender", "tags", "price",
            "accessory_of", "arrived_on", "in_stock",
        ),
    ),
}  # fmt: skip
_ACTIVITY_VIEW = {"orders.csv": "ORDER#", "points.csv": "POINTS#", "coupons.csv": "COUPON#"}


def scan(client: Any, table: str, segments: int, on_items: Callable[[int], object]) -> list[dict[str, Any]]:
    """Every item of ``table`` (plain values), read by ``segments`` parallel scan segments."""

    def one(segment: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table, "Segment": segment, "TotalSegments": segments}
        while True:
            page = client.scan(**kwargs)
            batch = [from_dynamo(raw) for raw in page.get("Items", [])]
            items.extend(batch)
            on_items(len(batch))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    with ThreadPoolExecutor(max_workers=segments) as pool:
        return [item for part in pool.map(one, range(segments)) for item in part]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _member_row(item: Mapping[str, Any]) -> dict[str, Any]:
    consent = item.get("consent") or {}
    stored = item.get("stored_value") or {}
    return {
        **item,
        "consent_sms": consent.get("sms"),
        "consent_im": consent.get("im"),
        "consent_marketing": consent.get("marketing"),
        "stored_value_balance": stored.get("balance"),
        "stored_value_expires_on": stored.get("expires_on"),
    }


def csv_rows(file: str, items: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """The rows of one CSV view from its table's items."""
    for item in items:
        if file == "members.csv":
            yield _member_row(item)
        elif file in _ACTIVITY_VIEW:
            if str(item.get("sk", "")).startswith(_ACTIVITY_VIEW[file]):
                yield {"member_id": item.get("member_id"), **(item.get("data") or {})}
        elif file == "products.csv":
            if item.get("data"):
                yield item["data"]  # not the catalog's version item
        else:
            yield item


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
            count += 1
    return count


def _write_jsonl(path: Path, items: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def export(
    client: Any, tables: Mapping[str, str], out: Path, *, segments: int = 4, err: TextIO | None = None
) -> dict[str, Any]:
    """Write the data set of the tables named in ``tables`` (logical → physical) under ``out``;
    returns the manifest (also written as ``manifest.json``)."""
    if segments < 1:
        raise CliError("--segments must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    present = [t for t in DATA_TABLES if t in tables]
    if "members" not in present:
        raise CliError("the stack lists no members table: redeploy (`make up`)")
    data: dict[str, list[dict[str, Any]]] = {}
    for logical in present:
        physical = tables[logical]
        total = client.describe_table(TableName=physical)["Table"].get("ItemCount") or None
        with tqdm(total=total, desc=f"{logical:<10}", unit=" items", file=err, leave=True) as bar:
            data[logical] = scan(client, physical, segments, bar.update)
    erased = [m for m in data["members"] if m.get("erased_at")]
    data["members"] = [m for m in data["members"] if not m.get("erased_at")]
    manifest: dict[str, Any] = {
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tables": {},
        "csv": {},
        "erased_members": len(erased),
    }
    for logical, items in data.items():
        _write_jsonl(out / f"{logical}.jsonl", items)
        manifest["tables"][logical] = len(items)
    for file, (table, columns) in CSV_VIEWS.items():
        if table in data:
            manifest["csv"][file] = _write_csv(out / file, columns, csv_rows(file, data[table]))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
