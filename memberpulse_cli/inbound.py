"""``memberpulse reply`` (a member's reply through the sandbox webhook) and ``memberpulse handoffs``
(the tickets staff work through), against a deployed stack."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.isotime import to_iso

from .aws import Aws
from .client import ApiClient, Reply
from .project import CliError


def sandbox_reply(
    stack: dict[str, Any],
    sender: str,
    text: str,
    channel: str = "sms",
    provider: str = "sandbox",
    event_id: str | None = None,
    at: str | None = None,
) -> tuple[dict[str, Any], Reply]:
    """POST a reply as the sandbox provider would deliver it. Returns (what was sent, the answer)."""
    if provider != "sandbox":
        raise CliError("only the sandbox provider takes replies in this form (--provider sandbox)")
    url = (stack.get("webhooks") or {}).get(provider)
    if not url:
        raise CliError(f"stack.json has no webhooks.{provider} URL: redeploy (`make up`)")
    body = {
        "type": "reply",
        "from": sender,
        "text": text,
        "channel": channel,
        "id": event_id or f"cli-{uuid.uuid4().hex[:16]}",
        "at": at or to_iso(datetime.now(UTC)),
    }
    reply = ApiClient(url, None).call("POST", "", body, auth=False)
    return body, reply


def list_handoffs(
    aws: Aws, table: str, status: str, most: int = 100, members_table: str | None = None
) -> list[dict[str, Any]]:
    """Tickets with ``status``, newest first (the ``by_status`` index); with ``members_table``,
    without the tickets of erased members (their purge may not have reached them yet)."""
    page = aws.client("dynamodb").query(
        TableName=table,
        IndexName="by_status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
        ScanIndexForward=False,
        Limit=most,
    )
    rows = []
    for item in page.get("Items", []):
        rows.append({key: _plain(value) for key, value in sorted(item.items())})
    if members_table and rows:
        erased = _erased(aws, members_table, sorted({str(r.get("member_id")) for r in rows}))
        rows = [r for r in rows if r.get("member_id") not in erased]
    return rows


def _erased(aws: Aws, table: str, member_ids: list[str]) -> set[str]:
    """Which of these members are erased (their tombstone carries ``erased_at``)."""
    found: set[str] = set()
    client = aws.client("dynamodb")
    for start in range(0, len(member_ids), 100):
        keys = [{"member_id": {"S": m}} for m in member_ids[start : start + 100]]
        request: dict[str, Any] = {table: {"Keys": keys, "ProjectionExpression": "member_id, erased_at"}}
        while request:
            page = client.batch_get_item(RequestItems=request)
            found |= {i["member_id"]["S"] for i in page["Responses"].get(table, []) if "erased_at" in i}
            request = page.get("UnprocessedKeys") or {}
    return found


def _plain(value: dict[str, Any]) -> Any:
    (kind, raw), *_ = value.items()
    if kind == "N":
        return json.loads(raw)
    return raw
