"""Agora Chat adapter against a stub speaking Agora's REST wire format, and its callback side."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.providers.agora import AgoraChatProvider
from chalicelib.adapters.providers.base import WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.domain.inbound import InboundKind
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.agora_stub import AgoraStub, signed_callback

ORG, APP, SENDER = "1122334455", "toystore", "store-bot"
APPKEY = f"{ORG}#{APP}"
SECRET = "callback-secret-0123456789"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def message(to: str = "member-1", text: str = "你好，生日快乐！", mid: str = "m" + "a" * 25) -> OutboundMessage:
    return OutboundMessage(mid, "im", to, text, "transactional", trigger="child_birthday")


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[StubServer, list[AgoraStub]]]:
    """One server for the module (stopping one costs half a second); each test gets a fresh stub."""
    current: list[AgoraStub] = []
    with serving(lambda request: current[-1].handle(request)) as server:
        yield server, current


@pytest.fixture
def stub(running: tuple[StubServer, list[AgoraStub]]) -> AgoraStub:
    fresh = AgoraStub(ORG, APP, "client-id-1", "client-secret-1", token_ttl=3600, slow_seconds=0.6)
    running[1].append(fresh)
    running[0].requests.clear()
    return fresh


@pytest.fixture
def server(stub: AgoraStub, running: tuple[StubServer, list[AgoraStub]]) -> StubServer:
    return running[0]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def adapter(server: StubServer, clock: Clock | None = None, **overrides: Any) -> AgoraChatProvider:
    secrets = {
        "agora_callback_secret": SECRET,
        "agora_host": server.url,
        "agora_org": ORG,
        "agora_app": APP,
        "agora_sender": SENDER,
        "agora_client_id": "client-id-1",
        "agora_client_secret": "client-secret-1",
        "agora_appkey": APPKEY,
    }
    settings_: dict[str, Any] = {"timeout": 0.3, **({"clock": clock} if clock else {}), **overrides}
    return AgoraChatProvider.from_secrets(secrets, **settings_)


def token_requests(server: StubServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/token"))


# --------------------------------------------------------------------------------- sending


def test_send_posts_a_text_message_as_the_store_and_returns_agoras_msg_id(
    stub: AgoraStub, server: StubServer, clock: Clock
) -> None:
    result = adapter(server, clock).send(message(), NOW)

    assert result.parts == 1
    assert result.provider_message_id == stub.sent[0]["msg_id"]
    sent = stub.sent[0]
    assert sent["from"] == SENDER and sent["to"] == ["member-1"] and sent["type"] == "txt"
    assert sent["body"] == {"msg": "你好，生日快乐！"}
    assert sent["ext"] == {"message_id": "m" + "a" * 25}
    send_request = server.requests[-1]
    assert send_request.headers["authorization"] == f"Bearer {stub.tokens_issued[0]}"
    token_request = json.loads(server.requests[0].body)
    assert token_request == {
        "grant_type": "client_credentials",
        "client_id": "client-id-1",
        "client_secret": "client-secret-1",
    }


def test_app_token_is_cached_until_shortly_before_it_expires(stub: AgoraStub, server: StubServer, clock: Clock) -> None:
    provider = adapter(server, clock, token_margin=300)
    provider.send(message(), NOW)
    clock.t += 3600 - 301
    provider.send(message(mid="m" + "b" * 25), NOW)
    assert token_requests(server) == 1

    clock.t += 2  # inside the margin: fetch a fresh one rather than risk an expiring token
    provider.send(message(mid="m" + "c" * 25), NOW)
    assert token_requests(server) == 2
    assert server.requests[-1].headers["authorization"] == f"Bearer {stub.tokens_issued[1]}"


def test_a_401_fetches_a_new_token_once_and_retries(stub: AgoraStub, server: StubServer, clock: Clock) -> None:
    provider = adapter(server, clock)
    provider.send(message(), NOW)
    stub.revoke_tokens()

    result = provider.send(message(mid="m" + "b" * 25), NOW)

    assert result.provider_message_id == stub.sent[-1]["msg_id"]
    assert token_requests(server) == 2


def test_a_pre_issued_app_token_is_used_as_is_and_a_401_is_permanent(stub: AgoraStub, server: StubServer) -> None:
    stub.tokens_issued.append("pre-issued-token")
    provider = adapter(server, app_token="pre-issued-token", client_id="", client_secret="")
    provider.send(message(), NOW)
    assert token_requests(server) == 0
    assert server.requests[-1].headers["authorization"] == "Bearer pre-issued-token"

    stub.revoke_tokens()
    with pytest.raises(ProviderError) as caught:
        provider.send(message(mid="m" + "b" * 25), NOW)
    assert (caught.value.code, caught.value.retryable) == ("rejected", False)
    assert token_requests(server) == 0


@pytest.mark.parametrize(
    ("to", "code"),
    [("member-unknown", "invalid_address"), ("member-blocked", "rejected")],
)
def test_recipient_errors_are_permanent(server: StubServer, clock: Clock, to: str, code: str) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, clock).send(message(to=to), NOW)
    assert caught.value.code == code
    assert not caught.value.retryable


def test_no_answer_in_time_is_a_timeout(server: StubServer, clock: Clock) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, clock, timeout=0.2).send(message(to="member-slow"), NOW)
    assert (caught.value.code, caught.value.retryable) == ("timeout", True)


def test_refused_connection_is_unavailable(clock: Clock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = AgoraChatProvider(
        base_url=f"http://127.0.0.1:{port}",
        org=ORG,
        app=APP,
        sender=SENDER,
        callback_secret=SECRET,
        app_token="t",
        timeout=0.3,
    )
    with pytest.raises(ProviderError) as caught:
        provider.send(message(), NOW)
    assert (caught.value.code, caught.value.retryable) == ("unavailable", True)


def test_wrong_client_secret_is_rejected_without_leaking_it(server: StubServer, clock: Clock) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, clock, client_secret="wrong-secret").send(message(), NOW)
    assert caught.value.code == "rejected" and not caught.value.retryable
    assert "wrong-secret" not in str(caught.value)


def test_missing_send_settings_fail_the_send_not_the_construction() -> None:
    provider = AgoraChatProvider.from_secrets({"agora_callback_secret": SECRET})
    with pytest.raises(ProviderError) as caught:
        provider.send(message(), NOW)
    assert caught.value.code == "rejected"
    assert "org" in str(caught.value) and "sender" in str(caught.value)


def test_a_bare_host_gets_https() -> None:
    provider = AgoraChatProvider.from_secrets({"agora_callback_secret": SECRET, "agora_host": "a41.chat.agora.io"})
    assert provider.base_url == "https://a41.chat.agora.io"


# --------------------------------------------------------------------------------- callbacks


def hook(body: bytes, method: str = "POST") -> WebhookRequest:
    return WebhookRequest(method, "https://hooks.example.com/webhooks/agora/tok", {}, {}, body)


def callback(
    call_id: str = f"{APPKEY}_9001",
    ts: int = NOW_MS,
    secret: str = SECRET,
    sender: str | None = None,
    recipient: str | None = None,
    **fields: Any,
) -> bytes:
    """A signed callback; ``sender``/``recipient`` become Agora's ``from``/``to``."""
    base: dict[str, Any] = {"eventType": "chat", "appkey": APPKEY, "host": "msync@ebs-ali-beijing-msync45"}
    people = {k: v for k, v in (("from", sender), ("to", recipient)) if v is not None}
    return signed_callback(secret, call_id=call_id, timestamp_ms=ts, **{**base, **people, **fields})


