"""The campaign functions on the real adapters (moto): the launch queues one chunk per scan part,
``plan_campaign`` plans them (replayed: nothing more), and ``on_message_change`` feeds the
counters from stream records of the messages table (replayed: counted once)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from chalicelib import bootstrap
from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.domain.model import Child, Consent, Member
from chalicelib.handlers import campaign_queue, streams
from tests.integration.conftest import app_with

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # noon in Shanghai


def join(n: int) -> None:
    store = DynamoMemberStore()
    for i in range(n):
        store.save(
            Member(
                f"m-{i:02d}",
                phone=f"+86138001380{i:02d}",
                consent=Consent(sms=True, im=True, marketing=True),
                children=[Child("乐乐", date(2022, 1, 1), "boy")] if i % 2 == 0 else [],
                created_at=NOW - timedelta(days=1),
            )
        )


def stream_record(old: dict[str, Any] | None, new: dict[str, Any], n: int) -> dict[str, Any]:
    serialize = TypeSerializer().serialize
    image = {k: serialize(v) for k, v in new.items() if v is not None}
    record: dict[str, Any] = {
        "eventID": f"e{n}",
        "eventName": "MODIFY" if old else "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": NOW.timestamp(),
            "Keys": {"message_id": image["message_id"]},
            "NewImage": image,
            "SequenceNumber": str(n),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/messages/stream/x",
    }
    if old:
        record["dynamodb"]["OldImage"] = {k: serialize(v) for k, v in old.items() if v is not None}
    return record


def test_launch_plan_and_count(aws: Any, lambda_context: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(campaign_queue, "clock", lambda: NOW)
    app = app_with()
    join(12)
    app.segments.put("kids", {"conditions": [{"field": "child_age_months", "op": "gte", "value": 36}]}, NOW)
    app.campaigns.put(
        "c1",
        {
            "name": "新火车",
            "segment_id": "kids",
            "channels": ["sms"],
            "send_at": "2026-11-22T04:00:00Z",
            "holdout_percent": 20,
            "variants": [{"id": "a", "templates": {"zh-CN": "新火车到店"}}],
        },
        NOW,
    )
    app.campaigns.launch("c1", NOW)
    chunks = aws.drain_queue(aws.queues["CampaignQueue"])
    assert len(chunks) == 4  # one per scan part
    rounds = 0
    while chunks:
        answer = campaign_queue.plan_chunks(aws.sqs_event(chunks), lambda_context)
        assert answer == {"batchItemFailures": []}
        chunks = aws.drain_queue(aws.queues["CampaignQueue"])
        rounds += 1
    items = [i for i in aws.scan("MessagesTable") if i.get("campaign_id", {}).get("S") == "c1"]
    assert sorted(i["member_id"]["S"] for i in items) == [f"m-{i:02d}" for i in range(0, 12, 2)]
    sends = aws.drain_queue()
    assert len(sends) == sum(1 for i in items if i["status"]["S"] == "queued")
    assert bootstrap.app().adapters.campaigns.get("c1").status == "done"  # type: ignore[union-attr]
    # The messages stream: each INSERT, twice (a replay), counts once.
    records = []
    for n, item in enumerate(items):
        plain = {k: TypeDeserializerLike.value(v) for k, v in item.items()}
        records += [stream_record(None, plain, 2 * n), stream_record(None, plain, 2 * n + 1)]
    answer = streams.message_changed({"Records": records}, lambda_context)
    assert answer == {"batchItemFailures": []}
    shown = app.campaigns.get("c1")
    assert shown["audience"] == len(items)
    assert shown["progress"]["a"]["queued"] + shown["progress"]["control"]["members"] == len(items)


class TypeDeserializerLike:
    @staticmethod
    def value(v: dict[str, Any]) -> Any:
        from boto3.dynamodb.types import TypeDeserializer

        got = TypeDeserializer().deserialize(v)
        return json.loads(json.dumps(got, default=lambda d: int(d) if d == int(d) else float(d)))
