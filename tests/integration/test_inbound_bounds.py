"""What an inbound event carries is bounded (text and raw payload, by UTF-8 bytes, marked where cut),
so an oversize reply accepted by the webhook is handled to the end: it fits an SQS message and every
DynamoDB item it leads to. And the inbound log keeps no full phone number."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.domain.model import Member

from .conftest import ROOT

PHONE = "+8613800138000"
SQS_MAX_BYTES = 256 * 1024


@pytest.fixture
def client(aws):
    from app import app

    with Client(app, project_dir=str(ROOT)) as c:
        yield c


def post(client, token: str, body) -> object:
    return client.http.post(
        f"/webhooks/sandbox/{token}",
        headers={"Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )


def work(aws, lambda_context) -> list[dict]:
    from chalicelib.handlers import inbound

    messages = aws.drain_queue(aws.queues["InboundQueue"])
    assert all(len(m["Body"].encode()) <= SQS_MAX_BYTES for m in messages)
    if messages:
        assert inbound.handle_batch(aws.sqs_event(messages), lambda_context) == {"batchItemFailures": []}
    return [json.loads(m["Body"]) for m in messages]


def test_given_a_reply_of_80000_characters_when_posted_then_accepted_and_handled_to_the_end_within_the_limits(
    aws, client, lambda_context
):
    DynamoMemberStore().save(Member("m-long", phone=PHONE))
    text = "好" * 80_000  # 240,000 bytes of UTF-8
    reply = {"type": "reply", "from": PHONE, "text": text, "id": "sbx-long-1"}

    assert post(client, aws.webhook_token, reply).status_code == 200
    [event] = work(aws, lambda_context)

    assert event["text"].endswith("…[cut]") and len(event["text"].encode()) <= 8 * 1024
    assert len(event["raw"].encode()) <= 16 * 1024
    rows = {r["event_key"]["S"]: r for r in aws.scan("InboundTable")}
    assert rows["sandbox#sbx-long-1"]["status"]["S"] == "done"
    [chat] = [i for i in aws.scan("ActivityTable") if i["sk"]["S"].startswith("CHAT#")]
    kept = chat["data"]["M"]["text"]["S"]
    assert kept.startswith("好好好") and kept.endswith("…[cut]") and len(kept.encode()) <= 8 * 1024


def test_given_a_reply_and_a_receipt_when_handled_then_the_inbound_table_holds_no_full_phone_number_nor_text(
    aws, client, lambda_context
):
    """Defect: the dedupe rows kept the sender's number and the raw payload (number and text) for 180
    days. Now the dedupe row holds ids only; the normalised record is kept masked, briefly, apart."""
    DynamoMemberStore().save(Member("m-wang", phone=PHONE))
    reply = {"type": "reply", "from": PHONE, "text": "我家住在幸福路8号", "id": "sbx-r-9", "at": "2026-11-20T02:00:00Z"}
    receipt = {
        "message_id": "m-x",
        "status": "failed",
        "reason": "bad number 13800138000",
        "at": "2026-11-20T02:00:00Z",
    }

    assert post(client, aws.webhook_token, [reply, receipt]).status_code == 200
    work(aws, lambda_context)

    rows = aws.scan("InboundTable")
    dump = json.dumps(rows, ensure_ascii=False)
    assert "13800138000" not in dump and "幸福路" not in dump
    dedupe = [r for r in rows if "record" not in r]
    assert {r["event_key"]["S"] for r in dedupe} == {"sandbox#sbx-r-9", "sandbox#m-x:failed"}
    for row in dedupe:  # kept 180 days for dedupe: ids and outcome only
        assert set(row) <= {
            "event_key",
            "provider",
            "event_id",
            "kind",
            "at",
            "status",
            "outcome",
            "updated_at",
            "expires",
        }
    [record] = [r for r in rows if "record" in r]  # the reply's (the receipt named no message of ours)
    assert record["member_id"]["S"] == "m-wang"
    assert int(record["expires"]["N"]) - int(dedupe[0]["expires"]["N"]) < -100 * 86400  # kept far shorter
