"""Member data on the deployed local stack: the export and timeline of a member, then erasure —
the tombstone at once, the on_erasure worker's purge, and no trace of the member's phone or name
left in ANY table, not even after a receipt for their message is replayed."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from memberpulse_cli.aws import Aws
from memberpulse_cli.client import ApiClient
from memberpulse_cli.inbound import sandbox_reply
from tests.e2e.test_inbound import sent, wait_for
from tests.zones import daytime_zone


def every_table(stack: dict[str, Any]) -> str:
    """Every item of every table of the stack, as text."""
    client = Aws(stack["endpoint_url"], stack["region"]).client("dynamodb")
    items: dict[str, list[Any]] = {}
    for logical, table in stack["tables"].items():
        items[logical] = [i for page in client.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
    return json.dumps(items, ensure_ascii=False)


def inbound_done(stack: dict[str, Any], event_key: str) -> bool:
    """The on_inbound worker has handled this event to the end."""
    client = Aws(stack["endpoint_url"], stack["region"]).client("dynamodb")
    item = client.get_item(TableName=stack["tables"]["inbound"], Key={"event_key": {"S": event_key}}).get("Item")
    return bool(item and item["status"]["S"] == "done")


def test_erasure_leaves_no_trace_in_any_table_and_a_replayed_receipt_brings_none_back(
    api: ApiClient, stack: dict[str, Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    member_id, name, child = f"er-{tag}", f"抹除{tag}", f"小宝{tag}"
    phone = f"+86139{random.randint(10_000_000, 99_999_999)}"
    traces = (phone[3:], name, child)
    api.ok(
        "PUT",
        f"/v1/members/{member_id}",
        {
            "name": name,
            "phone": phone,
            "children": [{"name": child, "birthday": "2023-01-15", "gender": "girl"}],
            "tags": [f"t{tag}"],
            "consent": {"sms": True, "im": True, "marketing": True},
            "timezone": daytime_zone(),  # quiet hours would defer the welcome
        },
    )
    [welcome] = wait_for(lambda: sent(api, member_id, "welcome"))
    api.ok(
        "POST",
        f"/v1/members/{member_id}/orders",
        {
            "order_id": f"o-{tag}",
            "purchased_at": "2026-11-20T03:00:00Z",
            "items": [{"sku": "X-1", "qty": 1, "price": 10}],
            "total": 10,
        },
    )
    _, answer = sandbox_reply(stack, phone, "售后")
    assert answer.status == 200
    assert wait_for(lambda: sent(api, member_id, "reply_handoff"))
    export = api.ok("GET", f"/v1/members/{member_id}/export")
    assert export["profile"]["phone"] == phone and [r["text"] for r in export["replies"]] == ["售后"]
    timeline = api.ok("GET", f"/v1/members/{member_id}/timeline")
    assert {"joined", "order", "message", "reply", "consent"} <= {e["kind"] for e in timeline}
    before = every_table(stack)
    assert all(t in before for t in traces)

    assert api.call("DELETE", f"/v1/members/{member_id}").status == 204
    assert api.call("GET", f"/v1/members/{member_id}").status == 404  # at once

    def no_trace() -> bool:
        text = every_table(stack)
        return not any(t in text for t in traces)

    assert wait_for(no_trace, timeout=180), [t for t in traces if t in every_table(stack)]

    # A late receipt for the welcome (the provider retrying an old callback), and the old reply again.
    receipt_url = stack["webhooks"]["sandbox"]
    late = ApiClient(receipt_url, None).call(
        "POST", "", {"message_id": welcome["message_id"], "status": "read", "at": "2026-11-21T00:00:00Z"}, auth=False
    )
    assert late.status == 200
    sent_again, again = sandbox_reply(stack, phone, "3岁女孩")
    assert again.status == 200
    for key in (f"sandbox#{welcome['message_id']}:read", f"sandbox#{sent_again['id']}"):
        assert wait_for(lambda key=key: inbound_done(stack, key), timeout=120), key
    text = every_table(stack)
    assert not any(t in text for t in traces), [t for t in traces if t in text]
    assert api.call("PUT", f"/v1/members/{member_id}", {"name": name}).status == 409


def test_erasing_a_member_holding_a_seat_gives_it_to_the_next_in_line_and_leaves_no_registration(
    api: ApiClient, stack: dict[str, Any]
) -> None:
    tag = uuid.uuid4().hex[:8]
    leaving, waiting, activity_id = f"es-{tag}", f"ew-{tag}", f"act-{tag}"
    for member_id in (leaving, waiting):
        phone = f"+86139{random.randint(10_000_000, 99_999_999)}"
        api.ok("PUT", f"/v1/members/{member_id}", {"name": f"家长{tag}", "phone": phone, "timezone": daytime_zone()})
    contest = {
        "title": f"积木大赛{tag}",
        "starts_at": "2031-11-29T14:00:00+08:00",
        "ends_at": "2031-11-29T16:00:00+08:00",
        "location": "万象城店",
        "capacity": 1,
        "invite": [leaving],
    }
    api.ok("PUT", f"/v1/activities/{activity_id}", contest)
    for member_id in (leaving, waiting):
        api.ok("POST", f"/v1/activities/{activity_id}/registrations", {"member_id": member_id})
    export = api.ok("GET", f"/v1/members/{leaving}/export")
    assert [(r["activity_id"], r["status"]) for r in export["activities"]["registrations"]] == [
        (activity_id, "confirmed")
    ]
    assert {"registration"} <= {e["kind"] for e in api.ok("GET", f"/v1/members/{leaving}/timeline")}

    assert api.call("DELETE", f"/v1/members/{leaving}").status == 204

    def seat_passed_on() -> bool:
        listed = api.ok("GET", f"/v1/activities/{activity_id}/registrations")
        return [(r["member_id"], r["status"]) for r in listed] == [(waiting, "confirmed")]

    assert wait_for(seat_passed_on, timeout=180), api.ok("GET", f"/v1/activities/{activity_id}/registrations")
    assert wait_for(lambda: sent(api, waiting, "activity_promoted"), timeout=120)
    client = Aws(stack["endpoint_url"], stack["region"]).client("dynamodb")
    items = client.query(
        TableName=stack["tables"]["activities"],
        KeyConditionExpression="activity_id = :a",
        ExpressionAttributeValues={":a": {"S": activity_id}},
    )["Items"]
    assert sorted(i["sk"]["S"] for i in items) == ["#activity", f"REG#{waiting}"]
