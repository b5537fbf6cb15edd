"""The contract every provider adapter keeps, sandbox included, each against its stub server.

Send side: a send returns the provider's id and the parts billed; a throttled send is
``throttled`` and retryable, with the wait the provider names; a 5xx is ``unavailable`` and
retryable; an invalid number (or unknown IM user) is ``invalid_address`` and permanent. Our message
id comes back on the provider's receipt for it; a provider that can look a send up or query its
status answers from its records, one that cannot asks nothing.

Webhook side: a forgery is refused 401/403 before anything is parsed (``parse`` is never called); a
malformed body is 400; a body larger than the provider sends is 413 and fields longer than any it
sends are refused or dropped; and whatever arrives, the webhook answers or raises
:class:`WebhookRejected`, nothing else (Hypothesis).

Each provider's own file tests what only that provider does (its error-code table, its signature
details, its payload shapes).
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from chalicelib.adapters.providers.agora import AgoraChatProvider
from chalicelib.adapters.providers.aliyun import AliyunSmsAdapter
from chalicelib.adapters.providers.aws_sms import AwsSmsAdapter
from chalicelib.adapters.providers.base import (
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    ProviderAdapter,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
)
from chalicelib.adapters.providers.sandbox import FaultPlan, SandboxProvider
from chalicelib.adapters.providers.tencent import TencentSmsAdapter
from chalicelib.adapters.providers.twilio import TwilioSmsAdapter
from chalicelib.adapters.providers.wecom import WeComKfProvider, signed_callback
from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError, SendResult
from tests.fakes import FakeCursors, FakeOutbox
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.agora_stub import AgoraStub, echo_callback
from tests.providers.stubs.agora_stub import signed_callback as agora_callback
from tests.providers.stubs.aliyun_stub import AliyunStub
from tests.providers.stubs.aws_sms_stub import AwsSmsStub
from tests.providers.stubs.sns import OTHER_KEY, TOPIC, Fetcher, envelope
from tests.providers.stubs.tencent_stub import TencentStub
from tests.providers.stubs.twilio_stub import TwilioStub
from tests.providers.stubs.wecom_stub import WeComStub, send_failed

NOW = datetime.now(UTC)  # the China stubs date their records by the wall clock
NOW_S = int(NOW.timestamp())
HUGE_TEXT = "x" * (MAX_TEXT_CHARS + 1)


def new_id() -> str:
    return "c" + uuid.uuid4().hex[:25]


class Harness(ABC):
    """One provider's adapter, its stub and how that provider says each thing."""

    name: ClassVar[str]
    # How long the provider says to wait when it throttles (None: it does not say).
    retry_after: ClassVar[float | None] = None
    ok_to: ClassVar[str]
    invalid_to: ClassVar[str]
    channel: ClassVar[str] = "sms"

    def message(self, to: str | None = None) -> OutboundMessage:
        return OutboundMessage(new_id(), self.channel, to or self.ok_to, "新品到店啦", "transactional", "welcome")

    @abstractmethod
    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]: ...

    @abstractmethod
    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]: ...

    @abstractmethod
    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]: ...

    @abstractmethod
    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        """The provider's receipts for a message it accepted, as the adapter makes them."""

    def deliver(self, sent: SendResult) -> None:
        """The stub learns the message was delivered (what a status query then finds)."""

    @abstractmethod
    def forged(self) -> tuple[dict[str, Any], WebhookRequest] | None:
        """Adapter settings and a request that looks like the provider's but is not; None when
        the provider signs nothing and there is nothing to forge (the path token is the route's)."""

    @abstractmethod
    def malformed(self) -> WebhookRequest: ...

    @abstractmethod
    def oversized(self) -> WebhookRequest:
        """A request the adapter accepts as the provider's, with a field longer than any it sends."""

    def calls(self) -> int:
        """How many calls the provider's API has had."""
        return 0


