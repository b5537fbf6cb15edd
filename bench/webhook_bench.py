"""Webhook parsing cost: in-process time of each provider adapter's ``handle_webhook`` per event, on
valid requests built exactly as the provider sends them (signed where the provider signs), as a
ratio to the sandbox provider's cost for the same kind of payload.

Only the parser is timed: no network (the SNS signing certificate comes from an in-memory fetcher
and is cached after the warm-up; WeCom's ``sync_msg`` pull happens later, in the inbound worker).
Receipt bodies that the provider batches (sandbox, Alibaba SmsReport, Tencent receipts) carry
``BATCH`` items and count as that many events. Many short rounds are interleaved across cases so
that drift on a noisy machine hits every case alike, and each figure is the case's fastest round
(as ``timeit`` advises: other processes only ever add time, so the minimum is the least noisy;
like ``timeit``, the garbage collector is off while timing).

The request builders (``BUILDERS``) are also run by ``tests/unit/test_webhook_bench.py`` so that a
change in an adapter that makes these requests invalid shows up as a failing test, not a bench
that quietly measures rejections.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

from chalicelib.adapters.providers.base import ProviderAdapter, WebhookRequest

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
BATCH = 10  # items in a batched receipt body
ROUNDS = 30
ROUND_SECONDS = 0.015  # per case and round: ~0.45 s of timed calls per case
WARM_UP_SECONDS = 0.05
MIN_CALLS = 20
HOOKS = "https://hooks.example.com/webhooks"


@dataclass(frozen=True)
class Case:
    """One timed payload: ``adapter.handle_webhook(request, NOW)`` must yield ``events`` events."""

    provider: str
    payload: str  # "receipts" (a batch of BATCH), "receipt" (one), "reply" (one), "notify" (WeCom's)
    adapter: ProviderAdapter
    request: WebhookRequest
    events: int

    @property
    def baseline(self) -> str:
        """The sandbox payload this one is compared with: like with like (a batch with a batch, one
        receipt with one receipt); WeCom's notification with a one-event reply."""
        return "reply" if self.payload == "notify" else self.payload

    def call(self) -> int:
        return len(self.adapter.handle_webhook(self.request, NOW).events)


def _json_post(url: str, body: object, source_ip: str) -> WebhookRequest:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return WebhookRequest("POST", url, {"content-type": "application/json"}, {}, raw, source_ip)