def webhook_provider() -> AgoraChatProvider:
    return AgoraChatProvider(
        base_url="https://a41.chat.agora.io", org=ORG, app=APP, sender=SENDER, callback_secret=SECRET, appkey=APPKEY
    )


def test_read_ack_becomes_a_read_receipt_for_the_acked_message() -> None:
    body = callback(
        call_id=f"{APPKEY}_968665325555943556",
        chat_type="read_ack",
        payload={"ext": {}, "ack_message_id": "968665323572037776", "bodies": []},
        sender="member-1",
        recipient=SENDER,
        msg_id="968665325555943556",
    )
    result = webhook_provider().handle_webhook(hook(body), NOW)

    assert result.answer.status == 200
    (event,) = result.events
    assert event.kind is InboundKind.RECEIPT and event.status is MessageStatus.READ
    assert event.provider_message_id == "968665323572037776"
    assert event.event_id == f"{APPKEY}_968665325555943556"
    assert event.at == NOW and event.channel is Channel.IM and event.provider == "agora"
    assert "security" not in event.raw


def test_a_members_text_message_to_the_store_is_a_reply() -> None:
    body = callback(
        chat_type="chat",
        payload={"ext": {}, "bodies": [{"msg": "T", "type": "txt"}]},
        sender="member-1",
        recipient=SENDER,
        msg_id="9001",
    )
    (event,) = webhook_provider().handle_webhook(hook(body), NOW).events
    assert event.kind is InboundKind.REPLY
    assert (event.sender, event.text, event.provider_message_id) == ("member-1", "T", "9001")


