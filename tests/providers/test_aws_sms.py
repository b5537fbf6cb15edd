"""AWS End User Messaging SMS adapter against an awsJson1_0 stub that checks SigV4, and its SNS
webhook side with a self-signed signing certificate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.providers.aws_sms import AwsSmsAdapter
from chalicelib.adapters.providers.base import WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.domain.inbound import InboundKind
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.aws_sms_stub import AwsSmsStub
from tests.providers.stubs.sns import (
    CERT_URL,
    INBOUND_TOPIC,
    KEY,
    OTHER_KEY,
    SIGNED,
    TOPIC,
    Fetcher,
    envelope,
    make_cert,
)

REGION = "us-east-1"
ACCESS_KEY, SECRET_KEY = "AKIDEXAMPLETEST", "test-secret-key/0123456789"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOOK = "https://hooks.example.com/webhooks/aws_sms/s3cr3t"


def message(
    to: str = "+14155550100", rule_class: str = "transactional", text: str = "Your points: 120"
) -> OutboundMessage:
    return OutboundMessage("msg-1", "sms", to, text, rule_class, trigger="points_changed", locale="en")


# --- send ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stub() -> AwsSmsStub:
    return AwsSmsStub(ACCESS_KEY, SECRET_KEY, REGION, slow_seconds=1.0)


@pytest.fixture(scope="module")
def server(stub: AwsSmsStub) -> Iterator[StubServer]:
    with serving(stub.handle) as running:
        yield running


def session(secret: str = SECRET_KEY) -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=secret, region_name=REGION)


def sender(server: StubServer, **overrides: Any) -> AwsSmsAdapter:
    config: dict[str, Any] = {
        "region": REGION,
        "endpoint_url": server.url,
        "session": session(),
        "origination_identity": "+18885550123",
        "configuration_set": "memberpulse",
        "read_timeout": 0.4,
    }
    config.update(overrides)
    return AwsSmsAdapter(**config)


def test_send_text_message_carries_our_id_in_context(stub: AwsSmsStub, server: StubServer) -> None:
    result = sender(server).send(message(), NOW)
    assert len(result.provider_message_id) == 36
    assert result.parts == 1
    assert stub.sent[-1] == {
        "DestinationPhoneNumber": "+14155550100",
        "OriginationIdentity": "+18885550123",
        "MessageBody": "Your points: 120",
        "MessageType": "TRANSACTIONAL",
        "ConfigurationSetName": "memberpulse",
        "Context": {"message_id": "msg-1"},
    }
    assert "attempt=1; max=1" in server.requests[-1].headers["amz-sdk-request"]  # no SDK resends


def test_marketing_goes_promotional_and_parts_are_counted(stub: AwsSmsStub, server: StubServer) -> None:
    result = sender(server, configuration_set=None, origination_identity=None).send(
        message(rule_class="marketing", text="新品到店" * 30), NOW
    )
    assert stub.sent[-1]["MessageType"] == "PROMOTIONAL"
    assert "ConfigurationSetName" not in stub.sent[-1] and "OriginationIdentity" not in stub.sent[-1]
    assert result.parts == 2


def test_bad_credentials_are_rejected(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        sender(server, session=session("wrong")).send(message(), NOW)
    assert caught.value.code == "rejected" and not caught.value.retryable


@pytest.mark.parametrize(
    ("to", "code", "retryable"),
    [
        ("+15555550001", "invalid_address", False),
        ("+15555550002", "opted_out", False),
        ("+15555550003", "throttled", True),
        ("+15555550004", "throttled", True),
        ("+15555550005", "unavailable", True),
        ("+15555550006", "rejected", False),
        ("+15555550007", "rejected", False),
        ("+15555550008", "rejected", False),
        ("+15555550010", "unavailable", True),
        ("", "invalid_address", False),  # below the model's minimum length: botocore refuses to send
    ],
)
def test_errors_map_to_our_codes(server: StubServer, to: str, code: str, retryable: bool) -> None:
    with pytest.raises(ProviderError) as caught:
        sender(server).send(message(to=to), NOW)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert not to or to not in str(caught.value)


def test_empty_text_is_refused_before_sending(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        sender(server).send(message(text=""), NOW)
    assert caught.value.code == "rejected" and not caught.value.retryable


def test_slow_answer_is_a_timeout(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        sender(server, read_timeout=0.2).send(message(to="+15555550009"), NOW)
    assert caught.value.code == "timeout" and caught.value.retryable


def test_unreachable_endpoint_is_unavailable() -> None:
    with serving(lambda request: None) as gone:  # type: ignore[arg-type,return-value]
        url = gone.url
    with pytest.raises(ProviderError) as caught:
        AwsSmsAdapter(region=REGION, endpoint_url=url, session=session(), connect_timeout=0.5).send(message(), NOW)
    assert caught.value.code == "unavailable" and caught.value.retryable


def test_from_secrets_reads_the_documented_names() -> None:
    class NoClient:
        def send_text_message(self, **kwargs: Any) -> dict[str, Any]:
            return {"MessageId": "m-1"}

    made = AwsSmsAdapter.from_secrets(
        {
            "aws_sms_origination_identity": "pool-1",
            "aws_sms_configuration_set": "cs",
            "aws_sms_topic_arn": f"{TOPIC}, {INBOUND_TOPIC}",
            "aws_sms_region": REGION,
        },
        client=NoClient(),
    )
    assert made.origination_identity == "pool-1" and made.configuration_set == "cs"
    assert made.topic_arns == {TOPIC, INBOUND_TOPIC}
    assert made.send(message(), NOW).provider_message_id == "m-1"
    assert not made.can_lookup and not made.dedupes


def post(doc: dict[str, Any] | bytes, **headers: str) -> WebhookRequest:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return WebhookRequest("POST", HOOK, {"content-type": "text/plain; charset=UTF-8", **headers}, {}, body)


class NoSends:
    def send_text_message(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("no sends in webhook tests")


def hooks(fetcher: Fetcher | None = None, topics: Any = (TOPIC, INBOUND_TOPIC)) -> AwsSmsAdapter:
    return AwsSmsAdapter(region=REGION, client=NoSends(), topic_arns=topics, cert_fetcher=fetcher or Fetcher())


EVENT = {
    "eventType": "TEXT_DELIVERED",
    "eventVersion": "1.0",
    "eventTimestamp": 1740830400123,
    "isFinal": True,
    "originationPhoneNumber": "+18885550123",
    "destinationPhoneNumber": "+14155550100",
    "isoCountryCode": "US",
    "isInternationalSend": False,
    "mcc": "310",
    "mnc": "800",
    "carrierName": "T-Mobile",
    "messageId": "862a8790-60c0-4430-9b2b-658bdexample",
    "messageRequestTimestamp": 1740830399000,
    "messageEncoding": "GSM",
    "messageType": "TRANSACTIONAL",
    "messageStatus": "DELIVERED",
    "messageStatusDescription": "Message has been accepted by phone",
    "context": {"message_id": "msg-7"},
    "totalMessageParts": 2,
    "totalMessagePrice": 0.00581,
    "totalCarrierFee": 0.00302,
}
INBOUND = {
    "originationNumber": "+14155550100",
    "destinationNumber": "+18885550123",
    "messageKeyword": "KEYWORD_123456789012",
    "messageBody": "STOP",
    "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
    "previousPublishedMessageId": "862a8790-60c0-4430-9b2b-658bdexample",
}


# --- SNS webhook -----------------------------------------------------------------------------


def test_subscription_confirmation_asks_the_route_to_visit_subscribe_url() -> None:
    doc = envelope("SubscriptionConfirmation", "You have chosen to subscribe to the topic …\nTo confirm …")
    result = hooks().handle_webhook(post(doc, **{"x-amz-sns-message-type": "SubscriptionConfirmation"}), NOW)
    assert result.answer.status == 200 and result.events == ()
    assert result.follow_up == (doc["SubscribeURL"],)


def test_subscribe_url_off_sns_is_refused_even_when_signed() -> None:
    doc = envelope("SubscriptionConfirmation", "confirm", SubscribeURL="https://evil.example.com/confirm")
    with pytest.raises(WebhookRejected) as caught:
        hooks().handle_webhook(post(doc), NOW)
    assert caught.value.status == 400


def test_unsubscribe_confirmation_is_acknowledged() -> None:
    result = hooks().handle_webhook(post(envelope("UnsubscribeConfirmation", "unsubscribed")), NOW)
    assert result.answer.status == 200 and result.events == () and result.follow_up == ()


def test_delivered_event_is_a_receipt_with_our_id_parts_and_time() -> None:
    result = hooks().handle_webhook(post(envelope(body=EVENT)), NOW)
    (event,) = result.events
    assert event.kind is InboundKind.RECEIPT and event.channel is Channel.SMS and event.provider == "aws_sms"
    assert event.status is MessageStatus.DELIVERED
    assert event.event_id == "862a8790-60c0-4430-9b2b-658bdexample:TEXT_DELIVERED"
    assert event.message_id == "msg-7"
    assert event.provider_message_id == "862a8790-60c0-4430-9b2b-658bdexample"
    assert event.parts == 2
    assert event.at == datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert event.reason is None
    assert json.loads(event.raw)["eventType"] == "TEXT_DELIVERED"


@pytest.mark.parametrize(
    ("event_type", "final", "status"),
    [
        ("TEXT_SUCCESSFUL", True, MessageStatus.DELIVERED),
        ("TEXT_SUCCESSFUL", False, MessageStatus.SENT),
        ("TEXT_QUEUED", False, MessageStatus.SENT),
        ("TEXT_PENDING", False, MessageStatus.SENT),
        ("TEXT_INVALID", True, MessageStatus.FAILED),
        ("TEXT_INVALID_MESSAGE", True, MessageStatus.FAILED),
        ("TEXT_TTL_EXPIRED", True, MessageStatus.FAILED),
        ("TEXT_PROTECT_BLOCKED", True, MessageStatus.FAILED),
        ("TEXT_BLOCKED", True, MessageStatus.UNDELIVERED),
        ("TEXT_CARRIER_BLOCKED", True, MessageStatus.UNDELIVERED),
        ("TEXT_SPAM", True, MessageStatus.UNDELIVERED),
        ("TEXT_UNREACHABLE", True, MessageStatus.UNDELIVERED),
        ("TEXT_CARRIER_UNREACHABLE", True, MessageStatus.UNDELIVERED),
        ("TEXT_UNKNOWN", True, MessageStatus.UNDELIVERED),
    ],
)
def test_event_types_map_to_statuses(event_type: str, final: bool, status: MessageStatus) -> None:
    body = {**EVENT, "eventType": event_type, "isFinal": final}
    (event,) = hooks().handle_webhook(post(envelope(body=body)), NOW).events
    assert event.status is status
    assert event.event_id.endswith(":" + event_type)
    expect_reason = status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
    assert event.reason == (event_type if expect_reason else None)


@pytest.mark.parametrize("event_type", ["VOICE_COMPLETED", "MEDIA_DELIVERED", "TEXT_SOMETHING_NEW"])
def test_other_event_types_are_acknowledged_without_events(event_type: str) -> None:
    result = hooks().handle_webhook(post(envelope(body={**EVENT, "eventType": event_type})), NOW)
    assert result.answer.status == 200 and result.events == ()


def test_inbound_sms_is_a_reply() -> None:
    result = hooks().handle_webhook(post(envelope(body=INBOUND, topic=INBOUND_TOPIC)), NOW)
    (event,) = result.events
    assert event.kind is InboundKind.REPLY
    assert event.event_id == INBOUND["inboundMessageId"]
    assert event.sender == "+14155550100" and event.text == "STOP"
    assert event.at == NOW


def test_signature_version_1_and_a_subject_verify() -> None:
    result = hooks().handle_webhook(post(envelope(body=EVENT, version="1", subject="SMS event")), NOW)
    assert len(result.events) == 1


def test_certificates_are_fetched_once_and_cached() -> None:
    fetcher = Fetcher()
    adapter = hooks(fetcher)
    for _ in range(3):
        adapter.handle_webhook(post(envelope(body=EVENT)), NOW)
    assert fetcher.urls == [CERT_URL]


def test_signed_non_json_notification_is_acknowledged_and_ignored() -> None:
    result = hooks().handle_webhook(post(envelope(body="hello from the console")), NOW)
    assert result.answer.status == 200 and result.events == ()


@pytest.mark.parametrize("tamper", ["message", "topic_field", "signature", "other_key", "version"])
def test_forged_messages_are_forbidden(tamper: str) -> None:
    doc = envelope(body=EVENT, key=OTHER_KEY if tamper == "other_key" else KEY)
    if tamper == "message":
        doc["Message"] = json.dumps({**EVENT, "eventType": "TEXT_BLOCKED"})
    elif tamper == "topic_field":
        doc["TopicArn"] = INBOUND_TOPIC  # an allowed topic, but not the one that was signed
    elif tamper == "signature":
        doc["Signature"] = "not base64!"
    elif tamper == "version":
        doc["SignatureVersion"] = "3"
    with pytest.raises(WebhookRejected) as caught:
        hooks().handle_webhook(post(doc), NOW)
    assert caught.value.status == 403


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example.com/SimpleNotificationService-1.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",  # not our region
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com/not-a-cert.txt",
    ],
)
def test_certificates_from_anywhere_but_sns_are_never_fetched(cert_url: str) -> None:
    fetcher = Fetcher()
    with pytest.raises(WebhookRejected) as caught:
        hooks(fetcher).handle_webhook(post(envelope(body=EVENT, cert_url=cert_url)), NOW)
    assert caught.value.status == 403
    assert fetcher.urls == []


def test_wrong_topic_is_forbidden_but_any_topic_passes_when_none_configured() -> None:
    doc = envelope(body=EVENT, topic="arn:aws:sns:us-east-1:999999999999:someone-else")
    with pytest.raises(WebhookRejected) as caught:
        hooks().handle_webhook(post(doc), NOW)
    assert caught.value.status == 403
    assert len(hooks(topics=None).handle_webhook(post(doc), NOW).events) == 1


def test_unsigned_or_expired_certificate_is_forbidden() -> None:
    doc = envelope(body=EVENT)
    del doc["Signature"]
    with pytest.raises(WebhookRejected) as caught:
        hooks().handle_webhook(post(doc), NOW)
    assert caught.value.status == 403
    expired = Fetcher(make_cert(KEY, days=30, start=datetime(2020, 1, 1, tzinfo=UTC)))
    with pytest.raises(WebhookRejected) as caught:
        hooks(expired).handle_webhook(post(envelope(body=EVENT)), NOW)
    assert caught.value.status == 403
    with pytest.raises(WebhookRejected) as caught:
        hooks(Fetcher(b"not a pem")).handle_webhook(post(envelope(body=EVENT)), NOW)
    assert caught.value.status == 403


def test_certificate_fetch_failure_asks_sns_to_retry() -> None:
    def broken(url: str) -> bytes:
        raise OSError("network down")

    adapter = AwsSmsAdapter(region=REGION, client=NoSends(), cert_fetcher=broken)
    with pytest.raises(WebhookRejected) as caught:
        adapter.handle_webhook(post(envelope(body=EVENT)), NOW)
    assert caught.value.status == 503


@pytest.mark.parametrize(
    "request_",
    [
        post(b"not json"),
        post(b"[1, 2]"),
        post({"Type": "Bogus"}),
        post(envelope(body=EVENT), **{"x-amz-sns-message-type": "SubscriptionConfirmation"}),
        WebhookRequest("GET", HOOK, {}, {}, b""),
    ],
)
def test_malformed_requests_are_bad_requests(request_: WebhookRequest) -> None:
    with pytest.raises(WebhookRejected) as caught:
        hooks().handle_webhook(request_, NOW)
    assert caught.value.status == 400


# --- fuzz ------------------------------------------------------------------------------------

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "eventType",
        "messageId",
        "context",
        "totalMessageParts",
        "eventTimestamp",
        "isFinal",
        "inboundMessageId",
        "originationNumber",
        "messageBody",
    ]
)
BODIES = st.dictionaries(st.one_of(KEYS, st.text(max_size=8)), JSON, max_size=8)
FUZZ_HOOKS = hooks()


def _outcome(request: WebhookRequest) -> WebhookResult | WebhookRejected:
    try:
        return FUZZ_HOOKS.handle_webhook(request, NOW)
    except WebhookRejected as rejected:
        return rejected


@FUZZ
@given(body=BODIES, kind=st.sampled_from(list(SIGNED)))
def test_fuzz_signed_messages_give_a_result_or_a_rejection(body: dict[str, Any], kind: str) -> None:
    outcome = _outcome(post(envelope(kind, body)))
    assert isinstance(outcome, WebhookResult | WebhookRejected)


@FUZZ
@given(
    doc=st.dictionaries(
        st.sampled_from(
            [*SIGNED["SubscriptionConfirmation"], "Signature", "SignatureVersion", "SigningCertURL", "Subject"]
        ),
        JSON,
        max_size=10,
    )
)
def test_fuzz_random_envelopes_are_rejected(doc: dict[str, Any]) -> None:
    assert isinstance(_outcome(post(json.dumps(doc).encode())), WebhookRejected)