def _beijing(at: datetime) -> str:
    return (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")


# --- sandbox -----------------------------------------------------------------------------------


class _NoOutbox:
    """The sandbox's outbox is used by sends only; the webhook side never touches it."""

    def record(self, provider_message_id: str, message: Any, parts: int, at: datetime) -> None:
        raise AssertionError("no sends in the webhook bench")

    def find(self, provider_message_id: str) -> tuple[int, datetime] | None:
        return None


def sandbox_cases() -> list[Case]:
    from chalicelib.adapters.providers.sandbox import SandboxProvider

    adapter = SandboxProvider(_NoOutbox())
    url = f"{HOOKS}/sandbox/s3cr3t"
    receipts = [
        {
            "message_id": f"01JNB7Q2X8M4K3ZP5R6T7V8W{i:02d}",
            "status": "delivered" if i % 5 else "undelivered",
            "at": (NOW - timedelta(seconds=30 - i)).isoformat(),
            **({} if i % 5 else {"reason": "carrier: unknown subscriber"}),
        }
        for i in range(BATCH)
    ]
    reply = {
        "type": "reply",
        "from": "+8613912345678",
        "text": "T",
        "id": "sbx-reply-0001",
        "channel": "sms",
        "at": NOW.isoformat(),
    }
    return [
        Case("sandbox", "receipts", adapter, _json_post(url, receipts, "127.0.0.1"), BATCH),
        Case("sandbox", "receipt", adapter, _json_post(url, receipts[1], "127.0.0.1"), 1),
        Case("sandbox", "reply", adapter, _json_post(url, reply, "127.0.0.1"), 1),
    ]


# --- Alibaba Cloud SMS ---------------------------------------------------------------------------


def aliyun_cases() -> list[Case]:
    from chalicelib.adapters.providers.aliyun import AliyunSmsAdapter

    adapter = AliyunSmsAdapter(
        access_key_id="LTAI5tBenchAccessKeyId",
        access_key_secret="bench-access-key-secret-0123456789",
        templates={"default": "SMS_100000001"},
        sign_name="乐乐玩具",
        ip_allowlist=["140.205.0.0/16", "106.11.0.0/16"],
        client=object(),  # no API calls on the webhook side
    )
    url = f"{HOOKS}/aliyun/s3cr3t"
    sent = NOW - timedelta(minutes=1)
    reports = [
        {
            "phone_number": f"139123456{i:02d}",
            "send_time": _beijing(sent),
            "report_time": _beijing(sent + timedelta(seconds=5 + i)),
            "success": bool(i % 5),
            "err_code": "DELIVERED" if i % 5 else "MK:0001",
            "err_msg": "用户接收成功" if i % 5 else "空号",
            "sms_size": "1" if i % 3 else "2",
            "biz_id": f"9000{i:02d}7364821^0",
            "out_id": f"01JNB7Q2X8M4K3ZP5R6T7V8W{i:02d}",
        }
        for i in range(BATCH)
    ]
    sms_up = [
        {
            "phone_number": "13912345678",
            "content": "退订",
            "send_time": _beijing(NOW),
            "dest_code": "1234",
            "sequence_id": 1234567890,
            "sign_name": "乐乐玩具",
        }
    ]
    return [
        Case("aliyun", "receipts", adapter, _json_post(url, reports, "140.205.1.2"), BATCH),
        Case("aliyun", "reply", adapter, _json_post(url, sms_up, "140.205.1.2"), 1),
    ]


# --- Tencent Cloud SMS ---------------------------------------------------------------------------


def tencent_cases() -> list[Case]:
    from chalicelib.adapters.providers.tencent import TencentSmsAdapter

    adapter = TencentSmsAdapter(
        secret_id="AKIDbenchSecretId0123456789",
        secret_key="bench-secret-key-0123456789",
        sdk_app_id="1400000001",
        templates={"default": "100001"},
        sign_name="乐乐玩具",
        ip_allowlist=["203.205.0.0/16", "183.3.0.0/16"],
        client=object(),  # no API calls on the webhook side
    )
    url = f"{HOOKS}/tencent/s3cr3t"
    receipts = [
        {
            "user_receive_time": _beijing(NOW - timedelta(seconds=30 - i)),
            "nationcode": "86",
            "mobile": f"139123456{i:02d}",
            "report_status": "SUCCESS" if i % 5 else "FAIL",
            "errmsg": "DELIVRD" if i % 5 else "MK:0001",
            "description": "用户短信送达成功" if i % 5 else "空号",
            "sid": f"2433:{i + 1:019d}",
            "ext": f"01JNB7Q2X8M4K3ZP5R6T7V8W{i:02d}",
        }
        for i in range(BATCH)
    ]
    reply = {
        "extend": "",
        "mobile": "13912345678",
        "nationcode": "86",
        "sign": "乐乐玩具",
        "text": "T",
        "time": int(NOW.timestamp()),
    }
    return [
        Case("tencent", "receipts", adapter, _json_post(url, receipts, "203.205.1.2"), BATCH),
        Case("tencent", "reply", adapter, _json_post(url, reply, "203.205.1.2"), 1),
    ]


# --- Twilio --------------------------------------------------------------------------------------

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "bench-auth-token-0123456789abcdef"


def _twilio_request(url: str, params: Mapping[str, str]) -> WebhookRequest:
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    signature = str(RequestValidator(TWILIO_TOKEN).compute_signature(url, dict(params)))
    query = dict(parse_qsl(url.partition("?")[2]))
    headers = {
        "x-twilio-signature": signature,
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "TwilioProxy/1.1",
        "i-twilio-idempotency-token": "5f1a7bd0-0f0a-4b9b-8a8e-6a1f4c2b9d31",
    }
    return WebhookRequest("POST", url, headers, query, urlencode(params).encode(), "54.172.60.1")


def twilio_cases() -> list[Case]:
    from chalicelib.adapters.providers.twilio import TwilioSmsAdapter

    adapter = TwilioSmsAdapter(
        account_sid=TWILIO_SID,
        auth_token=TWILIO_TOKEN,
        from_number="+14155550199",
        public_webhook_url=f"{HOOKS}/twilio/s3cr3t",
    )
    sid = "SM" + "a1b2c3d4" * 4
    status = {
        "AccountSid": TWILIO_SID,
        "ApiVersion": "2010-04-01",
        "ErrorCode": "",
        "From": "+14155550199",
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "RawDlrDoneDate": "2503011200",
        "SmsSid": sid,
        "SmsStatus": "delivered",
        "To": "+14155550100",
    }
    inbound = {
        "AccountSid": TWILIO_SID,
        "ApiVersion": "2010-04-01",
        "Body": "STOP",
        "From": "+14155550100",
        "FromCity": "SAN FRANCISCO",
        "FromCountry": "US",
        "FromState": "CA",
        "FromZip": "94105",
        "MessageSid": "SM" + "e5f6a7b8" * 4,
        "NumMedia": "0",
        "NumSegments": "1",
        "OptOutType": "STOP",
        "SmsMessageSid": "SM" + "e5f6a7b8" * 4,
        "SmsSid": "SM" + "e5f6a7b8" * 4,
        "SmsStatus": "received",
        "To": "+14155550199",
        "ToCity": "",
        "ToCountry": "US",
        "ToState": "CA",
        "ToZip": "",
    }
    status_url = adapter.status_callback_url("01JNB7Q2X8M4K3ZP5R6T7V8W00")
    return [
        Case("twilio", "receipt", adapter, _twilio_request(status_url, status), 1),
        Case("twilio", "reply", adapter, _twilio_request(adapter.public_webhook_url, inbound), 1),
    ]


# --- AWS End User Messaging SMS (SNS) --------------------------------------------------------------

SNS_REGION = "us-east-1"
SNS_CERT_URL = f"https://sns.{SNS_REGION}.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
SNS_EVENTS_TOPIC = "arn:aws:sns:us-east-1:123456789012:memberpulse-sms-events"
SNS_INBOUND_TOPIC = "arn:aws:sns:us-east-1:123456789012:memberpulse-sms-inbound"
_SNS_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")


@cache
def _sns_signer() -> tuple[Any, bytes]:
    """A self-signed RSA-2048 certificate standing in for SNS's (made once: key generation is slow)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def _sns_request(topic: str, message: Mapping[str, Any], message_id: str) -> WebhookRequest:
    """An SNS Notification as SNS POSTs it (SignatureVersion 1, SNS's default: SHA1withRSA)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key, _ = _sns_signer()
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Message": json.dumps(message),
        "Timestamp": "2025-03-01T11:59:58.512Z",
        "SignatureVersion": "1",
        "SigningCertURL": SNS_CERT_URL,
        "UnsubscribeURL": f"https://sns.{SNS_REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:"
        "3f1e6c1a-2b9e-4a52-9a4e-7d6f0c1b2a3d",
    }
    text = "".join(f"{name}\n{envelope[name]}\n" for name in _SNS_SIGNED if name in envelope)
    envelope["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA1())).decode()
    headers = {
        "content-type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic,
        "user-agent": "Amazon Simple Notification Service Agent",
    }
    return WebhookRequest("POST", f"{HOOKS}/aws_sms/s3cr3t", headers, {}, json.dumps(envelope).encode(), "54.240.1.2")


def aws_sms_cases() -> list[Case]:
    from chalicelib.adapters.providers.aws_sms import AwsSmsAdapter

    _, pem = _sns_signer()

    def fetch_certificate(url: str) -> bytes:  # in memory: no network in the bench
        return pem

    adapter = AwsSmsAdapter(
        region=SNS_REGION,
        client=_NoSends(),
        topic_arns=(SNS_EVENTS_TOPIC, SNS_INBOUND_TOPIC),
        cert_fetcher=fetch_certificate,
    )
    delivered = {
        "eventType": "TEXT_DELIVERED",
        "eventVersion": "1.0",
        "eventTimestamp": NOW_MS - 2000,
        "isFinal": True,
        "originationPhoneNumber": "+18885550123",
        "destinationPhoneNumber": "+14155550100",
        "isoCountryCode": "US",
        "isInternationalSend": False,
        "mcc": "310",
        "mnc": "800",
        "carrierName": "T-Mobile",
        "messageId": "862a8790-60c0-4430-9b2b-658bd4c2e1f0",
        "messageRequestTimestamp": NOW_MS - 4000,
        "messageEncoding": "GSM",
        "messageType": "TRANSACTIONAL",
        "messageStatus": "DELIVERED",
        "messageStatusDescription": "Message has been accepted by phone",
        "context": {"message_id": "01JNB7Q2X8M4K3ZP5R6T7V8W00"},
        "totalMessageParts": 1,
        "totalMessagePrice": 0.00581,
        "totalCarrierFee": 0.00302,
    }
    inbound = {
        "originationNumber": "+14155550100",
        "destinationNumber": "+18885550123",
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": "STOP",
        "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "previousPublishedMessageId": "862a8790-60c0-4430-9b2b-658bd4c2e1f0",
    }
    return [
        Case(
            "aws_sms",
            "receipt",
            adapter,
            _sns_request(SNS_EVENTS_TOPIC, delivered, "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"),
            1,
        ),
        Case(
            "aws_sms",
            "reply",
            adapter,
            _sns_request(SNS_INBOUND_TOPIC, inbound, "5d7e9f3a-1c2b-4d6e-8f0a-9b8c7d6e5f4a"),
            1,
        ),
    ]


class _NoSends:
    def send_text_message(self, **kwargs: Any) -> Mapping[str, Any]:
        raise AssertionError("no sends in the webhook bench")


# --- Agora Chat ----------------------------------------------------------------------------------

AGORA_ORG, AGORA_APP, AGORA_SENDER = "1122334455", "toystore", "store-bot"
AGORA_APPKEY = f"{AGORA_ORG}#{AGORA_APP}"
AGORA_SECRET = "bench-callback-secret-0123456789"


def _agora_request(call_id: str, **fields: Any) -> WebhookRequest:
    """A post-delivery callback as Agora POSTs it: ``security = MD5(callId + secret + timestamp)``."""
    security = hashlib.md5(f"{call_id}{AGORA_SECRET}{NOW_MS}".encode()).hexdigest()
    body = {
        "callId": call_id,
        "eventType": "chat",
        "timestamp": NOW_MS,
        "appkey": AGORA_APPKEY,
        "host": "msync@ebs-ali-beijing-msync45",
        "security": security,
        **fields,
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"content-type": "application/json"}
    return WebhookRequest("POST", f"{HOOKS}/agora/s3cr3t", headers, {}, raw, "47.93.1.2")


def agora_cases() -> list[Case]:
    from chalicelib.adapters.providers.agora import AgoraChatProvider

    adapter = AgoraChatProvider(
        base_url="https://a41.chat.agora.io",
        org=AGORA_ORG,
        app=AGORA_APP,
        sender=AGORA_SENDER,
        callback_secret=AGORA_SECRET,
        appkey=AGORA_APPKEY,
    )
    echo = _agora_request(  # the echo of a message we sent: a delivered receipt
        f"{AGORA_APPKEY}_1100000000000000001",
        chat_type="chat",
        msg_id="1100000000000000001",
        **{"from": AGORA_SENDER, "to": "member-1"},
        payload={"ext": {"message_id": "01JNB7Q2X8M4K3ZP5R6T7V8W00"}, "bodies": [{"msg": "新品到店啦", "type": "txt"}]},
    )
    reply = _agora_request(
        f"{AGORA_APPKEY}_968665325555943556",
        chat_type="chat",
        msg_id="968665325555943556",
        **{"from": "member-1", "to": AGORA_SENDER},
        payload={"ext": {}, "bodies": [{"msg": "T", "type": "txt"}]},
    )
    return [
        Case("agora", "receipt", adapter, echo, 1),
        Case("agora", "reply", adapter, reply, 1),
    ]


# --- WeCom customer service ----------------------------------------------------------------------

WECOM_CORP, WECOM_KFID, WECOM_TOKEN = "ww1234567890abcdef", "wkAbCdEf0123456789", "benchCallbackToken123"
WECOM_AES_KEY = base64.b64encode(bytes(range(7, 39))).decode().rstrip("=")  # 43 characters


def wecom_cases() -> list[Case]:
    """kf sends one kind of callback, ``kf_msg_or_event`` (receipts and replies are pulled later):
    it becomes one FETCH event."""
    from chalicelib.adapters.providers.wecom import WeComKfProvider, signed_callback

    adapter = WeComKfProvider(
        corp_id=WECOM_CORP,
        token=WECOM_TOKEN,
        encoding_aes_key=WECOM_AES_KEY,
        secret="kf-secret-1",
        open_kfid=WECOM_KFID,
    )
    xml = (
        f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><CreateTime>{int(NOW.timestamp())}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
        f"<OpenKfId><![CDATA[{WECOM_KFID}]]></OpenKfId></xml>"
    )
    query, body = signed_callback(
        xml,
        token=WECOM_TOKEN,
        encoding_aes_key=WECOM_AES_KEY,
        corp_id=WECOM_CORP,
        timestamp=str(int(NOW.timestamp())),
        nonce="1597212914",
    )
    url = f"{HOOKS}/wecom/s3cr3t?{urlencode(query)}"
    request = WebhookRequest("POST", url, {"content-type": "text/xml"}, query, body, "101.226.1.2")
    return [Case("wecom", "notify", adapter, request, 1)]


BUILDERS: dict[str, Callable[[], list[Case]]] = {
    "sandbox": sandbox_cases,
    "aliyun": aliyun_cases,
    "tencent": tencent_cases,
    "twilio": twilio_cases,
    "aws_sms": aws_sms_cases,
    "agora": agora_cases,
    "wecom": wecom_cases,
}


# --- timing --------------------------------------------------------------------------------------


def _calls_per_round(case: Case) -> int:
    """Warm up (fills the SNS certificate cache, imports, caches) and size a round to ~ROUND_SECONDS."""
    calls, start = 0, time.perf_counter()
    while True:
        case.call()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= WARM_UP_SECONDS:
            return max(MIN_CALLS, int(ROUND_SECONDS * calls / elapsed))


def _timed(case: Case, calls: int) -> float:
    """Seconds per call over ``calls`` calls."""
    call = case.call
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def run() -> dict[str, float]:
    cases = [case for build in BUILDERS.values() for case in build()]
    for case in cases:
        got = case.call()
        if got != case.events:
            raise RuntimeError(f"{case.provider} {case.payload}: {got} events, expected {case.events}")
    sizes = [_calls_per_round(case) for case in cases]
    samples: list[list[float]] = [[] for _ in cases]
    gc.collect()
    gc.disable()
    try:
        for _ in range(ROUNDS):  # interleaved, so drift on a noisy machine hits every case alike
            for i, case in enumerate(cases):
                samples[i].append(_timed(case, sizes[i]))
    finally:
        gc.enable()
    per_call = [min(s) for s in samples]
    per_event = {(c.provider, c.payload): t / c.events for c, t in zip(cases, per_call, strict=True)}
    print(
        f"Webhook parsing cost per event (handle_webhook in process, best of {ROUNDS} interleaved rounds; "
        f"batched receipts carry {BATCH} items; ratio to the sandbox's same payload in this run)"
    )
    print(f"  {'provider':<9} {'payload':<9} {'events':>6} {'µs/call':>9} {'µs/event':>9} {'ratio':>7}")
    results: dict[str, float] = {}
    for case, seconds in zip(cases, per_call, strict=True):
        event_cost = per_event[(case.provider, case.payload)]
        ratio = event_cost / per_event[("sandbox", case.baseline)]
        results[f"{case.provider} {case.payload}"] = ratio
        print(
            f"  {case.provider:<9} {case.payload:<9} {case.events:>6} {seconds * 1e6:9.1f} "
            f"{event_cost * 1e6:9.1f} {ratio:7.2f}"
        )
    return results