def test_a_members_picture_is_a_reply_that_keeps_only_the_pictures_url() -> None:
    url = "https://a1.easemob.com/org/app/chatfiles/photo-1"
    body = callback(
        chat_type="chat",
        payload={"bodies": [{"type": "img", "url": url, "filename": "p.jpg", "secret": "s"}]},
        sender="member-1",
        recipient=SENDER,
        msg_id="9002",
    )
    (event,) = webhook_provider().handle_webhook(hook(body), NOW).events
    assert event.kind is InboundKind.REPLY
    assert (event.sender, event.text, event.media) == ("member-1", "", (url,))


def test_the_echo_of_our_own_message_is_a_delivered_receipt_matched_by_our_id() -> None:
    body = callback(
        chat_type="chat",
        payload={"ext": {"message_id": "m" + "a" * 25}, "bodies": [{"msg": "hi", "type": "txt"}]},
        sender=SENDER,
        recipient="member-1",
        msg_id="1100000000000000001",
    )
    (event,) = webhook_provider().handle_webhook(hook(body), NOW).events
    assert event.kind is InboundKind.RECEIPT and event.status is MessageStatus.DELIVERED
    assert (event.message_id, event.provider_message_id) == ("m" + "a" * 25, "1100000000000000001")


@pytest.mark.parametrize(
    "fields",
    [
        # the offline-storage copy of a message already reported under eventType "chat"
        {
            "eventType": "chat_offline",
            "chat_type": "chat",
            "from": "member-1",
            "to": SENDER,
            "payload": {"bodies": [{"msg": "T", "type": "txt"}]},
        },
        # two members chatting: not addressed to the store
        {
            "chat_type": "chat",
            "from": "member-1",
            "to": "member-2",
            "payload": {"bodies": [{"msg": "hi", "type": "txt"}]},
        },
        # a voice message from a member
        {"chat_type": "chat", "from": "member-1", "to": SENDER, "payload": {"bodies": [{"type": "audio", "url": "x"}]}},
        # a read receipt for someone else's message
        {"chat_type": "read_ack", "from": "member-1", "to": "member-2", "payload": {"ack_message_id": "1"}},
        {
            "chat_type": "groupchat",
            "from": "member-1",
            "to": "group-1",
            "payload": {"bodies": [{"msg": "x", "type": "txt"}]},
        },
        {"reason": "login", "status": "online"},
    ],
)
def test_callbacks_of_no_interest_are_answered_without_events(fields: dict[str, Any]) -> None:
    result = webhook_provider().handle_webhook(hook(callback(**fields)), NOW)
    assert result.answer.status == 200 and result.events == ()


def test_an_upper_case_signature_is_accepted() -> None:
    doc = json.loads(callback(chat_type="read_ack", payload={"ack_message_id": "1"}, recipient=SENDER))
    doc["security"] = doc["security"].upper()
    assert webhook_provider().handle_webhook(hook(json.dumps(doc).encode()), NOW).events