def post(body: bytes | object, url: str = "https://hooks.example.com/webhooks/p/tok", **headers: str) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return WebhookRequest("POST", url, {"content-type": "application/json", **headers}, {}, raw, "140.205.1.2")


# --- sandbox ---------------------------------------------------------------------------------


class Sandbox(Harness):
    name = "sandbox"
    retry_after = 2.0
    ok_to = "+8613800138000"
    invalid_to = "+8613800000001"

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        return (cls or SandboxProvider)(FakeOutbox(), overrides.get("faults"))  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+8613800000003")

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(faults=FaultPlan({"error": 1.0})), self.message()

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        request = post({"message_id": message.message_id, "status": "delivered"})
        return list(adapter.handle_webhook(request, NOW).events)

    def forged(self) -> None:
        return None

    def malformed(self) -> WebhookRequest:
        return post(b"not json")

    def oversized(self) -> WebhookRequest:
        return post({"type": "reply", "from": "+8613800138000", "text": HUGE_TEXT})


# --- Alibaba ---------------------------------------------------------------------------------


class Aliyun(Harness):
    name = "aliyun"
    retry_after = 2.0  # x-acs-retry-after: 2000 (ms)
    ok_to = "+8613912345678"
    invalid_to = "+8613800000001"

    def __init__(self, server: StubServer, stub: AliyunStub) -> None:
        self.server, self.stub = server, stub

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        config: dict[str, Any] = {
            "access_key_id": self.stub.access_key_id,
            "access_key_secret": self.stub.access_key_secret,
            "templates": {"default": "SMS_100000001"},
            "sign_name": "乐乐玩具",
            "endpoint": self.server.url,
            "timeout": 0.5,
            **overrides,
        }
        return (cls or AliyunSmsAdapter)(**config)  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+8613800000003")  # HTTP 400 Throttling.User

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+8613800000004")  # HTTP 503 ServiceUnavailable

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        return list(adapter.handle_webhook(post([self.stub.report(sent.provider_message_id)]), NOW).events)

    def deliver(self, sent: SendResult) -> None:
        self.stub.report(sent.provider_message_id)

    def forged(self) -> tuple[dict[str, Any], WebhookRequest]:
        request = post([{"biz_id": "1^0", "success": True, "out_id": "m1"}])
        return {"ip_allowlist": ["140.205.0.0/16"]}, WebhookRequest(
            request.method, request.url, request.headers, {}, request.body, "10.0.0.1"
        )

    def malformed(self) -> WebhookRequest:
        return post(b"not json")

    def oversized(self) -> WebhookRequest:
        return post([{"phone_number": "13912345678", "content": HUGE_TEXT, "sequence_id": "1"}])

    def calls(self) -> int:
        return len(self.server.requests)


# --- Tencent ---------------------------------------------------------------------------------


class Tencent(Harness):
    name = "tencent"
    retry_after = 3600.0  # LimitExceeded.PhoneNumberDailyLimit: its name says how long
    ok_to = "+8613912345678"
    invalid_to = "+8613800000001"

    def __init__(self, server: StubServer, stub: TencentStub) -> None:
        self.server, self.stub = server, stub

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        config: dict[str, Any] = {
            "secret_id": self.stub.secret_id,
            "secret_key": self.stub.secret_key,
            "sdk_app_id": self.stub.sdk_app_id,
            "templates": {"default": "100001"},
            "sign_name": "乐乐玩具",
            "endpoint": self.server.url,
            "timeout": 0.5,
            **overrides,
        }
        return (cls or TencentSmsAdapter)(**config)  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+8613800000003")

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+8613800000007")  # HTTP 502

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        return list(adapter.handle_webhook(post([self.stub.report(sent.provider_message_id)]), NOW).events)

    def deliver(self, sent: SendResult) -> None:
        self.stub.report(sent.provider_message_id)

    def forged(self) -> tuple[dict[str, Any], WebhookRequest]:
        request = post([{"sid": "2433:1", "report_status": "SUCCESS", "ext": "m1"}])
        return {"ip_allowlist": ["203.205.0.0/16"]}, request  # sent from 140.205.1.2

    def malformed(self) -> WebhookRequest:
        return post(b"not json")

    def oversized(self) -> WebhookRequest:
        return post({"text": HUGE_TEXT, "mobile": "13912345678", "nationcode": "86", "time": NOW_S})

    def calls(self) -> int:
        return len(self.server.requests)


