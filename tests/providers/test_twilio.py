"""Twilio SMS adapter against a stub speaking Twilio's REST wire format, and its webhook side."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from chalicelib.adapters.providers.base import WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.adapters.providers.http_json import retry_after_seconds
from chalicelib.adapters.providers.twilio import TWIML_EMPTY, TwilioSmsAdapter
from chalicelib.domain.inbound import InboundKind
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.twilio_stub import TwilioStub

SID = "AC" + "1" * 32
TOKEN = "test-auth-token-0123456789abcdef"
HOOK = "https://hooks.example.com/webhooks/twilio/s3cr3t-path-token"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def message(to: str = "+14155550100", text: str = "Hello from the toy store", mid: str = "msg-1") -> OutboundMessage:
    return OutboundMessage(mid, "sms", to, text, "transactional", trigger="welcome", locale="en")


@pytest.fixture(scope="module")
def stub() -> TwilioStub:
    return TwilioStub(SID, TOKEN, slow_seconds=1.0)


@pytest.fixture(scope="module")
def server(stub: TwilioStub) -> Iterator[StubServer]:
    with serving(stub.handle) as running:
        yield running


def adapter(server: StubServer, **overrides: object) -> TwilioSmsAdapter:
    config: dict[str, object] = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "from_number": "+14155550199",
        "public_webhook_url": HOOK,
        "base_url": server.url,
        "timeout": 0.5,
    }
    config.update(overrides)
    return TwilioSmsAdapter(**config)  # type: ignore[arg-type]


# --- send ------------------------------------------------------------------------------------


def test_send_posts_the_documented_form_and_records_sid_and_segments(stub: TwilioStub, server: StubServer) -> None:
    result = adapter(server).send(message(mid="m/1 ?"), NOW)
    assert result.provider_message_id.startswith("SM")
    assert result.parts == 1
    form = stub.sent[-1]
    assert form["To"] == "+14155550100"
    assert form["From"] == "+14155550199"
    assert form["Body"] == "Hello from the toy store"
    assert "MessagingServiceSid" not in form
    # Our id travels back, URL-quoted, in the signed StatusCallback URL.
    assert form["StatusCallback"] == HOOK + "?message_id=m%2F1+%3F"
    request = server.requests[-1]
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")


def test_long_text_reports_twilio_segment_count(server: StubServer) -> None:
    result = adapter(server).send(message(text="x" * 400), NOW)
    assert result.parts == 3


def test_messaging_service_send_counts_parts_itself_when_twilio_says_zero(stub: TwilioStub, server: StubServer) -> None:
    sender = adapter(server, from_number=None, messaging_service_sid="MG" + "2" * 32)
    result = sender.send(message(text="玩具到货啦" * 20), NOW)  # 100 UCS-2 chars → 2 parts
    assert stub.sent[-1]["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in stub.sent[-1]
    assert result.parts == 2


def test_wrong_credentials_are_a_permanent_rejection(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, auth_token="wrong").send(message(), NOW)
    assert caught.value.code == "rejected" and not caught.value.retryable


@pytest.mark.parametrize(
    ("to", "code", "retryable"),
    [
        ("+15005550001", "invalid_address", False),
        ("+15005550009", "invalid_address", False),
        ("+15005550004", "opted_out", False),
        ("+15005550429", "throttled", True),
        ("+15005550500", "unavailable", True),
        ("+15005550400", "rejected", False),
        ("+15005550666", "timeout", True),
    ],
)
def test_errors_map_to_our_codes(server: StubServer, to: str, code: str, retryable: bool) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server).send(message(to=to), NOW)
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert to not in str(caught.value)  # no full phone number in the error text


def test_slow_answer_is_a_timeout(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, timeout=0.2).send(message(to="+15005550408"), NOW)
    assert caught.value.code == "timeout" and caught.value.retryable


def test_unreachable_api_is_unavailable() -> None:
    with serving(lambda request: None) as gone:  # type: ignore[arg-type,return-value]
        url = gone.url
    sender = TwilioSmsAdapter(
        account_sid=SID, auth_token=TOKEN, from_number="+14155550199", public_webhook_url=HOOK, base_url=url
    )
    with pytest.raises(ProviderError) as caught:
        sender.send(message(), NOW)
    assert caught.value.code == "unavailable" and caught.value.retryable


# --- status query (reconciliation) -------------------------------------------------------------


def test_query_status_fetches_the_message_and_reports_its_final_status(stub: TwilioStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(mid="q-1"), NOW)
    assert provider.can_query_status
    assert provider.query_status("q-1", sent.provider_message_id, "+14155550100", NOW, NOW) is None  # queued
    assert server.requests[-1].method == "GET"
    assert server.requests[-1].path == f"{stub.path[:-5]}/{sent.provider_message_id}.json"
    stub.deliver(sent.provider_message_id, "sent")
    assert provider.query_status("q-1", sent.provider_message_id, "+14155550100", NOW, NOW) is None  # on its way
    stub.deliver(sent.provider_message_id, "delivered")
    receipt = provider.query_status("q-1", sent.provider_message_id, "+14155550100", NOW, NOW)
    assert receipt is not None
    assert (receipt.message_id, receipt.status, receipt.reason) == ("q-1", MessageStatus.DELIVERED, None)
    assert receipt.at == datetime(2023, 8, 24, 5, 2, 10, tzinfo=UTC)


def test_query_status_carries_the_error_code_of_an_undelivered_message(stub: TwilioStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(mid="q-2"), NOW)
    stub.deliver(sent.provider_message_id, "undelivered", 30003)
    receipt = provider.query_status("q-2", sent.provider_message_id, "+14155550100", NOW, NOW)
    assert receipt is not None and (receipt.status, receipt.reason) == (MessageStatus.UNDELIVERED, "30003")
    assert provider.query_status("q-3", "SM" + "f" * 32, "+14155550100", NOW, NOW) is None  # Twilio has none


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("12", NOW) == 12.0
    assert retry_after_seconds("Sat, 01 Mar 2025 12:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_from_secrets_and_config_checks() -> None:
    made = TwilioSmsAdapter.from_secrets(
        {"twilio_account_sid": SID, "twilio_auth_token": TOKEN, "twilio_messaging_service_sid": "MG1"},
        public_webhook_url=HOOK,
    )
    assert made.messaging_service_sid == "MG1" and made.from_number is None
    assert not made.can_lookup and not made.dedupes
    webhook_only = TwilioSmsAdapter.from_secrets({"twilio_auth_token": TOKEN})
    assert webhook_only.send_unavailable is not None and "account sid" in webhook_only.send_unavailable
    with pytest.raises(ProviderError, match="not configured"):
        webhook_only.send(OutboundMessage("m1", "sms", "+15005550006", "hi", "transactional"), NOW)
    with pytest.raises(ValueError):
        TwilioSmsAdapter(account_sid=SID, auth_token="", from_number="+1", public_webhook_url=HOOK)


# --- webhooks --------------------------------------------------------------------------------

HOOKS = TwilioSmsAdapter(account_sid=SID, auth_token=TOKEN, from_number="+14155550199", public_webhook_url=HOOK)


def signed(params: dict[str, str], url: str = HOOK, token: str = TOKEN, **extra_headers: str) -> WebhookRequest:
    signature = RequestValidator(token).compute_signature(url, params)
    query = dict(parse_qsl(url.partition("?")[2]))
    headers = {"x-twilio-signature": signature, "content-type": "application/x-www-form-urlencoded", **extra_headers}
    return WebhookRequest("POST", url, headers, query, urlencode(params).encode())


def status(sid: str, state: str, **more: str) -> dict[str, str]:
    return {
        "AccountSid": SID,
        "ApiVersion": "2010-04-01",
        "From": "+14155550199",
        "To": "+14155550100",
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": state,
        "MessageStatus": state,
        **more,
    }


def test_delivered_status_callback_is_a_receipt_with_our_id() -> None:
    url = HOOKS.status_callback_url("msg-42")
    result = HOOKS.handle_webhook(signed(status("SM1", "delivered"), url), NOW)
    assert result.answer.status == 200
    (event,) = result.events
    assert event.kind is InboundKind.RECEIPT
    assert event.status is MessageStatus.DELIVERED
    assert event.event_id == "SM1:delivered"
    assert event.message_id == "msg-42"
    assert event.provider_message_id == "SM1"
    assert event.channel is Channel.SMS and event.provider == "twilio"
    assert event.at == NOW and event.reason is None
    assert json.loads(event.raw)["MessageStatus"] == "delivered"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("undelivered", MessageStatus.UNDELIVERED),
        ("failed", MessageStatus.FAILED),
        ("read", MessageStatus.READ),
        ("sent", MessageStatus.SENT),
    ],
)
def test_status_callbacks_map_statuses_and_error_codes(state: str, expected: MessageStatus) -> None:
    extra = {"ErrorCode": "30003"} if state in ("undelivered", "failed") else {}
    result = HOOKS.handle_webhook(signed(status("SM2", state, **extra)), NOW)
    (event,) = result.events
    assert event.status is expected
    assert event.event_id == f"SM2:{state}"
    assert event.message_id is None  # no query string on this URL: correlate by MessageSid
    assert event.reason == (extra.get("ErrorCode"))


@pytest.mark.parametrize("state", ["queued", "accepted", "sending", "scheduled", "brand_new_status"])
def test_interim_and_unknown_statuses_are_acknowledged_without_events(state: str) -> None:
    result = HOOKS.handle_webhook(signed(status("SM3", state)), NOW)
    assert result.answer.status == 200 and result.events == ()


def test_unknown_extra_params_do_not_break_parsing() -> None:
    params = status("SM4", "delivered", RawDlrDoneDate="2503011200", ChannelToAddress="+1415555XXXX", Foo="")
    (event,) = HOOKS.handle_webhook(signed(params), NOW).events
    assert event.status is MessageStatus.DELIVERED


def test_inbound_message_is_a_reply_answered_with_twiml() -> None:
    params = {
        "ToCountry": "US",
        "SmsMessageSid": "SM9",
        "NumMedia": "0",
        "SmsSid": "SM9",
        "SmsStatus": "received",
        "Body": "STOP",
        "To": "+14155550199",
        "NumSegments": "1",
        "MessageSid": "SM9",
        "AccountSid": SID,
        "From": "+14155550100",
        "ApiVersion": "2010-04-01",
        "OptOutType": "STOP",
    }
    result = HOOKS.handle_webhook(signed(params), NOW)
    assert result.answer.status == 200
    assert result.answer.body == TWIML_EMPTY
    assert result.answer.content_type == "text/xml"
    (event,) = result.events
    assert event.kind is InboundKind.REPLY  # OptOutType is left to the keyword router
    assert event.event_id == "SM9"
    assert event.sender == "+14155550100"
    assert event.text == "STOP"
    assert event.parts == 1
    assert json.loads(event.raw)["OptOutType"] == "STOP"


def test_signature_over_the_configured_url_is_accepted_when_the_route_sees_another() -> None:
    params = status("SM5", "delivered")
    request = signed(params)  # signed over HOOK
    behind_proxy = WebhookRequest("POST", "http://internal:8080/webhooks/twilio/x", request.headers, {}, request.body)
    assert len(HOOKS.handle_webhook(behind_proxy, NOW).events) == 1


def test_missing_signature_is_forbidden() -> None:
    request = signed(status("SM6", "delivered"))
    unsigned = WebhookRequest("POST", HOOK, {}, {}, request.body)
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.handle_webhook(unsigned, NOW)
    assert caught.value.status == 403


@pytest.mark.parametrize("forgery", ["token", "body", "url"])
def test_forged_signatures_are_forbidden(forgery: str) -> None:
    params = status("SM7", "delivered")
    if forgery == "token":
        request = signed(params, token="not-our-token")
    elif forgery == "url":
        request = signed(params, url="https://evil.example.com/webhooks/twilio/s3cr3t-path-token")
        request = WebhookRequest("POST", HOOK, request.headers, {}, request.body)
    else:
        good = signed(params)
        tampered = urlencode({**params, "MessageStatus": "failed"}).encode()
        request = WebhookRequest("POST", HOOK, good.headers, {}, tampered)
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.handle_webhook(request, NOW)
    assert caught.value.status == 403


def test_forged_message_id_in_query_is_forbidden() -> None:
    request = signed(status("SM8", "delivered"), HOOKS.status_callback_url("msg-1"))
    url = HOOKS.status_callback_url("msg-2")
    moved = WebhookRequest("POST", url, request.headers, {"message_id": "msg-2"}, request.body)
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.handle_webhook(moved, NOW)
    assert caught.value.status == 403


def test_malformed_signed_bodies_are_bad_requests() -> None:
    no_sid = {"MessageStatus": "delivered", "To": "+14155550100"}
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.handle_webhook(signed(no_sid), NOW)
    assert caught.value.status == 400
    bad_utf8 = WebhookRequest("POST", HOOK, {"x-twilio-signature": "abc"}, {}, b"Body=\xff\xfe")
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.handle_webhook(bad_utf8, NOW)
    assert caught.value.status == 400
    with pytest.raises(WebhookRejected) as caught:
        HOOKS.handle_webhook(WebhookRequest("GET", HOOK, {}, {}, b""), NOW)
    assert caught.value.status == 400


# --- fuzz ------------------------------------------------------------------------------------

FIELD_NAMES = st.sampled_from(
    ["MessageSid", "SmsSid", "MessageStatus", "Body", "From", "To", "ErrorCode", "NumSegments", "OptOutType"]
)
FORMS = st.dictionaries(st.one_of(FIELD_NAMES, st.text(max_size=12)), st.text(max_size=40), max_size=10)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(request: WebhookRequest) -> WebhookResult | WebhookRejected:
    try:
        return HOOKS.handle_webhook(request, NOW)
    except WebhookRejected as rejected:
        return rejected


@FUZZ
@given(form=FORMS)
def test_fuzz_signed_forms_give_a_result_or_a_rejection(form: dict[str, str]) -> None:
    outcome = _outcome(signed(form))
    assert isinstance(outcome, WebhookResult | WebhookRejected)
    if isinstance(outcome, WebhookResult):
        for event in outcome.events:
            assert event.kind in (InboundKind.RECEIPT, InboundKind.REPLY)


def test_our_id_survives_the_route_re_encoding_the_query() -> None:
    callback = HOOKS.status_callback_url("m 1/ü&x=y")
    request = signed(status("SM10", "delivered"), callback)
    # The webhook route rebuilds the URL from the parsed query with urlencode.
    rebuilt = HOOK + "?" + urlencode(list(request.query.items()))
    (event,) = HOOKS.handle_webhook(
        WebhookRequest("POST", rebuilt, request.headers, request.query, request.body), NOW
    ).events
    assert event.message_id == "m 1/ü&x=y"
