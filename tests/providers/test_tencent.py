"""Tencent Cloud SMS adapter against a stub speaking the 2021-01-11 API's wire format (TC3-HMAC-SHA256
signed, recomputed by the stub), and its receipt/reply callback side."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.providers.base import WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.adapters.providers.tencent import ANSWER_OK, TencentSmsAdapter
from chalicelib.domain.inbound import InboundKind
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.tencent_stub import TencentStub

SECRET_ID = "AKIDtestSecretId0123456789"
SECRET_KEY = "test-secret-key-0123456789"
APP_ID = "1400000001"
TEMPLATES = {"default": "100001", "welcome": "100002"}
NOW = datetime.now(UTC)


def message(
    to: str = "+8613912345678",
    text: str = "【乐乐玩具】欢迎加入乐乐会员!回T退订",
    mid: str = "msg-1",
    trigger: str = "welcome",
) -> OutboundMessage:
    return OutboundMessage(mid, "sms", to, text, "marketing", trigger=trigger)


@pytest.fixture(scope="module")
def stub() -> TencentStub:
    return TencentStub(SECRET_ID, SECRET_KEY, APP_ID, slow_seconds=1.0)


@pytest.fixture(scope="module")
def server(stub: TencentStub) -> Iterator[StubServer]:
    with serving(stub.handle) as running:
        yield running


def adapter(server: StubServer, **overrides: object) -> TencentSmsAdapter:
    config: dict[str, object] = {
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "sdk_app_id": APP_ID,
        "templates": TEMPLATES,
        "sign_name": "乐乐玩具",
        "endpoint": server.url,
        "timeout": 0.4,
    }
    config.update(overrides)
    return TencentSmsAdapter(**config)  # type: ignore[arg-type]


def send_error(server: StubServer, to: str, **overrides: object) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        adapter(server, **overrides).send(message(to=to), NOW)
    return caught.value


# --- send ------------------------------------------------------------------------------------


def test_send_carries_the_documented_fields_and_our_id_as_session_context(
    stub: TencentStub, server: StubServer
) -> None:
    result = adapter(server).send(message(mid="m-42"), NOW)
    assert result.provider_message_id.startswith("2433:")
    assert result.parts == 1  # the stub's Fee
    sent = stub.sent[-1]
    assert sent["PhoneNumberSet"] == ["+8613912345678"]
    assert sent["SmsSdkAppId"] == APP_ID
    assert sent["SignName"] == "乐乐玩具"
    assert sent["TemplateId"] == "100002"
    assert sent["TemplateParamSet"] == ["欢迎加入乐乐会员!回T退订"]
    assert sent["SessionContext"] == "m-42"
    request = server.requests[-1]
    assert request.headers["x-tc-action"] == "SendSms"
    assert request.headers["x-tc-region"] == "ap-guangzhou"
    assert request.headers["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")


def test_fee_is_the_parts_and_default_template(stub: TencentStub, server: StubServer) -> None:
    result = adapter(server).send(message(text="好" * 100, trigger="repurchase"), NOW)
    assert result.parts == 2
    assert stub.sent[-1]["TemplateId"] == "100001"
    assert stub.sent[-1]["SignName"] == "乐乐玩具"


def test_text_sign_wins_and_region_is_configurable(stub: TencentStub, server: StubServer) -> None:
    adapter(server, region="ap-beijing").send(message(text="【乐乐玩具南京店】新品到店"), NOW)
    assert stub.sent[-1]["SignName"] == "乐乐玩具南京店"
    assert server.requests[-1].headers["x-tc-region"] == "ap-beijing"


def test_wrong_key_fails_the_stubs_signature_check(server: StubServer) -> None:
    error = send_error(server, "+8613912345678", secret_key="not-the-key")
    assert error.code == "rejected"
    assert "AuthFailure.SignatureFailure" in str(error)
    error = send_error(server, "+8613912345678", secret_id="AKIDunknown")
    assert "AuthFailure.SecretIdNotFound" in str(error)


def test_no_sign_and_no_template_are_permanent(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, sign_name="").send(message(text="没有签名"), NOW)
    assert caught.value.code == "rejected"
    with pytest.raises(ProviderError) as caught:
        adapter(server, templates={"welcome": "1"}).send(message(trigger="repurchase"), NOW)
    assert caught.value.code == "rejected"


@pytest.mark.parametrize(
    ("to", "code", "retryable"),
    [
        ("+8613800000001", "invalid_address", False),  # InvalidParameterValue.IncorrectPhoneNumber
        ("+8613800000002", "opted_out", False),  # FailedOperation.PhoneNumberInBlacklist
        ("+8613800000003", "throttled", True),  # LimitExceeded.PhoneNumberDailyLimit
        ("+8613800000008", "throttled", True),  # RequestLimitExceeded
        ("+8613800000004", "unavailable", True),  # InternalError.OtherError
        ("+8613800000007", "unavailable", True),  # HTTP 502
        ("+8613800000009", "timeout", True),  # InternalError.Timeout
        ("+8613800000006", "rejected", False),  # FailedOperation.TemplateIncorrectOrUnapproved
    ],
)
def test_error_codes_map_to_our_failures(server: StubServer, to: str, code: str, retryable: bool) -> None:
    error = send_error(server, to)
    assert (error.code, error.retryable) == (code, retryable)
    assert error.marks_channel == (code in ("invalid_address", "opted_out"))


def test_a_request_rate_limit_names_no_wait(server: StubServer) -> None:
    assert send_error(server, "+8613800000008").retry_after is None  # RequestLimitExceeded


def test_timeout_when_the_stub_answers_too_late(server: StubServer) -> None:
    before = len(server.requests)
    started = time.monotonic()
    error = send_error(server, "+8613800000005")
    assert error.code == "timeout"
    assert error.retryable
    assert time.monotonic() - started < 1.0
    time.sleep(0.1)
    assert len(server.requests) == before + 1  # the SDK does not resend on its own: no idempotency


def test_awkward_text_survives_json_and_signing(stub: TencentStub, server: StubServer) -> None:
    text = '【乐乐玩具】a+b & c=d 100% "quoted" 🎉 换行\n结束'
    adapter(server).send(message(text=text, mid="id with spaces/+"), NOW)
    sent = stub.sent[-1]
    assert sent["TemplateParamSet"] == [text.removeprefix("【乐乐玩具】")]
    assert sent["SessionContext"] == "id with spaces/+"


def test_unreachable_endpoint_is_retryable() -> None:
    broken = TencentSmsAdapter(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        sdk_app_id=APP_ID,
        templates=TEMPLATES,
        sign_name="乐乐玩具",
        endpoint="http://127.0.0.1:9",
        timeout=0.3,
    )
    with pytest.raises(ProviderError) as caught:
        broken.send(message(), NOW)
    assert caught.value.code in ("unavailable", "timeout")
    assert caught.value.retryable


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_matches_session_context(stub: TencentStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(to="+8613700000001", mid="lost-1"), NOW)
    provider.send(message(to="+8613700000001", mid="other"), NOW)
    for status in stub.statuses:
        if status["PhoneNumber"] == "+8613700000001":
            status.update(ReportStatus="SUCCESS", Description="用户短信送达成功", UserReceiveTime=1740830405)
    found = provider.lookup(message(to="+8613700000001", mid="lost-1"), NOW)
    assert found is not None
    assert found.provider_message_id == sent.provider_message_id
    assert found.parts == 1
    (receipt,) = found.receipts
    assert receipt.status is MessageStatus.DELIVERED
    assert receipt.at == datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
    query = json.loads(server.requests[-1].body)
    assert query["PhoneNumber"] == "+8613700000001"
    assert query["SmsSdkAppId"] == APP_ID
    assert (query["Offset"], query["Limit"]) == (0, 100)
    assert query["BeginTime"] == int((NOW - timedelta(days=2)).timestamp())


def test_lookup_reports_failure_and_unknown(stub: TencentStub, server: StubServer) -> None:
    provider = adapter(server)
    provider.send(message(to="+8613700000002", mid="lost-2"), NOW)
    assert provider.lookup(message(to="+8613700000002", mid="lost-2"), NOW) is None  # no report yet
    stub.statuses[-1].update(ReportStatus="FAIL", Description="空号", UserReceiveTime=1740830405)
    found = provider.lookup(message(to="+8613700000002", mid="lost-2"), NOW)
    assert found is not None
    assert found.receipts[0].status is MessageStatus.UNDELIVERED
    assert found.receipts[0].reason == "空号"
    assert provider.lookup(message(to="+8613700000002", mid="never"), NOW) is None


def test_lookup_failure_raises_our_error(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, secret_key="wrong").lookup(message(), NOW)
    assert caught.value.code == "rejected"


# --- status query (reconciliation) -------------------------------------------------------------


def test_query_status_matches_the_serial_among_the_numbers_reports(stub: TencentStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(to="+8613700000021", mid="q-1"), NOW)
    other = provider.send(message(to="+8613700000021", mid="q-2"), NOW)
    assert provider.can_query_status
    assert provider.query_status("q-1", sent.provider_message_id, "+8613700000021", NOW, NOW) is None  # no report
    stub.report(other.provider_message_id, delivered=False, description="空号")
    assert provider.query_status("q-1", sent.provider_message_id, "+8613700000021", NOW, NOW) is None
    stub.report(sent.provider_message_id)
    receipt = provider.query_status("q-1", sent.provider_message_id, "+8613700000021", NOW, NOW)
    assert receipt is not None
    assert (receipt.message_id, receipt.provider_message_id, receipt.status) == (
        "q-1",
        sent.provider_message_id,
        MessageStatus.DELIVERED,
    )
    query = json.loads(server.requests[-1].body)
    assert query["BeginTime"] == int((NOW - timedelta(minutes=1)).timestamp())
    assert query["EndTime"] == int(NOW.timestamp())
    failed = provider.query_status("q-2", other.provider_message_id, "+8613700000021", NOW, NOW)
    assert failed is not None and (failed.status, failed.reason) == (MessageStatus.UNDELIVERED, "空号")


def test_query_status_of_a_send_older_than_tencent_keeps_is_unknown(server: StubServer) -> None:
    before = len(server.requests)
    old = NOW - timedelta(days=8)
    assert adapter(server).query_status("q-3", "2433:1", "+8613700000022", old, NOW) is None
    assert len(server.requests) == before  # not even asked


# --- webhook ---------------------------------------------------------------------------------

HOOK = "https://api.example.com/webhooks/tencent/s3cr3t"


def hook(body: object, method: str = "POST", source_ip: str | None = "203.205.1.2") -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest(method, HOOK, {"content-type": "application/json"}, {}, raw, source_ip)


def webhook_adapter(**overrides: object) -> TencentSmsAdapter:
    config: dict[str, object] = {
        "secret_id": SECRET_ID,
        "secret_key": SECRET_KEY,
        "sdk_app_id": APP_ID,
        "templates": TEMPLATES,
        "client": object(),  # no API calls on the webhook side
    }
    config.update(overrides)
    return TencentSmsAdapter(**config)  # type: ignore[arg-type]


RECEIPTS = [
    {
        "user_receive_time": "2025-03-01 20:00:05",
        "nationcode": "86",
        "mobile": "13912345678",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "2433:0000000000000000001",
        "ext": "msg-1",
    },
    {
        "user_receive_time": "2025-03-01 20:01:00",
        "nationcode": "86",
        "mobile": "13912345679",
        "report_status": "FAIL",
        "errmsg": "MK:0001",
        "description": "空号",
        "sid": "2433:0000000000000000002",
    },
]
REPLY = {"extend": "", "mobile": "13912345678", "nationcode": "86", "sign": "乐乐玩具", "text": "T", "time": 1740832200}


def test_receipts_batch() -> None:
    result = webhook_adapter().handle_webhook(hook(RECEIPTS), NOW)
    assert result.answer.status == 200
    assert json.loads(result.answer.body) == {"result": 0, "errmsg": "OK"}
    assert result.answer.body == ANSWER_OK
    delivered, failed = result.events
    assert delivered.kind is InboundKind.RECEIPT
    assert delivered.channel is Channel.SMS
    assert delivered.status is MessageStatus.DELIVERED
    assert delivered.event_id == "2433:0000000000000000001:SUCCESS"
    assert delivered.provider_message_id == "2433:0000000000000000001"
    assert delivered.message_id == "msg-1"  # ext = our SessionContext
    assert delivered.at == datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
    assert delivered.reason is None
    assert failed.status is MessageStatus.UNDELIVERED
    assert failed.reason == "MK:0001"
    assert failed.message_id is None
    assert failed.event_id.endswith(":FAIL")
    assert json.loads(failed.raw)["description"] == "空号"


def test_reply_object() -> None:
    (event,) = webhook_adapter().handle_webhook(hook(REPLY), NOW).events
    assert event.kind is InboundKind.REPLY
    assert event.sender == "+8613912345678"
    assert event.text == "T"
    assert event.at == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    digest = hashlib.sha256(b"86|13912345678|T").hexdigest()[:24]
    assert event.event_id == f"reply:1740832200:{digest}"
    assert "13912345678" not in event.event_id
    # Tencent's retry of the same reply dedupes; another text at the same second does not.
    again = webhook_adapter().handle_webhook(hook(REPLY), NOW).events[0]
    other = webhook_adapter().handle_webhook(hook({**REPLY, "text": "TD"}), NOW).events[0]
    assert again.event_id == event.event_id != other.event_id


def test_reply_time_as_digits_and_single_receipt_object() -> None:
    (event,) = webhook_adapter().handle_webhook(hook({**REPLY, "time": "1740832200"}), NOW).events
    assert event.at == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    (receipt,) = webhook_adapter().handle_webhook(hook(RECEIPTS[1]), NOW).events
    assert receipt.status is MessageStatus.UNDELIVERED


def test_ip_allowlist() -> None:
    guarded = webhook_adapter(ip_allowlist=["203.205.0.0/16"])
    assert guarded.handle_webhook(hook(RECEIPTS), NOW).answer.status == 200
    for source in ("10.0.0.1", None, "::1", "garbage"):
        with pytest.raises(WebhookRejected) as caught:
            guarded.handle_webhook(hook(RECEIPTS, source_ip=source), NOW)
        assert caught.value.status == 403


def test_too_many_receipts_is_400() -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_adapter(max_items=3).handle_webhook(hook(RECEIPTS * 2), NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xc3\x28",
        b'"a string"',
        b"[1]",
        b'{"mobile": "139"}',  # neither a reply nor a receipt
        b'[{"sid": "1", "report_status": "MAYBE"}]',
        b'[{"report_status": "SUCCESS"}]',  # no sid
        b'{"text": "T", "mobile": "13912345678", "nationcode": "86"}',  # no time
        b'{"text": "T", "mobile": "13912345678", "nationcode": "86", "time": -5}',
        b'{"text": "T", "mobile": "abc", "nationcode": "86", "time": 1}',
        b'{"text": 7, "mobile": "13912345678", "nationcode": "86", "time": 1}',
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_adapter().handle_webhook(hook(body), NOW)
    assert caught.value.status == 400


def test_get_is_refused() -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_adapter().handle_webhook(hook(b"", method="GET"), NOW)
    assert caught.value.status == 400


def test_from_secrets_reads_the_documented_names(server: StubServer, stub: TencentStub) -> None:
    secrets = {
        "tencent_secret_id": SECRET_ID,
        "tencent_secret_key": SECRET_KEY,
        "tencent_sdk_app_id": APP_ID,
        "tencent_sign_name": "乐乐玩具",
        "tencent_templates": json.dumps({"default": 100009}),
        "tencent_endpoint": server.url,
        "tencent_region": "ap-nanjing",
        "tencent_ip_allowlist": "203.205.0.0/16",
    }
    provider = TencentSmsAdapter.from_secrets(secrets, timeout=0.5)
    provider.send(message(trigger="birthday"), NOW)
    assert stub.sent[-1]["TemplateId"] == "100009"
    assert server.requests[-1].headers["x-tc-region"] == "ap-nanjing"
    assert len(provider.allowlist) == 1
    webhook_only = TencentSmsAdapter.from_secrets({"tencent_secret_id": SECRET_ID})
    assert webhook_only.send_unavailable is not None and "secret key" in webhook_only.send_unavailable
    with pytest.raises(ProviderError, match="not configured"):
        webhook_only.send(OutboundMessage("m1", "sms", "+8613800000000", "hi", "transactional"), NOW)
    with pytest.raises(ValueError):
        TencentSmsAdapter.from_secrets({**secrets, "tencent_templates": "nope"})


# --- fuzz ------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@st.composite
def _near(draw: st.DrawFn, valid: Mapping[str, object]) -> dict[str, object]:
    """An item close to a valid one: up to three of its fields dropped or replaced by random JSON."""
    item = dict(valid)
    for key in draw(st.lists(st.sampled_from(sorted(valid)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del item[key]
        else:
            item[key] = draw(JSON)
    return item


SHAPED = st.lists(_near(RECEIPTS[0]), max_size=4) | _near(REPLY)


def _outcome(provider: TencentSmsAdapter, request: WebhookRequest) -> None:
    try:
        result = provider.handle_webhook(request, NOW)
    except WebhookRejected as rejected:
        assert rejected.status in (400, 403, 413)
        return
    assert isinstance(result, WebhookResult)
    for event in result.events:
        assert event.at.tzinfo is not None
        assert event.event_id


@FUZZ
@given(data=JSON)
def test_fuzz_random_json(data: object) -> None:
    _outcome(webhook_adapter(), hook(json.dumps(data).encode()))


@FUZZ
@given(data=SHAPED)
def test_fuzz_receipt_and_reply_shaped_bodies(data: object) -> None:
    _outcome(webhook_adapter(), hook(json.dumps(data).encode()))