# --- Twilio ----------------------------------------------------------------------------------

TWILIO_HOOK = "https://hooks.example.com/webhooks/twilio/s3cr3t"


class Twilio(Harness):
    name = "twilio"
    retry_after = 7.0  # Retry-After: 7
    ok_to = "+14155550100"
    invalid_to = "+15005550001"

    def __init__(self, server: StubServer, stub: TwilioStub) -> None:
        self.server, self.stub = server, stub

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        config: dict[str, Any] = {
            "account_sid": self.stub.account_sid,
            "auth_token": self.stub.auth_token,
            "from_number": "+14155550199",
            "public_webhook_url": TWILIO_HOOK,
            "base_url": self.server.url,
            "timeout": 0.5,
            **overrides,
        }
        return (cls or TwilioSmsAdapter)(**config)  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+15005550429")

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+15005550500")

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        url, form, signature = self.stub.deliver(sent.provider_message_id)
        return list(adapter.handle_webhook(self.callback(url, form, signature), NOW).events)

    def deliver(self, sent: SendResult) -> None:
        self.stub.deliver(sent.provider_message_id)

    @staticmethod
    def callback(url: str, form: dict[str, str], signature: str) -> WebhookRequest:
        query = dict(parse_qsl(urlsplit(url).query))
        return WebhookRequest("POST", url, {"x-twilio-signature": signature}, query, urlencode(form).encode())

    def forged(self) -> tuple[dict[str, Any], WebhookRequest]:
        form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
        return {}, self.callback(
            TWILIO_HOOK, form, RequestValidator("not-the-token").compute_signature(TWILIO_HOOK, form)
        )

    def malformed(self) -> WebhookRequest:
        form = {"MessageStatus": "delivered"}  # signed, but no MessageSid
        return self.callback(
            TWILIO_HOOK, form, RequestValidator(self.stub.auth_token).compute_signature(TWILIO_HOOK, form)
        )

    def oversized(self) -> WebhookRequest:
        form = {"MessageSid": "SM2", "From": "+14155550100", "Body": HUGE_TEXT}
        return self.callback(
            TWILIO_HOOK, form, RequestValidator(self.stub.auth_token).compute_signature(TWILIO_HOOK, form)
        )

    def calls(self) -> int:
        return len(self.server.requests)


# --- AWS End User Messaging ------------------------------------------------------------------


class AwsSms(Harness):
    name = "aws_sms"
    retry_after = None  # ThrottlingException names no wait
    ok_to = "+14155550100"
    invalid_to = "+15555550001"

    def __init__(self, server: StubServer, stub: AwsSmsStub) -> None:
        self.server, self.stub = server, stub

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        session = boto3.session.Session(
            aws_access_key_id=self.stub.access_key,
            aws_secret_access_key=self.stub.secret_key,
            region_name=self.stub.region,
        )
        config: dict[str, Any] = {
            "region": self.stub.region,
            "endpoint_url": self.server.url,
            "session": session,
            "origination_identity": "+18885550123",
            "configuration_set": "memberpulse",
            "read_timeout": 0.5,
            "topic_arns": [TOPIC],
            "cert_fetcher": Fetcher(),
            **overrides,
        }
        return (cls or AwsSmsAdapter)(**config)  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+15555550003")

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        return self.build(), self.message("+15555550010")  # a bare 503

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        doc = envelope("Notification", self.stub.delivery_event(sent.provider_message_id))
        return list(adapter.handle_webhook(post(doc), NOW).events)

    def forged(self) -> tuple[dict[str, Any], WebhookRequest]:
        return {}, post(envelope("Notification", {"eventType": "TEXT_DELIVERED", "messageId": "1"}, key=OTHER_KEY))

    def malformed(self) -> WebhookRequest:
        return post(b"not json")

    def oversized(self) -> WebhookRequest:
        reply = {"originationNumber": "+14155550100", "messageBody": HUGE_TEXT, "inboundMessageId": "i-1"}
        return post(envelope("Notification", reply))

    def calls(self) -> int:
        return len(self.server.requests)


