"""POST /webhooks/sandbox/<token> through the Chalice test client, the token in (moto) Secrets Manager."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo import DynamoMessageStore
from chalicelib.domain.model import PENDING_STATUSES, Channel, Message, MessageStatus, StatusChange

from .conftest import ROOT, load_event

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
MESSAGE_ID = "m0f6b1c2d3e4f5a6b7c8d9e0f1"  # the id in events/webhook_sandbox.json


@pytest.fixture
def client(aws):
    from app import app

    with Client(app, project_dir=str(ROOT)) as c:
        yield c


@pytest.fixture
def sent_message(aws) -> Message:
    store = DynamoMessageStore()
    message = Message(
        message_id=MESSAGE_ID,
        member_id="m-1001",
        trigger="welcome",
        occurrence="join",
        channel=Channel.IM,
        provider="sandbox",
        text="欢迎",
        status=MessageStatus.QUEUED,
        created_at=T0,
        history=[StatusChange(MessageStatus.QUEUED, T0)],
    )
    store.create(message)
    store.transition(MESSAGE_ID, MessageStatus.SENT, T0 + timedelta(seconds=3), expect=PENDING_STATUSES)
    return store.get(MESSAGE_ID)


def post(client, token: str, body, provider: str = "sandbox"):
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.http.post(f"/webhooks/{provider}/{token}", headers={"Content-Type": "application/json"}, body=raw)


class TestToken:
    def test_given_the_right_token_when_a_delivered_receipt_arrives_then_200_and_it_is_applied(
        self, aws, client, sent_message
    ):
        body = load_event("webhook_sandbox.json")["body"]

        response = post(client, aws.webhook_token, body)

        assert response.status_code == 200
        assert response.json_body == {"ok": True, "applied": 1}
        message = DynamoMessageStore().get(MESSAGE_ID)
        assert message.status is MessageStatus.DELIVERED
        assert message.delivered_at == datetime(2026, 11, 20, 2, 0, 9, tzinfo=UTC)
        assert message.history[-1].status is MessageStatus.DELIVERED

    def test_given_a_wrong_token_when_a_receipt_arrives_then_404_and_nothing_changes(self, aws, client, sent_message):
        response = post(client, "not-the-token", {"message_id": MESSAGE_ID, "status": "delivered"})

        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "not_found"
        assert DynamoMessageStore().get(MESSAGE_ID) == sent_message

    def test_given_no_token_for_that_provider_when_posted_then_404(self, aws, client, sent_message):
        response = post(client, aws.webhook_token, {"message_id": MESSAGE_ID, "status": "delivered"}, "twilio")

        assert response.status_code == 404
        assert DynamoMessageStore().get(MESSAGE_ID) == sent_message

    def test_given_no_secrets_configured_when_posted_then_404(self, aws, client, sent_message, monkeypatch):
        from chalicelib import bootstrap

        monkeypatch.delenv("SECRETS_ID")
        bootstrap.reset()

        response = post(client, aws.webhook_token, {"message_id": MESSAGE_ID, "status": "delivered"})

        assert response.status_code == 404
        assert DynamoMessageStore().get(MESSAGE_ID) == sent_message


class TestBody:
    @pytest.mark.parametrize(
        "body",
        [
            "{not json",
            "",
            json.dumps({"message_id": MESSAGE_ID}),
            json.dumps({"message_id": MESSAGE_ID, "status": "exploded"}),
            json.dumps({"message_id": MESSAGE_ID, "status": "sent"}),
            json.dumps({"message_id": MESSAGE_ID, "status": "delivered", "at": "yesterday"}),
            json.dumps({"message_id": MESSAGE_ID, "status": "delivered", "at": "2026-11-20T02:00:09"}),
            json.dumps([1, 2]),
            json.dumps(None),
        ],
        ids=["not-json", "empty", "no-status", "unknown-status", "not-a-receipt", "bad-at", "naive-at", "ints", "null"],
    )
    def test_given_a_malformed_body_when_posted_with_the_right_token_then_400_and_nothing_changes(
        self, aws, client, sent_message, body
    ):
        response = post(client, aws.webhook_token, body)

        assert response.status_code == 400
        assert response.json_body["error"]["code"] == "invalid"
        assert DynamoMessageStore().get(MESSAGE_ID) == sent_message

    def test_given_a_non_string_at_when_posted_then_400_not_500(self, aws, client, sent_message):
        # CONTRACT: never a 5xx for anything the caller sent.
        response = post(client, aws.webhook_token, {"message_id": MESSAGE_ID, "status": "delivered", "at": 1795140009})

        assert response.status_code == 400
        assert DynamoMessageStore().get(MESSAGE_ID) == sent_message


class TestOrdering:
    def test_given_a_read_message_when_a_late_delivered_receipt_arrives_then_200_applied_0_and_still_read(
        self, aws, client, sent_message
    ):
        read = {"message_id": MESSAGE_ID, "status": "read", "at": "2026-11-20T02:01:00Z"}
        late = {"message_id": MESSAGE_ID, "status": "delivered", "at": "2026-11-20T02:00:09Z"}
        assert post(client, aws.webhook_token, read).json_body == {"ok": True, "applied": 1}

        response = post(client, aws.webhook_token, late)

        assert response.status_code == 200
        assert response.json_body == {"ok": True, "applied": 0}
        message = DynamoMessageStore().get(MESSAGE_ID)
        assert message.status is MessageStatus.READ
        assert message.delivered_at is None

    def test_given_a_receipt_for_an_unknown_message_when_posted_then_200_applied_0_and_no_row(self, aws, client):
        response = post(client, aws.webhook_token, {"message_id": "m-ghost", "status": "delivered"})

        assert response.status_code == 200
        assert response.json_body == {"ok": True, "applied": 0}
        assert aws.scan("MessagesTable") == []