def test_a_forged_signature_is_refused() -> None:
    body = callback(secret="not-the-secret", chat_type="read_ack", payload={"ack_message_id": "1"}, recipient=SENDER)
    with pytest.raises(WebhookRejected) as caught:
        webhook_provider().handle_webhook(hook(body), NOW)
    assert caught.value.status == 403


def test_a_changed_timestamp_breaks_the_signature() -> None:
    doc = json.loads(callback(chat_type="read_ack", payload={"ack_message_id": "1"}, recipient=SENDER))
    doc["timestamp"] += 1
    with pytest.raises(WebhookRejected) as caught:
        webhook_provider().handle_webhook(hook(json.dumps(doc).encode()), NOW)
    assert caught.value.status == 403


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301), timedelta(days=400)])
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(skew: timedelta) -> None:
    body = callback(ts=int((NOW + skew).timestamp() * 1000), chat_type="read_ack", payload={"ack_message_id": "1"})
    with pytest.raises(WebhookRejected) as caught:
        webhook_provider().handle_webhook(hook(body), NOW)
    assert (caught.value.status, caught.value.code) == (403, "stale")


def test_a_timestamp_inside_the_window_is_accepted() -> None:
    body = callback(ts=NOW_MS - 299_000, chat_type="read_ack", payload={"ack_message_id": "1"}, recipient=SENDER)
    assert webhook_provider().handle_webhook(hook(body), NOW).events


def test_another_app_keys_callback_is_refused() -> None:
    body = callback(appkey="other#app", chat_type="read_ack", payload={"ack_message_id": "1"})
    with pytest.raises(WebhookRejected) as caught:
        webhook_provider().handle_webhook(hook(body), NOW)
    assert (caught.value.status, caught.value.code) == (403, "wrong_app")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (json.dumps({"callId": "x", "timestamp": NOW_MS}).encode(), 401),
        (json.dumps({"security": "ab", "timestamp": NOW_MS}).encode(), 400),
        (json.dumps({"security": "ab", "callId": "x", "timestamp": "soon"}).encode(), 400),
        (json.dumps({"security": "ab", "callId": "x", "timestamp": True}).encode(), 400),
        (b"[" * 100_000, 413),
        (b"[" * 60_000, 400),
    ],
)
def test_malformed_or_unsigned_callbacks_are_refused(body: bytes, status: int) -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook_provider().handle_webhook(hook(body), NOW)
    assert caught.value.status == status


def test_a_get_is_refused() -> None:
    with pytest.raises(WebhookRejected):
        webhook_provider().handle_webhook(hook(b"", method="GET"), NOW)


# ---------------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _settles(body: bytes) -> None:
    try:
        result = webhook_provider().handle_webhook(hook(body), NOW)
    except WebhookRejected as rejected:
        assert rejected.status in (400, 401, 403, 413)
    else:
        assert isinstance(result, WebhookResult) and result.answer.status == 200


@FUZZ
@given(json_values)
def test_fuzz_random_json(doc: object) -> None:
    _settles(json.dumps(doc).encode())


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["eventType", "chat_type", "from", "to", "msg_id", "payload", "appkey", "group_id"]),
        json_values
        | st.sampled_from(["chat", "chat_offline", "read_ack", SENDER, "member-1", APPKEY])
        | st.fixed_dictionaries(
            {
                "bodies": st.lists(st.fixed_dictionaries({"type": st.just("txt"), "msg": json_values})),
                "ext": json_values,
            }
        )
        | st.fixed_dictionaries({"ack_message_id": json_values}),
    ),
    st.integers(min_value=-10_000, max_value=10_000),
)
def test_fuzz_signed_callbacks_with_random_contents(fields: dict[str, Any], skew_ms: int) -> None:
    """Past the signature: whatever the fields hold, the parser answers or refuses, nothing else."""
    _settles(callback(ts=NOW_MS + skew_ms, **fields))
