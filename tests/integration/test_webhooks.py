"""``/webhooks/{provider}/{token}`` through the Chalice test client (the token in moto Secrets
Manager), the inbound queue, and the ``on_inbound`` worker that acts on what arrived."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.adapters.providers.base import WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import PENDING_STATUSES, Channel, Consent, Member, Message, MessageStatus, StatusChange

from .conftest import ROOT, app_with, load_event

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
MESSAGE_ID = "m0f6b1c2d3e4f5a6b7c8d9e0f1"  # the id in events/webhook_sandbox.json
PHONE = "+8613800138000"


@pytest.fixture
def client(aws):
    from app import app

    with Client(app, project_dir=str(ROOT)) as c:
        yield c


@pytest.fixture
def sent_message(aws) -> Message:
    store = DynamoMessageStore()
    DynamoMemberStore().save(Member("m-1001", phone=PHONE))
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


def post(client, token: str, body, provider: str = "sandbox", content_type: str = "application/json"):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.http.post(f"/webhooks/{provider}/{token}", headers={"Content-Type": content_type}, body=raw)


def work(aws, lambda_context) -> list[dict[str, Any]]:
    """Run the on_inbound worker over everything now on the inbound queue; returns the bodies."""
    from chalicelib.handlers import inbound

    messages = aws.drain_queue(aws.queues["InboundQueue"])
    if messages:
        result = inbound.handle_batch(aws.sqs_event(messages), lambda_context)
        assert result == {"batchItemFailures": []}
    return [json.loads(m["Body"]) for m in messages]


class TestToken:
    def test_given_the_right_token_when_a_delivered_receipt_arrives_then_200_queued_and_applied_by_the_worker(
        self, aws, client, sent_message, lambda_context
    ):
        body = load_event("webhook_sandbox.json")["body"]

        response = post(client, aws.webhook_token, body)

        assert response.status_code == 200
        assert DynamoMessageStore().get(MESSAGE_ID) == sent_message  # nothing done in the route
        [event] = work(aws, lambda_context)
        assert event["kind"] == "receipt" and event["raw"]
        message = DynamoMessageStore().get(MESSAGE_ID)
        assert message.status is MessageStatus.DELIVERED
        assert message.delivered_at == datetime(2026, 11, 20, 2, 0, 9, tzinfo=UTC)

    def test_given_a_wrong_token_when_a_receipt_arrives_then_404_and_nothing_queued(self, aws, client, sent_message):
        response = post(client, "not-the-token", {"message_id": MESSAGE_ID, "status": "delivered"})

        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "not_found"
        assert aws.drain_queue(aws.queues["InboundQueue"]) == []

    def test_given_no_token_for_that_provider_when_posted_then_404(self, aws, client, sent_message):
        response = post(client, aws.webhook_token, {"message_id": MESSAGE_ID, "status": "delivered"}, "twilio")

        assert response.status_code == 404

    def test_given_a_token_but_no_adapter_for_the_provider_when_posted_then_404(self, aws, client, monkeypatch):
        app_with(secrets=lambda: {"webhook_token_nosuch": "t0k"})

        assert post(client, "t0k", {}, "nosuch").status_code == 404

    def test_given_no_secrets_configured_when_posted_then_404(self, aws, client, sent_message, monkeypatch):
        from chalicelib import bootstrap

        monkeypatch.delenv("SECRETS_ID")
        bootstrap.reset()

        response = post(client, aws.webhook_token, {"message_id": MESSAGE_ID, "status": "delivered"})

        assert response.status_code == 404


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
            json.dumps({"message_id": MESSAGE_ID, "status": "delivered", "at": 1795140009}),
            json.dumps([1, 2]),
            json.dumps(None),
            "[" * 50_000,
        ],
        ids=[
            "not-json",
            "empty",
            "no-status",
            "unknown-status",
            "not-a-receipt",
            "bad-at",
            "naive-at",
            "number-at",
            "ints",
            "null",
            "deep",
        ],
    )
    def test_given_a_malformed_body_when_posted_with_the_right_token_then_400_and_nothing_queued(
        self, aws, client, sent_message, body
    ):
        response = post(client, aws.webhook_token, body)

        assert response.status_code == 400
        assert set(response.json_body["error"]) >= {"code", "message"}
        assert aws.drain_queue(aws.queues["InboundQueue"]) == []

    def test_given_an_oversize_body_when_posted_then_413(self, aws, client):
        response = post(client, aws.webhook_token, json.dumps({"pad": "x" * (300 * 1024)}))

        assert response.status_code == 413
        assert response.json_body["error"]["code"] == "too_large"

    def test_given_a_get_probe_when_called_then_the_providers_answer(self, aws, client):
        response = client.http.get(f"/webhooks/sandbox/{aws.webhook_token}")

        assert response.status_code == 200

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        body=st.one_of(
            st.binary(max_size=300),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                max_leaves=12,
            ).map(json.dumps),
        ),
        content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/xml"]),
    )
    def test_given_any_body_when_posted_then_never_a_5xx(self, aws, client, body, content_type):
        response = post(client, aws.webhook_token, body, content_type=content_type)

        assert response.status_code < 500


class TestOrdering:
    def test_given_a_read_message_when_a_late_delivered_receipt_arrives_then_still_read(
        self, aws, client, sent_message, lambda_context
    ):
        read = {"message_id": MESSAGE_ID, "status": "read", "at": "2026-11-20T02:01:00Z"}
        late = {"message_id": MESSAGE_ID, "status": "delivered", "at": "2026-11-20T02:00:09Z"}
        assert post(client, aws.webhook_token, read).status_code == 200
        work(aws, lambda_context)

        assert post(client, aws.webhook_token, late).status_code == 200
        work(aws, lambda_context)

        message = DynamoMessageStore().get(MESSAGE_ID)
        assert message.status is MessageStatus.READ
        assert message.delivered_at is None

    def test_given_a_receipt_for_an_unknown_message_when_handled_then_no_row_and_nothing_personal_kept(
        self, aws, client, lambda_context
    ):
        post(client, aws.webhook_token, {"message_id": "m-ghost", "status": "delivered"})
        work(aws, lambda_context)

        assert aws.scan("MessagesTable") == []
        [row] = aws.dedupe_rows()
        assert "record" not in row and row["status"]["S"] == "done"

    def test_given_the_same_receipt_twice_when_handled_then_the_second_is_a_replay(
        self, aws, client, sent_message, lambda_context
    ):
        receipt = {"message_id": MESSAGE_ID, "status": "delivered", "at": "2026-11-20T02:00:09Z"}
        post(client, aws.webhook_token, receipt)
        post(client, aws.webhook_token, receipt)
        work(aws, lambda_context)

        assert len(aws.dedupe_rows()) == 1
        assert [h.status for h in DynamoMessageStore().get(MESSAGE_ID).history].count(MessageStatus.DELIVERED) == 1


class TestReplies:
    @pytest.fixture
    def wang(self, aws) -> Member:
        member = Member("m-wang", name="王小明", phone=PHONE, consent=Consent(sms=True, im=True, marketing=True))
        DynamoMemberStore().save(member)
        return member

    def test_given_a_member_when_they_reply_T_twice_with_one_id_then_consent_off_once_and_one_confirmation_queued(
        self, aws, client, wang, lambda_context
    ):
        reply = {"type": "reply", "from": PHONE, "text": "T", "id": "sbx-r-1", "at": "2026-11-20T02:00:00Z"}

        assert post(client, aws.webhook_token, reply).status_code == 200
        assert post(client, aws.webhook_token, reply).status_code == 200
        work(aws, lambda_context)

        assert DynamoMemberStore().get("m-wang").consent.sms is False
        messages = DynamoMessageStore().list_for_member("m-wang")
        assert [(m.trigger, m.channel, m.status) for m in messages] == [
            ("reply_optout", Channel.SMS, MessageStatus.QUEUED)
        ]
        sends = [json.loads(m["Body"])["message_id"] for m in aws.drain_queue(aws.queue_url)]
        assert sends == [messages[0].message_id]

    def test_given_handoff_words_when_replied_then_a_ticket_and_a_reply(self, aws, client, wang, lambda_context):
        post(client, aws.webhook_token, {"type": "reply", "from": PHONE, "text": "售后", "id": "sbx-r-2"})
        work(aws, lambda_context)

        [ticket] = aws.scan("HandoffsTable")
        assert ticket["member_id"]["S"] == "m-wang" and ticket["status"]["S"] == "open"
        assert [m.trigger for m in DynamoMessageStore().list_for_member("m-wang")] == ["reply_handoff"]
        chat = [i for i in aws.scan("ActivityTable") if i["sk"]["S"].startswith("CHAT#")]
        assert len(chat) == 1

    def test_given_an_unknown_sender_when_they_write_then_recorded_and_no_error(self, aws, client, lambda_context):
        post(client, aws.webhook_token, {"type": "reply", "from": "+8613900000000", "text": "T", "id": "x-1"})
        work(aws, lambda_context)

        [row] = aws.dedupe_rows()
        assert row["outcome"]["S"] == "unknown sender"
        assert aws.scan("MessagesTable") == []


class _Adapter:
    """A provider adapter whose answer the test decides."""

    name = "fake"
    channels = frozenset({Channel.SMS})

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.requests: list[WebhookRequest] = []

    def handle_webhook(self, request: WebhookRequest, now: datetime) -> WebhookResult:
        self.requests.append(request)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


@pytest.fixture
def fake_provider(aws):
    def install(outcome: Any, **more: Any) -> _Adapter:
        adapter = _Adapter(outcome)
        app_with(secrets=lambda: {"webhook_token_fake": "tok-fake"}, providers={"fake": adapter}, **more)
        return adapter

    return install


class TestAdapters:
    def test_given_a_forgery_when_the_adapter_rejects_it_then_its_status_in_the_contract_error_shape(
        self, client, fake_provider
    ):
        fake_provider(WebhookRejected(403, "forbidden", "bad signature"))

        response = post(client, "tok-fake", "x=1", "fake", "application/x-www-form-urlencoded")

        assert response.status_code == 403
        assert response.json_body == {"error": {"code": "forbidden", "message": "bad signature"}}

    def test_given_an_adapter_that_could_not_check_when_posted_then_its_503_so_the_provider_retries(
        self, client, fake_provider
    ):
        fake_provider(WebhookRejected(503, "certificate_unavailable", "SNS signing certificate not fetched"))

        response = post(client, "tok-fake", "{}", "fake", "application/json")

        assert response.status_code == 503
        assert response.json_body["error"]["code"] == "certificate_unavailable"

    def test_given_an_adapter_that_breaks_on_bad_input_when_posted_then_400_not_500(self, client, fake_provider):
        fake_provider(KeyError("Body"))

        assert post(client, "tok-fake", "x=1", "fake", "application/x-www-form-urlencoded").status_code == 400

    def test_given_a_twiml_answer_when_accepted_then_it_is_returned_as_is(self, aws, client, fake_provider):
        event = InboundEvent("fake", InboundKind.REPLY, "SM1", T0, Channel.SMS, sender=PHONE, text="STOP", raw="{}")
        fake_provider(WebhookResult(WebhookAnswer(200, "<Response/>", "text/xml"), (event,)))

        response = post(client, "tok-fake", "Body=STOP", "fake", "application/x-www-form-urlencoded")

        assert response.status_code == 200
        assert response.body == b"<Response/>"
        assert response.headers["Content-Type"] == "text/xml"
        [queued] = aws.drain_queue(aws.queues["InboundQueue"])
        assert json.loads(queued["Body"])["event_id"] == "SM1"

    def test_given_a_follow_up_when_accepted_then_it_is_fetched_before_answering(
        self, client, fake_provider, monkeypatch
    ):
        fetched: list[str] = []

        class FollowUp:
            def get(self, url: str) -> int:
                fetched.append(url)
                return 200

        fake_provider(
            WebhookResult(WebhookAnswer(200, ""), follow_up=("https://sns.example/confirm?x=1",)), follow_up=FollowUp()
        )

        assert post(client, "tok-fake", "{}", "fake").status_code == 200
        assert fetched == ["https://sns.example/confirm?x=1"]

    def test_given_a_failing_follow_up_when_accepted_then_502_so_the_provider_retries(
        self, client, fake_provider, monkeypatch
    ):
        class FollowUp:
            def get(self, url: str) -> int:
                raise TimeoutError("timed out")

        fake_provider(
            WebhookResult(WebhookAnswer(200, ""), follow_up=("https://sns.example/confirm",)), follow_up=FollowUp()
        )

        assert post(client, "tok-fake", "{}", "fake").status_code == 502


class TestPublicUrl:
    def test_given_no_public_url_when_called_on_execute_api_then_the_url_includes_the_stage(self, aws, fake_provider):
        from app import app

        adapter = fake_provider(WebhookResult(WebhookAnswer(200, "")))
        event = load_event("webhook_sandbox.json")
        event["path"] = "/webhooks/fake/tok-fake"
        event["pathParameters"] = {"provider": "fake", "token": "tok-fake"}
        event["requestContext"]["path"] = "/api/webhooks/fake/tok-fake"
        event["requestContext"]["domainName"] = "abc123.execute-api.ap-southeast-1.amazonaws.com"
        event["multiValueQueryStringParameters"] = {"b": ["2"], "a": ["1"]}

        response = app(event, None)

        assert response["statusCode"] == 200
        [request] = adapter.requests
        assert (
            request.url == "https://abc123.execute-api.ap-southeast-1.amazonaws.com/api/webhooks/fake/tok-fake?b=2&a=1"
        )
        assert request.source_ip == "203.0.113.7"
        assert request.query == {"b": "2", "a": "1"}

    def test_given_a_public_url_when_called_then_it_is_the_base(self, aws, fake_provider, monkeypatch):
        from app import app
        from chalicelib.settings import get_settings

        monkeypatch.setenv("PUBLIC_API_URL", "https://api.toys.example/")
        get_settings.cache_clear()
        adapter = fake_provider(WebhookResult(WebhookAnswer(200, "")))
        event = load_event("webhook_sandbox.json")
        event["pathParameters"] = {"provider": "fake", "token": "tok-fake"}

        app(event, None)

        assert adapter.requests[0].url == "https://api.toys.example/webhooks/fake/tok-fake"


class TestClicks:
    @pytest.fixture
    def tracked(self, aws, monkeypatch):
        from aws_lambda_powertools.utilities import parameters

        from chalicelib import bootstrap
        from chalicelib.adapters.link_store import DynamoLinkStore
        from chalicelib.domain.links import rewrite_links
        from chalicelib.settings import get_settings

        from .conftest import SECRETS_NAME, WEBHOOK_TOKEN

        secret = "c" * 64
        aws.secrets.put_secret_value(
            SecretId=SECRETS_NAME,
            SecretString=json.dumps({"webhook_token_sandbox": WEBHOOK_TOKEN, "click_signing_key": secret}),
        )
        monkeypatch.setenv("PUBLIC_API_URL", "https://api.toys.example/api")
        get_settings.cache_clear()
        parameters.clear_caches()
        bootstrap.reset()
        DynamoMessageStore().create(
            Message("m-abc", "m-1", "new_arrivals", "x", Channel.SMS, "sandbox", "t", MessageStatus.SENT, T0)
        )
        _, links = rewrite_links("see https://shop.example/p?id=1", "m-abc", secret, "https://api.toys.example/api")
        DynamoLinkStore().put(links, T0)
        return links[0]

    def test_given_a_tracked_link_when_followed_then_302_to_the_target_and_the_click_recorded(
        self, aws, client, tracked
    ):
        response = client.http.get(f"/r/{tracked.token}")

        assert response.status_code == 302
        assert response.headers["Location"] == "https://shop.example/p?id=1"
        [message] = aws.scan("MessagesTable")
        assert "clicked_at" in message
        assert aws.scan("LinksTable")[0]["clicks"]["N"] == "1"

    @pytest.mark.parametrize("token", ["nope", "A" * 21, "a.b~c", "x" * 500])
    def test_given_a_forged_token_when_followed_then_404(self, aws, client, tracked, token):
        response = client.http.get(f"/r/{token}")

        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "not_found"


def test_given_the_local_stack_when_called_then_the_url_is_the_one_stack_json_lists(aws, fake_provider) -> None:
    from app import app

    adapter = fake_provider(WebhookResult(WebhookAnswer(200, "")))
    event = load_event("webhook_sandbox.json")
    event["pathParameters"] = {"provider": "fake", "token": "tok-fake"}
    event["headers"]["Host"] = "127.0.0.1:4566"
    event["requestContext"]["path"] = "/api/webhooks/fake/tok-fake"  # as MiniStack sets it: no domainName

    app(event, None)

    assert adapter.requests[0].url == "http://127.0.0.1:4566/_aws/execute-api/abc123/api/webhooks/fake/tok-fake"
