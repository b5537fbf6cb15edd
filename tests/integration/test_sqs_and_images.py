"""SqsSendQueue against moto SQS, and stream images (DynamoDB JSON) decoded into members."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import boto3
import pytest

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.send_queue import SqsSendQueue
from chalicelib.adapters.stream_images import image_to_member
from chalicelib.domain.model import Child, Consent, PointsLot, StoredValue

from .conftest import REGION, load_event


def counting_client(calls: list[dict]) -> object:
    """A real (moto-backed) SQS client that notes every SendMessageBatch it makes."""
    client = boto3.client("sqs", region_name=REGION)
    client.meta.events.register("provide-client-params.sqs.SendMessageBatch", lambda params, **_: calls.append(params))
    return client


class TestSqsSendQueue:
    def test_given_23_ids_when_enqueued_then_3_batches_and_every_id_arrives_once(self, aws):
        calls: list[dict] = []
        queue = SqsSendQueue(counting_client(calls), aws.queue_url)
        ids = [f"m{n:025d}" for n in range(23)]

        queue.enqueue(ids)

        assert [len(c["Entries"]) for c in calls] == [10, 10, 3]
        bodies = [json.loads(m["Body"]) for m in aws.drain_queue()]
        assert sorted(b["message_id"] for b in bodies) == ids
        assert all(b.get("at") is None for b in bodies)

    def test_given_a_decision_time_when_enqueued_then_every_body_carries_it(self, aws):
        calls: list[dict] = []
        queue = SqsSendQueue(counting_client(calls), aws.queue_url)

        queue.enqueue(["m-a", "m-b"], datetime(2026, 11, 20, 10, 0, tzinfo=UTC))

        assert len(calls) == 1
        bodies = sorted((json.loads(m["Body"]) for m in aws.drain_queue()), key=lambda b: b["message_id"])
        assert bodies == [
            {"message_id": "m-a", "at": "2026-11-20T10:00:00Z"},
            {"message_id": "m-b", "at": "2026-11-20T10:00:00Z"},
        ]

    def test_given_a_handler_batch_when_intents_are_held_then_they_go_together_at_the_end(self, aws):
        calls: list[dict] = []
        queue = SqsSendQueue(counting_client(calls), aws.queue_url)

        with queue.batched():
            for n in range(12):  # twelve stream records, one welcome each
                queue.enqueue([f"m-{n:02d}"], datetime(2026, 11, 20, 10, n, tzinfo=UTC))
            assert calls == []

        assert [len(c["Entries"]) for c in calls] == [10, 2]
        bodies = sorted((json.loads(m["Body"]) for m in aws.drain_queue()), key=lambda b: b["message_id"])
        assert [b["message_id"] for b in bodies] == [f"m-{n:02d}" for n in range(12)]
        assert bodies[11]["at"] == "2026-11-20T10:11:00Z"  # each keeps its own decision time

    def test_given_a_handler_batch_that_fails_when_held_then_nothing_is_sent(self, aws):
        calls: list[dict] = []
        queue = SqsSendQueue(counting_client(calls), aws.queue_url)

        with pytest.raises(RuntimeError), queue.batched():
            queue.enqueue(["m-a"])
            raise RuntimeError("the batch failed: its replay re-queues")

        assert calls == []
        queue.enqueue(["m-b"])  # held no more
        assert len(calls) == 1

    def test_given_no_ids_when_enqueued_then_no_call(self, aws):
        calls: list[dict] = []

        SqsSendQueue(counting_client(calls), aws.queue_url).enqueue([])

        assert calls == []
        assert aws.drain_queue() == []


def _new_image(event: dict) -> dict:
    """The record's new image as the stream handler sees it (Powertools' DynamoDBRecord)."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBStreamEvent

    [record] = DynamoDBStreamEvent(event).records
    assert record.dynamodb is not None
    return dict(record.dynamodb.new_image)


class TestImageToMember:
    def test_given_the_sample_insert_image_when_decoded_then_every_field_is_a_domain_value(self, aws):
        member = image_to_member(_new_image(load_event("member_insert.json")))

        assert member.member_id == "m-1001"
        assert member.name == "王小明"
        assert member.phone == "+8613800138000"
        assert member.im_user_id == "agora_u1001"
        assert member.timezone == "Asia/Shanghai"
        assert member.locale == "zh-CN"
        assert member.joined_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
        assert member.tier == "regular"
        assert member.store_id == "store-sh-01"
        assert member.tags == ["lego", "puzzle"]
        assert member.children == [Child("乐乐", date(2023, 11, 25), "boy")]
        assert member.consent == Consent(sms=True, im=True, marketing=True)
        assert member.stored_value == StoredValue(200.0, date(2027, 1, 31))
        assert member.points_lots == [PointsLot("t-1", 120, date(2026, 12, 31))]
        assert member.points_balance == 120
        assert member.last_purchase_at == datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
        assert member.created_at == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
        assert member.version == 1

    def test_given_a_member_saved_by_the_store_when_its_raw_item_is_decoded_then_it_is_the_same(self, aws):
        # What the stream carries is exactly what the store wrote: decode the stored item as an image.
        member = image_to_member(_new_image(load_event("member_insert.json")))
        member.version = 0
        DynamoMemberStore().save(member)
        stored = aws.dynamodb.get_item(TableName=aws.tables["MembersTable"], Key={"member_id": {"S": "m-1001"}})
        event = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": stored["Item"]}}]}

        assert image_to_member(_new_image(event)) == member