# --- Agora Chat ------------------------------------------------------------------------------

AGORA_SECRET, AGORA_SENDER = "callback-secret-0123456789", "store-bot"


class Agora(Harness):
    name = "agora"
    retry_after = 7.0
    ok_to = "member-1"
    invalid_to = "member-unknown"
    channel = "im"

    def __init__(self, server: StubServer, stub: AgoraStub) -> None:
        self.server, self.stub = server, stub

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        secrets = {
            "agora_callback_secret": AGORA_SECRET,
            "agora_host": self.server.url,
            "agora_org": self.stub.org,
            "agora_app": self.stub.app,
            "agora_sender": AGORA_SENDER,
            "agora_client_id": self.stub.client_id,
            "agora_client_secret": self.stub.client_secret,
        }
        return (cls or AgoraChatProvider).from_secrets(secrets, timeout=0.5, **overrides)  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        adapter = self.build()
        adapter.send(self.message(), NOW)  # with an app token already in hand
        self.stub.fail_next(429, {"error": "reach_limit"}, {"Retry-After": "7"})
        return adapter, self.message()

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        adapter = self.build()
        adapter.send(self.message(), NOW)
        self.stub.fail_next(503, {"error": "service_unavailable"})
        return adapter, self.message()

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        body = echo_callback(self.stub, sent.provider_message_id, AGORA_SECRET, NOW_S * 1000)
        return list(adapter.handle_webhook(post(body), NOW).events)

    def forged(self) -> tuple[dict[str, Any], WebhookRequest]:
        body = agora_callback("not-the-secret", call_id="c1", timestamp_ms=NOW_S * 1000, eventType="chat")
        return {}, post(body)

    def malformed(self) -> WebhookRequest:
        return post(b"not json")

    def oversized(self) -> WebhookRequest:
        body = agora_callback(
            AGORA_SECRET,
            call_id="c2",
            timestamp_ms=NOW_S * 1000,
            eventType="chat",
            chat_type="chat",
            to=AGORA_SENDER,
            msg_id="1",
            payload={"bodies": [{"type": "txt", "msg": HUGE_TEXT}]},
            **{"from": "member-1"},
        )
        return post(body)

    def calls(self) -> int:
        return len(self.server.requests)


# --- WeCom kf --------------------------------------------------------------------------------

WECOM_TOKEN, WECOM_AES = "callbackToken123", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
KF_EVENT = (
    "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>{at}</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{kfid}]]></OpenKfId></xml>"
)


