"""``memberpulse report``: the funnel per rule, campaign, variant, channel or day over a period, from
``GET /v1/analytics/funnel`` (CONTRACT §8) — the same answer the console's "what worked" page and
the demo's table read. Columns line up with Chinese text (rich measures terminal widths)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from rich.console import Console
from rich.table import Table

from .client import ApiClient

COLUMNS = ("targeted", "suppressed", "capped", "deferred", "sent", "delivered", "read", "clicked", "converted")


def suppressed_total(row: dict[str, Any]) -> int:
    value = row.get("suppressed") or {}
    return int(sum(value.values())) if isinstance(value, dict) else int(value)


def rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def funnel_table(rows: list[dict[str, Any]], group_by: str, title: str) -> Table:
    table = Table(title=title)
    table.add_column(group_by)
    for name in COLUMNS:
        table.add_column(name, justify="right")
    table.add_column("revenue", justify="right")
    table.add_column("conv./deliv.", justify="right")
    for row in rows:
        counts = [suppressed_total(row) if name == "suppressed" else int(row.get(name, 0)) for name in COLUMNS]
        conversion = rate(int(row.get("converted", 0)), int(row.get("delivered", 0)))
        table.add_row(str(row["key"]), *map(str, counts), f"{float(row.get('revenue', 0)):.2f}", conversion)
    return table


def reasons(rows: list[dict[str, Any]]) -> str:
    """Suppressions by reason over every row (``no_consent 3, no_address 1``)."""
    total: dict[str, int] = {}
    for row in rows:
        for reason, n in (row.get("suppressed") or {}).items():
            total[reason] = total.get(reason, 0) + int(n)
    return ", ".join(f"{reason} {n}" for reason, n in sorted(total.items(), key=lambda kv: -kv[1]))


def funnel(api: ApiClient, params: dict[str, str]) -> list[dict[str, Any]]:
    query = urlencode(params)
    return list(api.ok("GET", "/v1/analytics/funnel" + (f"?{query}" if query else "")))


def run(api: ApiClient, params: dict[str, str], console: Console) -> int:
    rows = funnel(api, params)
    group_by = params.get("group_by", "rule")
    period = f"{params['from']} … {params['to']}" if "from" in params and "to" in params else "the last 7 days"
    console.print(funnel_table(rows, group_by, f"funnel by {group_by}, {period} (messages planned in those days)"))
    why = reasons(rows)
    if why:
        console.print(f"suppressed by reason: {why}")
    return 0
