"""``memberpulse segments …`` and ``memberpulse campaigns …``: the API's segments and campaigns
(CONTRACT §7) from the terminal — a progress bar while a campaign sends, and the results as a
table whose columns line up with Chinese text (rich measures each character's terminal width)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .client import ApiClient
from .project import CliError
from .stackinfo import read_stack_file

FINAL = ("sent", "suppressed", "capped", "failed")


def client(stack_file: str, api_url: str | None, api_key: str | None) -> ApiClient:
    if api_url:
        return ApiClient(api_url, api_key)
    stack = read_stack_file(Path(stack_file))
    return ApiClient(stack["api_url"], stack["api_key"])


def handled(progress: dict[str, dict[str, int]]) -> int:
    """Members whose message (or control record) has reached an outcome."""
    total = 0
    for arm, counts in progress.items():
        if arm == "control":
            total += counts.get("members", 0)
        else:
            total += sum(counts.get(k, 0) for k in FINAL) + counts.get("deferred", 0)
    return total


def follow(api: ApiClient, campaign_id: str, console: Console, timeout: float, every: float = 2.0) -> dict[str, Any]:
    """A progress bar until every member of the audience has an outcome (or deferred to later)."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(campaign_id, total=None)
        while True:
            shown = api.ok("GET", f"/v1/campaigns/{campaign_id}")
            done, audience = handled(shown["progress"]), shown["audience"]
            planned = shown["status"] in ("done", "cancelled")
            bar.update(task, completed=done, total=audience if planned else None, description=shown["status"])
            if planned and done >= audience:
                return dict(shown)
            if shown["status"] in ("paused", "draft") or time.monotonic() > deadline:
                return dict(shown)
            time.sleep(every)


def show_table(shown: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{shown['name']} ({shown['campaign_id']}): {shown['status']}, audience {shown['audience']}")
    columns = ("members", "queued", "deferred", "sent", "delivered", "read", "suppressed", "capped", "failed")
    table.add_column("arm")
    for c in columns:
        table.add_column(c, justify="right")
    for arm, counts in shown["progress"].items():
        table.add_row(arm, *(str(counts.get(c, 0)) for c in columns))
    console.print(table)


def results_table(results: dict[str, Any], names: dict[str, str], console: Console) -> None:
    table = Table(title=f"results: {results['campaign_id']} ({results['status']})")
    for name, justify in (
        ("arm", "left"),
        ("wording", "left"),
        ("members", "right"),
        ("delivered", "right"),
        ("converted", "right"),
        ("rate", "right"),
        ("revenue", "right"),
        ("lift [95% CI]", "right"),
        ("p", "right"),
        ("P(beats control)", "right"),
        ("verdict", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for arm, row in results["arms"].items():
        lift = row.get("lift") or {}
        estimate, ci = lift.get("estimate"), lift.get("ci95")
        shown_lift = "—" if estimate is None or not ci else f"{estimate:+.1%} [{ci[0]:+.0%}, {ci[1]:+.0%}]"
        verdict = ""
        if arm != "control":
            need = row.get("required_per_arm")
            verdict = (
                f"underpowered: need {need}/arm"
                if row["underpowered"] and need
                else ("underpowered: no difference seen yet" if row["underpowered"] else "enough members")
            )
        p = row.get("p_value")
        beats = row.get("prob_beats_control")
        table.add_row(
            arm,
            names.get(arm, ""),
            str(row["members"]),
            str(row["delivered"]),
            str(row["converted"]),
            f"{row['conversion_rate']:.1%}",
            f"{row['revenue']:.2f}",
            shown_lift if arm != "control" else "",
            "" if p is None else f"{p:.3f}",
            "" if beats is None else f"{beats:.1%}",
            verdict,
        )
    console.print(table)


_LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def wordings(shown: dict[str, Any], width: int = 16) -> dict[str, str]:
    """Each variant's first template, its Liquid tags left out, cut to ``width`` characters."""
    out = {"control": "（不发送 held out）"}
    for v in shown.get("variants", []):
        text = _LIQUID.sub("…", next(iter(v["templates"].values()), "")).strip("…，, ")
        out[v["id"]] = text if len(text) <= width else text[: width - 1] + "…"
    return out


def wide_console() -> Console:
    """The terminal's width, or a wide one when the output is a file or a pipe (the demo's log)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def run(verb: str, campaign_id: str | None, api: ApiClient, *, follow_send: bool, timeout: float) -> int:
    out = wide_console()
    actions: dict[str, Callable[[], Any]] = {}
    if verb == "list":
        table = Table(title="campaigns")
        for c in ("campaign", "name", "status", "segment", "send"):
            table.add_column(c)
        for row in api.ok("GET", "/v1/campaigns"):
            send = row.get("send_at") or f"{row.get('send_on')} {row.get('local_time')} local"
            table.add_row(row["campaign_id"], row["name"], row["status"], row["segment_id"], send)
        out.print(table)
        return 0
    if campaign_id is None:
        raise CliError(f"campaigns {verb}: give the campaign id")
    path = f"/v1/campaigns/{campaign_id}"
    actions = {
        "show": lambda: api.ok("GET", path),
        "launch": lambda: api.ok("POST", f"{path}/launch"),
        "pause": lambda: api.ok("POST", f"{path}/pause"),
        "resume": lambda: api.ok("POST", f"{path}/resume"),
    }
    if verb == "results":
        shown = api.ok("GET", path)
        results_table(api.ok("GET", f"{path}/results"), wordings(shown), out)
        return 0
    shown = actions[verb]()
    if follow_send and shown["status"] in ("sending", "scheduled") and verb in ("launch", "resume", "show"):
        shown = follow(api, campaign_id, out, timeout)
    show_table(shown, out)
    return 0


def preview(api: ApiClient, segment_id: str) -> int:
    out = wide_console()
    body = api.ok("GET", f"/v1/segments/{segment_id}/preview")
    out.print(f"segment {segment_id}: [bold]{body['count']}[/bold] members (evaluated at {body['evaluated_at']})")
    if body["sample"]:
        out.print("sample: " + ", ".join(body["sample"]))
    return 0
