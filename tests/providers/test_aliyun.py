"""Alibaba Cloud SMS adapter against a stub speaking dysmsapi's RPC wire format (ACS3-HMAC-SHA256
signed, recomputed by the stub), and its SmsReport/SmsUp webhook side."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.providers.aliyun import (
    ANSWER_OK,
    BEIJING,
    AliyunSmsAdapter,
    alibaba_number,
    e164_from_alibaba,
)
from chalicelib.adapters.providers.base import WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.domain.inbound import InboundKind
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.aliyun_stub import AliyunStub

AK = "LTAI5tTestAccessKeyId"
SECRET = "test-access-key-secret-0123456789"
TEMPLATES = {"default": "SMS_100000001", "welcome": "SMS_100000002"}
NOW = datetime.now(UTC)


def message(
    to: str = "+8613912345678",
    text: str = "【乐乐玩具】欢迎加入乐乐会员!回T退订",
    mid: str = "msg-1",
    trigger: str = "welcome",
) -> OutboundMessage:
    return OutboundMessage(mid, "sms", to, text, "marketing", trigger=trigger)


@pytest.fixture(scope="module")
def stub() -> AliyunStub:
    return AliyunStub(AK, SECRET, slow_seconds=1.0)


@pytest.fixture(scope="module")
def server(stub: AliyunStub) -> Iterator[StubServer]:
    with serving(stub.handle) as running:
        yield running


def adapter(server: StubServer, **overrides: object) -> AliyunSmsAdapter:
    config: dict[str, object] = {
        "access_key_id": AK,
        "access_key_secret": SECRET,
        "templates": TEMPLATES,
        "sign_name": "乐乐玩具",
        "endpoint": server.url,
        "timeout": 0.4,
    }
    config.update(overrides)
    return AliyunSmsAdapter(**config)  # type: ignore[arg-type]


def send_error(server: StubServer, to: str, **overrides: object) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        adapter(server, **overrides).send(message(to=to), NOW)
    return caught.value


# --- send ------------------------------------------------------------------------------------


def test_send_carries_the_documented_fields_and_our_id_as_outid(stub: AliyunStub, server: StubServer) -> None:
    result = adapter(server).send(message(mid="m-42"), NOW)
    assert result.provider_message_id.endswith("^0")
    assert result.parts == 1
    sent = stub.sent[-1]
    assert sent["PhoneNumbers"] == "13912345678"  # mainland: bare 11 digits
    assert sent["SignName"] == "乐乐玩具"
    assert sent["TemplateCode"] == "SMS_100000002"  # the welcome trigger's template
    assert json.loads(sent["TemplateParam"]) == {"content": "欢迎加入乐乐会员!回T退订"}  # sign cut off
    assert sent["OutId"] == "m-42"
    request = server.requests[-1]
    assert request.headers["x-acs-action"] == "SendSms"
    assert request.headers["authorization"].startswith("ACS3-HMAC-SHA256 Credential=" + AK)


def test_sign_from_config_when_text_has_none_and_default_template(stub: AliyunStub, server: StubServer) -> None:
    adapter(server, template_variable="msg").send(message(text="积分变动通知", trigger="points_changed"), NOW)
    sent = stub.sent[-1]
    assert sent["SignName"] == "乐乐玩具"
    assert sent["TemplateCode"] == "SMS_100000001"
    assert json.loads(sent["TemplateParam"]) == {"msg": "积分变动通知"}


def test_text_sign_wins_over_config(stub: AliyunStub, server: StubServer) -> None:
    adapter(server).send(message(text="【乐乐玩具南京店】新品到店"), NOW)
    assert stub.sent[-1]["SignName"] == "乐乐玩具南京店"


def test_international_number_keeps_its_country_code(stub: AliyunStub, server: StubServer) -> None:
    result = adapter(server).send(message(to="+85291234567", text="Hello"), NOW)
    assert stub.sent[-1]["PhoneNumbers"] == "85291234567"
    assert result.parts == 1


def test_long_china_text_counts_the_sign(server: StubServer) -> None:
    # 【乐乐玩具】 is 6 characters: 64 + 6 = 70 → one part; 65 + 6 = 71 → two.
    assert adapter(server).send(message(text="【乐乐玩具】" + "好" * 64), NOW).parts == 1
    assert adapter(server).send(message(text="【乐乐玩具】" + "好" * 65), NOW).parts == 2


def test_wrong_secret_fails_the_stubs_signature_check(server: StubServer) -> None:
    error = send_error(server, "+8613912345678", access_key_secret="not-the-secret")
    assert error.code == "rejected"
    assert "SignatureDoesNotMatch" in str(error)
    assert not error.retryable


def test_no_sign_and_no_template_are_permanent(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, sign_name="").send(message(text="没有签名"), NOW)
    assert caught.value.code == "rejected"
    with pytest.raises(ProviderError) as caught:
        adapter(server, templates={"welcome": "SMS_1"}).send(message(trigger="repurchase"), NOW)
    assert caught.value.code == "rejected"


@pytest.mark.parametrize(
    ("to", "code", "retryable"),
    [
        ("+8613800000001", "invalid_address", False),  # isv.MOBILE_NUMBER_ILLEGAL
        ("+8613800000002", "throttled", True),  # isv.BUSINESS_LIMIT_CONTROL
        ("+8613800000003", "throttled", True),  # HTTP 400 Throttling.User
        ("+8613800000004", "unavailable", True),  # HTTP 503 ServiceUnavailable
        ("+8613800000008", "unavailable", True),  # isp.SYSTEM_ERROR
        ("+8613800000006", "rejected", False),  # isv.SMS_TEMPLATE_ILLEGAL
        ("+8613800000007", "rejected", False),  # isv.BLACK_KEY_CONTROL_LIMIT: a blocked keyword
        ("+8613800000009", "timeout", True),  # HTTP 502 HTML: unreadable, accepted or not unknown
    ],
)
def test_error_codes_map_to_our_failures(server: StubServer, to: str, code: str, retryable: bool) -> None:
    error = send_error(server, to)
    assert (error.code, error.retryable) == (code, retryable)


def test_operations_can_map_a_code_to_opted_out(server: StubServer) -> None:
    error = send_error(server, "+8613800000007", error_codes={"isv.BLACK_KEY_CONTROL_LIMIT": "opted_out"})
    assert error.code == "opted_out"
    assert error.marks_channel
    with pytest.raises(ValueError, match="unknown failure code"):
        adapter(server, error_codes={"x": "gone"})


def test_timeout_when_the_stub_answers_too_late(server: StubServer) -> None:
    before = len(server.requests)
    started = time.monotonic()
    error = send_error(server, "+8613800000005")
    assert error.code == "timeout"
    assert error.retryable
    assert time.monotonic() - started < 1.0
    time.sleep(0.1)
    assert len(server.requests) == before + 1  # the SDK does not resend on its own: no idempotency


def test_awkward_text_survives_query_encoding_and_signing(stub: AliyunStub, server: StubServer) -> None:
    text = "【乐乐玩具】a+b & c=d 100% ~/?#[] 🎉 换行\n结束"
    adapter(server).send(message(text=text, mid="id with spaces/+"), NOW)
    sent = stub.sent[-1]
    assert json.loads(sent["TemplateParam"]) == {"content": text.removeprefix("【乐乐玩具】")}
    assert sent["OutId"] == "id with spaces/+"


def test_unreachable_endpoint_is_unavailable() -> None:
    config = {"access_key_id": AK, "access_key_secret": SECRET, "templates": TEMPLATES, "sign_name": "乐乐玩具"}
    broken = AliyunSmsAdapter(**config, endpoint="http://127.0.0.1:9", timeout=0.3)  # type: ignore[arg-type]
    with pytest.raises(ProviderError) as caught:
        broken.send(message(), NOW)
    assert caught.value.code in ("unavailable", "timeout")
    assert caught.value.retryable


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_finds_a_sent_message_by_outid(stub: AliyunStub, server: StubServer) -> None:
    provider = adapter(server)
    provider.send(message(to="+8613700000001", mid="lost-1"), NOW)
    provider.send(message(to="+8613700000001", mid="other"), NOW)
    found = provider.lookup(message(to="+8613700000001", mid="lost-1"), NOW)
    assert found is not None
    assert found.provider_message_id == "outid:lost-1"
    assert found.parts == 1
    assert found.receipts == ()  # SendStatus 1: waiting for the carrier
    query = server.requests[-1].query
    assert query["PhoneNumber"] == "13700000001"
    assert query["SendDate"] == NOW.astimezone(BEIJING).strftime("%Y%m%d")
    assert query["PageSize"] == "50"


def test_lookup_reports_the_delivery_alibaba_knows(stub: AliyunStub, server: StubServer) -> None:
    provider = adapter(server)
    provider.send(message(to="+8613700000002", mid="lost-2"), NOW)
    record = next(r for r in stub.records if r["OutId"] == "lost-2")
    record.update(SendStatus=3, ErrCode="DELIVERED", ReceiveDate="2025-03-01 20:00:05")
    found = provider.lookup(message(to="+8613700000002", mid="lost-2"), NOW)
    assert found is not None
    (receipt,) = found.receipts
    assert receipt.status is MessageStatus.DELIVERED
    assert receipt.at == datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
    record.update(SendStatus=2, ErrCode="MK:0001")
    found = provider.lookup(message(to="+8613700000002", mid="lost-2"), NOW)
    assert found is not None
    assert found.receipts[0].status is MessageStatus.UNDELIVERED
    assert found.receipts[0].reason == "MK:0001"


def test_lookup_of_a_message_never_sent_is_none(server: StubServer) -> None:
    assert adapter(server).lookup(message(to="+8613700000003", mid="never"), NOW) is None


def test_lookup_failure_raises_our_error(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, access_key_secret="wrong").lookup(message(), NOW)
    assert caught.value.code == "rejected"


# --- status query (reconciliation) -------------------------------------------------------------


def test_query_status_asks_by_number_send_date_and_bizid(stub: AliyunStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(to="+8613700000011", mid="q-1"), NOW)
    provider.send(message(to="+8613700000011", mid="q-2"), NOW)
    assert provider.can_query_status
    assert provider.query_status("q-1", sent.provider_message_id, "+8613700000011", NOW, NOW) is None  # waiting
    query = server.requests[-1].query
    assert (query["PhoneNumber"], query["BizId"]) == ("13700000011", sent.provider_message_id)
    assert query["SendDate"] == NOW.astimezone(BEIJING).strftime("%Y%m%d")
    stub.report(sent.provider_message_id)
    receipt = provider.query_status("q-1", sent.provider_message_id, "+8613700000011", NOW, NOW)
    assert receipt is not None
    assert (receipt.message_id, receipt.provider_message_id, receipt.status) == (
        "q-1",
        sent.provider_message_id,
        MessageStatus.DELIVERED,
    )


def test_query_status_reports_a_failed_delivery_with_its_code(stub: AliyunStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(to="+8613700000012", mid="q-3"), NOW)
    stub.report(sent.provider_message_id, delivered=False, err_code="MK:0001")
    receipt = provider.query_status("q-3", sent.provider_message_id, "+8613700000012", NOW, NOW)
    assert receipt is not None and (receipt.status, receipt.reason) == (MessageStatus.UNDELIVERED, "MK:0001")


def test_query_status_of_a_send_found_by_lookup_goes_by_outid(stub: AliyunStub, server: StubServer) -> None:
    provider = adapter(server)
    sent = provider.send(message(to="+8613700000013", mid="q-4"), NOW)
    stub.report(sent.provider_message_id)
    receipt = provider.query_status("q-4", "outid:q-4", "+8613700000013", NOW, NOW)
    assert receipt is not None and receipt.status is MessageStatus.DELIVERED
    assert "BizId" not in server.requests[-1].query
    assert provider.query_status("never", "outid:never", "+8613700000013", NOW, NOW) is None


# --- webhook ---------------------------------------------------------------------------------

HOOK = "https://api.example.com/webhooks/aliyun/s3cr3t"


def hook(body: object, method: str = "POST", source_ip: str | None = "140.205.1.2") -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest(method, HOOK, {"content-type": "application/json"}, {}, raw, source_ip)


def webhook_adapter(**overrides: object) -> AliyunSmsAdapter:
    config: dict[str, object] = {
        "access_key_id": AK,
        "access_key_secret": SECRET,
        "templates": TEMPLATES,
        "sign_name": "乐乐玩具",
        "client": object(),  # no API calls on the webhook side
    }
    config.update(overrides)
    return AliyunSmsAdapter(**config)  # type: ignore[arg-type]


RECEIPTS = [
    {
        "phone_number": "13912345678",
        "send_time": "2025-03-01 20:00:00",
        "report_time": "2025-03-01 20:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "2",
        "biz_id": "900001^0",
        "out_id": "msg-1",
    },
    {
        "phone_number": "13912345679",
        "send_time": "2025-03-01 20:00:00",
        "report_time": "2025-03-01 20:01:00",
        "success": False,
        "err_code": "MK:0001",
        "err_msg": "空号",
        "sms_size": "1",
        "biz_id": "900002^0",
        "out_id": "",
    },
]


def test_get_probe_answers_code_zero() -> None:
    result = webhook_adapter().handle_webhook(hook(b"", method="GET"), NOW)
    assert result.answer.status == 200
    assert json.loads(result.answer.body) == {"code": 0}
    assert result.events == ()


def test_sms_report_becomes_receipts() -> None:
    result = webhook_adapter().handle_webhook(hook(RECEIPTS), NOW)
    assert result.answer.status == 200
    assert result.answer.body == ANSWER_OK
    assert json.loads(result.answer.body) == {"code": 0, "msg": "成功"}
    delivered, failed = result.events
    assert delivered.kind is InboundKind.RECEIPT
    assert delivered.channel is Channel.SMS
    assert delivered.status is MessageStatus.DELIVERED
    assert delivered.event_id == "900001^0:delivered"
    assert delivered.message_id == "msg-1"
    assert delivered.provider_message_id == "900001^0"
    assert delivered.parts == 2
    assert delivered.at == datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)  # Beijing 20:00:05 → 12:00:05Z
    assert delivered.reason is None
    assert json.loads(delivered.raw)["biz_id"] == "900001^0"
    assert failed.status is MessageStatus.UNDELIVERED
    assert failed.reason == "MK:0001"
    assert failed.message_id is None
    assert failed.event_id == "900002^0:undelivered"


def test_receipt_without_success_uses_err_code() -> None:
    item = {"biz_id": 123, "err_code": "DELIVERED", "report_time": "bad time"}
    (event,) = webhook_adapter().handle_webhook(hook([item]), NOW).events
    assert event.status is MessageStatus.DELIVERED
    assert event.provider_message_id == "123"
    assert event.at == NOW  # unreadable time: when we heard of it


def test_sms_up_becomes_replies() -> None:
    items = [
        {
            "phone_number": "13912345678",
            "content": "T",
            "send_time": "2025-03-01 21:30:00",
            "dest_code": "1234",
            "sequence_id": 1234567890,
            "sign_name": "乐乐玩具",
        },
        {"phone_number": "85291234567", "content": "hi", "send_time": "20250301213000", "sequence_id": "99"},
    ]
    first, second = webhook_adapter().handle_webhook(hook(items), NOW).events
    assert first.kind is InboundKind.REPLY
    assert first.sender == "+8613912345678"
    assert first.text == "T"
    assert first.event_id == "up:1234567890"
    assert first.at == datetime(2025, 3, 1, 13, 30, tzinfo=UTC)
    assert second.sender == "+85291234567"
    assert second.at == datetime(2025, 3, 1, 13, 30, tzinfo=UTC)


def test_mixed_batch_and_empty_batch() -> None:
    reply = {"phone_number": "13912345678", "content": "R", "send_time": "2025-03-01 21:30:00", "sequence_id": "5"}
    events = webhook_adapter().handle_webhook(hook([RECEIPTS[0], reply]), NOW).events
    assert [e.kind for e in events] == [InboundKind.RECEIPT, InboundKind.REPLY]
    assert webhook_adapter().handle_webhook(hook([]), NOW).events == ()


def test_ip_allowlist() -> None:
    guarded = webhook_adapter(ip_allowlist=["140.205.0.0/16", "2400:3200::/32"])
    assert guarded.handle_webhook(hook(RECEIPTS, source_ip="140.205.9.9"), NOW).answer.status == 200
    assert guarded.handle_webhook(hook(RECEIPTS, source_ip="2400:3200::1"), NOW).answer.status == 200
    for source in ("10.0.0.1", None, "not-an-ip"):
        with pytest.raises(WebhookRejected) as caught:
            guarded.handle_webhook(hook(RECEIPTS, source_ip=source), NOW)
        assert caught.value.status == 403
    with pytest.raises(WebhookRejected) as caught:
        guarded.handle_webhook(hook(b"", method="GET", source_ip="8.8.8.8"), NOW)
    assert caught.value.status == 403


def test_too_many_items_is_400() -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_adapter(max_items=2).handle_webhook(hook(RECEIPTS * 2), NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b'{"biz_id": "1"}',  # an object, not an array
        b"[1, 2]",
        b'[{"phone_number": "13912345678"}]',  # neither kind
        b'[{"biz_id": "1", "success": "maybe"}]',
        b'[{"success": true}]',  # no biz_id
        b'[{"content": "T", "sequence_id": "1", "phone_number": "1381111****"}]',  # masked number
        b'[{"content": 5, "sequence_id": "1", "phone_number": "13912345678"}]',
        b'[{"content": "T", "dest_code": "1", "phone_number": "13912345678"}]',  # no sequence_id
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_adapter().handle_webhook(hook(body), NOW)
    assert caught.value.status == 400


def test_other_methods_are_refused() -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_adapter().handle_webhook(hook(RECEIPTS, method="PUT"), NOW)
    assert caught.value.status == 400


# --- helpers and configuration ---------------------------------------------------------------


def test_number_forms() -> None:
    assert alibaba_number("+8613912345678") == "13912345678"
    assert alibaba_number("+85291234567") == "85291234567"
    assert e164_from_alibaba("13912345678") == "+8613912345678"
    assert e164_from_alibaba("8613912345678") == "+8613912345678"
    assert e164_from_alibaba("008613912345678") == "+8613912345678"
    assert e164_from_alibaba("+1 415-555-0100") == "+14155550100"
    assert e164_from_alibaba("12") is None
    assert e164_from_alibaba("１３９１２３４５６７８") is None  # full-width digits are not ours to guess


def test_from_secrets_reads_the_documented_names(server: StubServer, stub: AliyunStub) -> None:
    secrets = {
        "aliyun_access_key_id": AK,
        "aliyun_access_key_secret": SECRET,
        "aliyun_sign_name": "乐乐玩具",
        "aliyun_templates": json.dumps({"default": "SMS_9"}),
        "aliyun_endpoint": server.url,
        "aliyun_template_variable": "text",
        "aliyun_ip_allowlist": "140.205.0.0/16, 10.1.0.0/16",
        "aliyun_error_codes": json.dumps({"isv.SOMETHING": "opted_out"}),
    }
    provider = AliyunSmsAdapter.from_secrets(secrets, timeout=0.5)
    provider.send(message(trigger="birthday"), NOW)
    assert stub.sent[-1]["TemplateCode"] == "SMS_9"
    assert json.loads(stub.sent[-1]["TemplateParam"]) == {"text": "欢迎加入乐乐会员!回T退订"}
    assert len(provider.allowlist) == 2
    assert provider.error_codes.meaning("isv.SOMETHING").code == "opted_out"
    # Without send credentials the webhook side still works; a send says what is missing.
    webhook_only = AliyunSmsAdapter.from_secrets({"aliyun_access_key_id": AK})
    assert webhook_only.send_unavailable == "aliyun: not configured for sending (no access key secret, template codes)"
    with pytest.raises(ProviderError, match="not configured") as refused:
        webhook_only.send(OutboundMessage("m1", "sms", "+8613800000000", "hi", "transactional"), NOW)
    assert refused.value.code == "rejected" and not refused.value.retryable
    with pytest.raises(ValueError):
        AliyunSmsAdapter.from_secrets({**secrets, "aliyun_templates": "[1]"})


# --- fuzz ------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
SMS_UP = {"phone_number": "13912345678", "content": "T", "send_time": "2025-03-01 21:30:00", "sequence_id": 7}


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


ITEMS = st.lists(_near(RECEIPTS[0]) | _near(SMS_UP), max_size=5)


def _outcome(provider: AliyunSmsAdapter, request: WebhookRequest) -> None:
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
@given(items=ITEMS)
def test_fuzz_report_and_up_shaped_items(items: list[dict[str, object]]) -> None:
    _outcome(webhook_adapter(), hook(json.dumps(items).encode()))
