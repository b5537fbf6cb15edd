"""``memberpulse activities list|show|registrations|checkin``: a store's activities through the HTTP
API (CONTRACT §6), as readable tables. Column widths count display cells (``wcwidth``), so Chinese
titles and places line up; times are shown in the offset the store wrote them with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import wcwidth

from .client import ApiClient
from .project import CliError

GAP = "  "


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns as wide as their widest cell in display cells (a CJK character takes two)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [wcwidth.width(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], wcwidth.width(cell))
    lines = [GAP.join(wcwidth.ljust(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append(GAP.join("-" * w for w in widths))
    for row in cells:
        lines.append(GAP.join(wcwidth.ljust(c, w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    return " ".join(str(value).split())  # one line per row


def local(iso: str | None, offset: str) -> str | None:
    """``2026-11-28T06:00:00Z`` at ``+08:00`` → ``2026-11-28 14:00``."""
    if not iso:
        return None
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = (int(x) for x in offset.lstrip("+-").split(":"))
    tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def list_table(activities: list[dict[str, Any]]) -> str:
    rows = []
    for a in activities:
        c, off = a["counts"], a.get("utc_offset", "+00:00")
        rows.append(
            (
                a["activity_id"],
                a["title"],
                f"{local(a['starts_at'], off)}–{(local(a['ends_at'], off) or '')[11:]}",
                a["location"],
                f"{c['confirmed']}/{a['capacity']}",
                a["seats_left"],
                c["waitlisted"],
                c["offered"],
                a["status"],
            )
        )
    headers = ("id", "title", "when", "where", "seats", "left", "waiting", "offered", "status")
    return table(headers, rows)


def registrations_table(activity: dict[str, Any], regs: list[dict[str, Any]]) -> str:
    off = activity.get("utc_offset", "+00:00")
    rows = [
        (
            r["member_id"],
            r["status"] + (" (no-show)" if r.get("no_show") else ""),
            r.get("position"),
            local(r.get("registered_at"), off),
            local(r.get("offer_expires_at"), off),
            local(r.get("checked_in_at"), off),
        )
        for r in regs
    ]
    return table(("member", "status", "line", "registered", "offer until", "checked in"), rows)


def show_text(activity: dict[str, Any], regs: list[dict[str, Any]]) -> str:
    off = activity.get("utc_offset", "+00:00")
    c = activity["counts"]
    waitlist = activity["waitlist"]
    mode = waitlist["mode"] + (
        f" (claim within {waitlist['claim_minutes']} min)" if waitlist["mode"] == "offer" else ""
    )
    facts = [
        ("activity", f"{activity['activity_id']}  {activity['title']}"),
        ("when", f"{local(activity['starts_at'], off)} – {local(activity['ends_at'], off)} ({off})"),
        ("where", activity["location"]),
        ("status", activity["status"]),
        ("sign-up word", activity["signup_keyword"]),
        ("sign-up closes", local(activity.get("signup_closes_at"), off)),
        (
            "seats",
            f"{c['confirmed']} confirmed + {c['offered']} offered of {activity['capacity']}; "
            f"{activity['seats_left']} left",
        ),
        ("waitlist", f"{c['waitlisted']} waiting; {mode}"),
        ("attendance", f"{c['checked_in']} checked in, {c['no_show']} no-show, {c['cancelled']} cancelled"),
        ("reminders", ", ".join(f"{m} min" for m in activity["reminders_minutes"]) + " before"),
    ]
    width = max(wcwidth.width(k) for k, _ in facts)
    lines = [f"{wcwidth.ljust(k, width)}  {_cell(v)}" for k, v in facts]
    return "\n".join(lines) + "\n\n" + registrations_table(activity, regs)


def run(client: ApiClient, verb: str, activity_id: str | None, *, as_json: bool, **options: Any) -> str:
    """What ``memberpulse activities VERB`` prints."""
    if verb == "list":
        query = f"?from={options['since']}" if options.get("since") else ""
        found = client.ok("GET", f"/v1/activities{query}")
        return json.dumps(found, indent=2, ensure_ascii=False) if as_json else list_table(found)
    if activity_id is None:
        raise CliError(f"activities {verb}: name the activity (its id)")
    if verb == "checkin":
        body = {"member_id": options["member"]} if options.get("member") else {"code": options.get("code")}
        if not any(body.values()):
            raise CliError("activities checkin: give --member MEMBER_ID or --code CODE")
        reg = client.ok("POST", f"/v1/activities/{activity_id}/checkins", body)
        if as_json:
            return json.dumps(reg, indent=2, ensure_ascii=False)
        activity = client.ok("GET", f"/v1/activities/{activity_id}")
        return (
            f"checked in: {reg['member_id']} at {local(reg.get('checked_in_at'), activity.get('utc_offset', '+00:00'))}"
        )
    activity = client.ok("GET", f"/v1/activities/{activity_id}")
    regs = client.ok("GET", f"/v1/activities/{activity_id}/registrations")
    if verb == "registrations":
        return json.dumps(regs, indent=2, ensure_ascii=False) if as_json else registrations_table(activity, regs)
    if as_json:
        return json.dumps({**activity, "registrations": regs}, indent=2, ensure_ascii=False)
    return show_text(activity, regs)