class WeCom(Harness):
    name = "wecom"
    retry_after = 3.0
    ok_to = "wm-member-1"
    invalid_to = "wm-nobody"
    channel = "im"

    def __init__(self, server: StubServer, stub: WeComStub) -> None:
        self.server, self.stub = server, stub

    def message(self, to: str | None = None) -> OutboundMessage:
        self.stub.members["wm-member-1"] = 5  # kf's five messages since the member last wrote
        return super().message(to)

    def build(self, cls: type[Any] | None = None, **overrides: Any) -> ProviderAdapter[Any]:
        secrets = {
            "wecom_token": WECOM_TOKEN,
            "wecom_aes_key": WECOM_AES,
            "wecom_corp_id": self.stub.corp_id,
            "wecom_secret": self.stub.secret,
            "wecom_open_kfid": self.stub.open_kfid,
        }
        settings_ = {"timeout": 0.5, "base_url": self.server.url, **overrides}
        return (cls or WeComKfProvider).from_secrets(secrets, **settings_)  # type: ignore[no-any-return]

    def throttled(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        adapter = self.build()
        adapter.send(self.message(), NOW)
        self.stub.fail_next(45009, status=429)
        self.stub.queued[-1].headers["Retry-After"] = "3"
        return adapter, self.message()

    def unavailable(self) -> tuple[ProviderAdapter[Any], OutboundMessage]:
        adapter = self.build()
        adapter.send(self.message(), NOW)
        self.stub.fail_next(0, status=503)
        return adapter, self.message()

    def notification(self, token: str, wecom_token: str = WECOM_TOKEN) -> WebhookRequest:
        xml = KF_EVENT.format(corp=self.stub.corp_id, at=NOW_S, token=token, kfid=self.stub.open_kfid)
        query, body = signed_callback(
            xml, token=wecom_token, encoding_aes_key=WECOM_AES, corp_id=self.stub.corp_id, timestamp=str(NOW_S)
        )
        return WebhookRequest("POST", "https://hooks.example.com/webhooks/wecom/tok", {}, query, body)

    def receipts(self, adapter: ProviderAdapter[Any], message: OutboundMessage, sent: SendResult) -> list[InboundEvent]:
        # kf reports only failures, and only through a pull announced by a notification.
        token = f"kf-{new_id()}"
        self.stub.kf_tokens.add(token)
        self.stub.inbox.append(send_failed(new_id(), sent.provider_message_id, 4, self.stub.open_kfid, NOW_S))
        (fetch,) = adapter.handle_webhook(self.notification(token), NOW).events
        return adapter.fetch(fetch, FakeCursors(), NOW)

    def forged(self) -> tuple[dict[str, Any], WebhookRequest]:
        return {}, self.notification("kf-1", wecom_token="not-the-token")

    def malformed(self) -> WebhookRequest:
        query = {"msg_signature": "0" * 40, "timestamp": str(NOW_S), "nonce": "n"}
        return WebhookRequest("POST", "https://hooks.example.com/webhooks/wecom/tok", {}, query, b"<xml><Encrypt>x")

    def oversized(self) -> WebhookRequest:
        return self.notification("k" * (MAX_ID_CHARS + 1))

    def calls(self) -> int:
        return len(self.server.requests)


# --- the running stubs -----------------------------------------------------------------------

PROVIDERS = ["sandbox", "aliyun", "tencent", "twilio", "aws_sms", "agora", "wecom"]


@pytest.fixture(scope="module")
def harnesses() -> Iterator[dict[str, Harness]]:
    aliyun = AliyunStub("LTAI5tTestAccessKeyId", "test-access-key-secret")
    tencent = TencentStub("AKIDtestSecretId", "test-secret-key", "1400000001")
    twilio = TwilioStub("AC" + "1" * 32, "test-auth-token")
    aws = AwsSmsStub("AKIDEXAMPLETEST", "test-secret-key/0123456789", "us-east-1")
    agora = AgoraStub("1122334455", "toystore", "client-id-1", "client-secret-1")
    wecom = WeComStub("ww1234567890abcdef", "kf-secret-1", "wkAbCdEf0123456789")
    with (
        serving(aliyun.handle) as aliyun_server,
        serving(tencent.handle) as tencent_server,
        serving(twilio.handle) as twilio_server,
        serving(aws.handle) as aws_server,
        serving(agora.handle) as agora_server,
        serving(wecom.handle) as wecom_server,
    ):
        yield {
            "sandbox": Sandbox(),
            "aliyun": Aliyun(aliyun_server, aliyun),
            "tencent": Tencent(tencent_server, tencent),
            "twilio": Twilio(twilio_server, twilio),
            "aws_sms": AwsSms(aws_server, aws),
            "agora": Agora(agora_server, agora),
            "wecom": WeCom(wecom_server, wecom),
        }


@pytest.fixture(scope="module", params=PROVIDERS)
def harness(request: pytest.FixtureRequest, harnesses: dict[str, Harness]) -> Harness:
    return harnesses[request.param]


# The sandbox signs nothing: its path token, checked by the route, is all there is to forge.
SIGNING = [name for name in PROVIDERS if name != "sandbox"]


@pytest.fixture(scope="module", params=SIGNING)
def signing_harness(request: pytest.FixtureRequest, harnesses: dict[str, Harness]) -> Harness:
    return harnesses[request.param]


@pytest.fixture(scope="module")
def adapter(harness: Harness) -> ProviderAdapter[Any]:
    """The harness's adapter, built once for the module (Hypothesis runs many examples)."""
    return harness.build()


def refused(adapter: ProviderAdapter[Any], message: OutboundMessage) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        adapter.send(message, NOW)
    return caught.value


# --- send side -------------------------------------------------------------------------------


def test_a_send_returns_the_providers_id_and_the_parts(harness: Harness) -> None:
    result = harness.build().send(harness.message(), NOW)
    assert result.provider_message_id
    assert result.parts >= 1


def test_throttling_is_retryable_with_the_wait_the_provider_names(harness: Harness) -> None:
    error = refused(*harness.throttled())
    assert (error.code, error.retryable, error.retry_after) == ("throttled", True, harness.retry_after)


def test_a_5xx_is_unavailable_and_retryable(harness: Harness) -> None:
    error = refused(*harness.unavailable())
    assert (error.code, error.retryable, error.retry_after) == ("unavailable", True, None)


def test_an_invalid_address_fails_for_good_and_marks_the_channel(harness: Harness) -> None:
    error = refused(harness.build(), harness.message(harness.invalid_to))
    assert (error.code, error.retryable, error.marks_channel) == ("invalid_address", False, True)
    if harness.channel == "sms":
        assert harness.invalid_to not in str(error)  # no phone number in the error text


def test_our_message_id_comes_back_on_the_receipt(harness: Harness) -> None:
    adapter, message = harness.build(), harness.message()
    sent = adapter.send(message, NOW)
    (receipt,) = harness.receipts(adapter, message, sent)
    assert receipt.kind is InboundKind.RECEIPT
    assert receipt.message_id == message.message_id
    assert receipt.provider_message_id == sent.provider_message_id
    assert receipt.status in (MessageStatus.DELIVERED, MessageStatus.FAILED)  # WeCom reports failures only


def test_a_lookup_finds_an_accepted_send_and_only_that(harness: Harness) -> None:
    adapter, message = harness.build(), harness.message()
    if not adapter.can_lookup:
        assert adapter.lookup(message, NOW) is None
        return
    adapter.send(message, NOW)
    found = adapter.lookup(message, NOW)
    assert found is not None and found.parts >= 1
    assert adapter.lookup(harness.message(), NOW) is None  # never sent


def test_a_status_query_reports_the_delivery_or_asks_nothing(harness: Harness) -> None:
    adapter, message = harness.build(), harness.message()
    sent = adapter.send(message, NOW)
    if not adapter.can_query_status:
        before = harness.calls()
        assert adapter.query_status(message.message_id, sent.provider_message_id, message.to, NOW, NOW) is None
        assert harness.calls() == before
        return
    harness.deliver(sent)
    receipt = adapter.query_status(message.message_id, sent.provider_message_id, message.to, NOW, NOW)
    assert receipt is not None
    assert (receipt.message_id, receipt.provider_message_id, receipt.status) == (
        message.message_id,
        sent.provider_message_id,
        MessageStatus.DELIVERED,
    )


# --- webhook side ----------------------------------------------------------------------------


def spying(harness: Harness, **overrides: Any) -> tuple[ProviderAdapter[Any], list[WebhookRequest]]:
    """The harness's adapter, recording every call of its ``parse``."""
    parsed: list[WebhookRequest] = []
    cls = type(harness.build())

    def parse(self: Any, request: WebhookRequest, verified: Any, now: datetime) -> WebhookResult:
        parsed.append(request)
        return cls.parse(self, request, verified, now)  # type: ignore[no-any-return]

    spy = type(f"Spying{cls.__name__}", (cls,), {"parse": parse})
    return harness.build(spy, **overrides), parsed


def test_only_the_sandbox_has_nothing_to_forge(harness: Harness) -> None:
    assert (harness.forged() is None) == (harness.name not in SIGNING)


def test_a_forgery_is_refused_before_anything_is_parsed(signing_harness: Harness) -> None:
    forgery = signing_harness.forged()
    assert forgery is not None
    overrides, request = forgery
    adapter, parsed = spying(signing_harness, **overrides)
    with pytest.raises(WebhookRejected) as caught:
        adapter.handle_webhook(request, NOW)
    assert caught.value.status in (401, 403)
    assert parsed == []


def test_a_verified_request_is_parsed_once(harness: Harness) -> None:
    adapter, parsed = spying(harness)
    message = harness.message()
    harness.receipts(adapter, message, adapter.send(message, NOW))
    assert len(parsed) == 1


def test_a_malformed_body_is_400(harness: Harness) -> None:
    with pytest.raises(WebhookRejected) as caught:
        harness.build().handle_webhook(harness.malformed(), NOW)
    assert caught.value.status == 400


def test_a_body_larger_than_the_provider_sends_is_413(harness: Harness) -> None:
    adapter = harness.build()
    request = harness.malformed()
    huge = WebhookRequest("POST", request.url, request.headers, request.query, b" " * (adapter.max_webhook_bytes + 1))
    with pytest.raises(WebhookRejected) as caught:
        adapter.handle_webhook(huge, NOW)
    assert caught.value.status == 413


def test_fields_longer_than_the_provider_sends_are_refused_or_dropped(harness: Harness) -> None:
    try:
        result = harness.build().handle_webhook(harness.oversized(), NOW)
    except WebhookRejected as rejected:
        assert rejected.status == 400
        return
    for event in result.events:
        assert all(len(v or "") <= MAX_ID_CHARS for v in (event.event_id, event.message_id, event.sender))
        assert len(event.text or "") <= MAX_TEXT_CHARS


HEADER_NAMES = st.sampled_from(
    ["content-type", "x-twilio-signature", "x-amz-sns-message-type", "x-forwarded-for", "authorization"]
)
QUERY_NAMES = st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "message_id", "token"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=20,
)
BODIES = st.binary(max_size=400) | JSON_VALUES.map(lambda v: json.dumps(v).encode())
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    method=st.sampled_from(["POST", "GET", "HEAD", "PUT"]),
    body=BODIES,
    headers=st.dictionaries(HEADER_NAMES, st.text(max_size=60), max_size=3),
    query=st.dictionaries(QUERY_NAMES, st.text(max_size=60), max_size=4),
    source_ip=st.sampled_from([None, "10.0.0.1", "140.205.1.2", "not-an-ip"]),
)
def test_whatever_arrives_the_webhook_answers_or_rejects(
    adapter: ProviderAdapter[Any],
    method: str,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str],
    source_ip: str | None,
) -> None:
    request = WebhookRequest(method, "https://hooks.example.com/webhooks/p/tok", headers, query, body, source_ip)
    try:
        result = adapter.handle_webhook(request, NOW)
    except WebhookRejected as rejected:
        assert rejected.status in (400, 401, 403, 413)
        return
    assert isinstance(result, WebhookResult)
    assert 200 <= result.answer.status < 300
