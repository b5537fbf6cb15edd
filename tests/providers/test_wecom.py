"""WeCom kf adapter against a stub speaking WeCom's wire format; callback crypto and fetch."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.providers.base import WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from chalicelib.adapters.providers.wecom import (
    WeComKfProvider,
    decrypt,
    encrypt,
    kf_msgid,
    msg_signature,
    signed_callback,
)
from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.fakes import FakeCursors
from tests.providers.stubkit import StubServer, serving
from tests.providers.stubs.wecom_stub import WeComStub, customer_text, send_failed

CORP, SECRET, KFID = "ww1234567890abcdef", "kf-secret-1", "wkAbCdEf0123456789"
TOKEN = "callbackToken123"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters, as WeCom shows it
KEY = base64.b64decode(AES_KEY + "=")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KF_EVENT = (
    "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>1740830400</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
    "<OpenKfId><![CDATA[{kfid}]]></OpenKfId></xml>"
)


class Clock:
    def __init__(self) -> None:
        self.t = 5_000_000.0

    def __call__(self) -> float:
        return self.t


def message(to: str = "wm-member-1", mid: str = "m" + "a" * 25, text: str = "新品到店啦") -> OutboundMessage:
    return OutboundMessage(mid, "im", to, text, "transactional", trigger="new_arrivals")


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[StubServer, list[WeComStub]]]:
    """One server for the module (stopping one costs half a second); each test gets a fresh stub."""
    current: list[WeComStub] = []
    with serving(lambda request: current[-1].handle(request)) as server:
        yield server, current


@pytest.fixture
def stub(running: tuple[StubServer, list[WeComStub]]) -> WeComStub:
    fresh = WeComStub(CORP, SECRET, KFID, slow_seconds=0.6)
    running[1].append(fresh)
    running[0].requests.clear()
    return fresh


@pytest.fixture
def server(stub: WeComStub, running: tuple[StubServer, list[WeComStub]]) -> StubServer:
    return running[0]


def adapter(server: StubServer | None = None, clock: Clock | None = None, **overrides: Any) -> WeComKfProvider:
    secrets = {
        "wecom_token": TOKEN,
        "wecom_aes_key": AES_KEY,
        "wecom_corp_id": CORP,
        "wecom_secret": SECRET,
        "wecom_open_kfid": KFID,
    }
    settings_: dict[str, Any] = {"timeout": 0.3, "clock": clock or Clock(), **overrides}
    if server is not None:
        settings_.setdefault("base_url", server.url)
    return WeComKfProvider.from_secrets(secrets, **settings_)


def gettoken_calls(server: StubServer) -> int:
    return sum(1 for r in server.requests if r.path == "/cgi-bin/gettoken")


# --------------------------------------------------------------------------------- sending


def test_send_uses_our_id_as_msgid_and_an_access_token(stub: WeComStub, server: StubServer) -> None:
    result = adapter(server).send(message(), NOW)

    assert (result.provider_message_id, result.parts) == ("m" + "a" * 25, 1)
    body = stub.sent["m" + "a" * 25]
    assert body == {
        "touser": "wm-member-1",
        "open_kfid": KFID,
        "msgid": "m" + "a" * 25,
        "msgtype": "text",
        "text": {"content": "新品到店啦"},
    }
    token_request = next(r for r in server.requests if r.path == "/cgi-bin/gettoken")
    assert token_request.query == {"corpid": CORP, "corpsecret": SECRET}
    assert server.requests[-1].query == {"access_token": stub.tokens_issued[0]}


def test_the_token_and_the_sends_share_one_kept_alive_connection(stub: WeComStub, server: StubServer) -> None:
    provider = adapter(server)
    provider.send(message(mid="m1"), NOW)
    provider.send(message(mid="m2"), NOW)
    assert [r.path for r in server.requests] == ["/cgi-bin/gettoken", "/cgi-bin/kf/send_msg", "/cgi-bin/kf/send_msg"]
    assert len({r.client_port for r in server.requests}) == 1


def test_access_token_is_cached_then_renewed_before_7200_s(stub: WeComStub, server: StubServer) -> None:
    clock = Clock()
    provider = adapter(server, clock, token_margin=300)
    provider.send(message(mid="m1"), NOW)
    clock.t += 7200 - 301
    provider.send(message(mid="m2"), NOW)
    assert gettoken_calls(server) == 1
    clock.t += 2
    provider.send(message(mid="m3"), NOW)
    assert gettoken_calls(server) == 2


@pytest.mark.parametrize("how", ["expired", "unknown"])
def test_an_expired_or_invalid_token_is_renewed_once(stub: WeComStub, server: StubServer, how: str) -> None:
    provider = adapter(server)
    provider.send(message(mid="m1"), NOW)
    if how == "expired":
        stub.expire_tokens()  # 42001
    else:
        stub.tokens_issued.clear()  # 40014
    assert provider.send(message(mid="m2"), NOW).provider_message_id == "m2"
    assert gettoken_calls(server) == 2


def test_a_repeated_msgid_is_one_message(stub: WeComStub, server: StubServer) -> None:
    provider = adapter(server)
    assert provider.dedupes
    first = provider.send(message(), NOW)
    again = provider.send(message(), NOW)
    assert first == again and len(stub.sent) == 1 and stub.members["wm-member-1"] == 4


def test_the_sixth_message_since_the_member_wrote_is_rejected_with_the_reason(
    stub: WeComStub, server: StubServer
) -> None:
    provider = adapter(server)
    for n in range(5):
        provider.send(message(mid=f"m{n}"), NOW)
    with pytest.raises(ProviderError) as caught:
        provider.send(message(mid="m5"), NOW)
    assert (caught.value.code, caught.value.retryable) == ("rejected", False)
    assert "95001" in str(caught.value) and "48 h" in str(caught.value)


@pytest.mark.parametrize(
    ("to", "code", "words"),
    [("wm-member-closed", "rejected", "95018"), ("wm-nobody", "invalid_address", "40096")],
)
def test_recipient_errors_are_permanent(server: StubServer, to: str, code: str, words: str) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server).send(message(to=to), NOW)
    assert (caught.value.code, caught.value.retryable) == (code, False)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [(45009, 200, "throttled"), (45033, 200, "throttled"), (-1, 200, "unavailable"), (0, 503, "unavailable")],
)
def test_busy_and_limited_answers_are_retryable(
    stub: WeComStub, server: StubServer, errcode: int, status: int, code: str
) -> None:
    provider = adapter(server)
    provider.send(message(mid="warm-up"), NOW)
    stub.fail_next(errcode, status=status)
    with pytest.raises(ProviderError) as caught:
        provider.send(message(), NOW)
    assert (caught.value.code, caught.value.retryable) == (code, True)


def test_no_answer_in_time_is_a_timeout(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, timeout=0.2).send(message(to="wm-member-slow"), NOW)
    assert (caught.value.code, caught.value.retryable) == ("timeout", True)


def test_a_wrong_secret_is_rejected_without_showing_it(server: StubServer) -> None:
    with pytest.raises(ProviderError) as caught:
        adapter(server, secret="wrong-secret").send(message(), NOW)
    assert (caught.value.code, caught.value.retryable) == ("rejected", False)
    assert "wrong-secret" not in str(caught.value)


def test_errors_never_show_the_access_token(stub: WeComStub, server: StubServer) -> None:
    provider = adapter(server)
    provider.send(message(mid="warm-up"), NOW)
    stub.fail_next(0, status=502)
    with pytest.raises(ProviderError) as caught:
        provider.send(message(), NOW)
    assert stub.tokens_issued[0] not in str(caught.value)


def test_without_secret_or_kf_account_sending_is_refused() -> None:
    provider = WeComKfProvider.from_secrets({"wecom_token": TOKEN, "wecom_aes_key": AES_KEY, "wecom_corp_id": CORP})
    with pytest.raises(ProviderError) as caught:
        provider.send(message(), NOW)
    assert caught.value.code == "rejected"


def test_kf_msgid_keeps_our_ids_and_digests_others() -> None:
    assert kf_msgid("m" + "a" * 25) == "m" + "a" * 25
    long = kf_msgid("x" * 40)
    assert len(long) == 32 and long == kf_msgid("x" * 40)
    assert kf_msgid("has space") != "has space"


# --------------------------------------------------------------------------------- callbacks


def test_encrypt_decrypt_round_trip_pads_to_32() -> None:
    encrypted = encrypt(b"<xml/>", KEY, CORP, random16=b"r" * 16)
    raw = base64.b64decode(encrypted)
    assert len(raw) % 32 == 0
    assert decrypt(encrypted, KEY) == (b"<xml/>", CORP.encode())


def url_check(echostr: str, signature: str | None = None) -> WebhookRequest:
    query = {
        "msg_signature": signature or msg_signature(TOKEN, "1740830400", "nonce1", echostr),
        "timestamp": "1740830400",
        "nonce": "nonce1",
        "echostr": echostr,
    }
    return WebhookRequest(
        "GET",
        "https://hooks.example.com/webhooks/wecom/tok?" + "&".join(f"{k}={quote(v)}" for k, v in query.items()),
        {},
        query,
        b"",
    )


def test_url_check_answers_the_decrypted_echostr() -> None:
    echostr = encrypt(b"1616140317555161061", KEY, CORP)
    result = adapter().handle_webhook(url_check(echostr), NOW)
    assert result.answer == WebhookAnswer(200, "1616140317555161061", "text/plain")
    assert result.events == ()


def test_url_check_tolerates_a_plus_turned_into_a_space() -> None:
    echostr = next(e for e in (encrypt(b"42", KEY, CORP, random16=bytes([i]) * 16) for i in range(256)) if "+" in e)
    signature = msg_signature(TOKEN, "1740830400", "nonce1", echostr)
    result = adapter().handle_webhook(url_check(echostr.replace("+", " "), signature), NOW)
    assert result.answer.body == "42"


@pytest.mark.parametrize("change", ["signature", "corp"])
def test_a_forged_url_check_is_refused(change: str) -> None:
    echostr = encrypt(b"1616140317555161061", KEY, "ww-someone-else" if change == "corp" else CORP)
    request = url_check(echostr, "0" * 40 if change == "signature" else None)
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(request, NOW)
    assert caught.value.status == 403


def post(query: dict[str, str], body: bytes) -> WebhookRequest:
    return WebhookRequest("POST", "https://hooks.example.com/webhooks/wecom/tok", {}, query, body)


def kf_callback(corp: str = CORP, kfid: str = KFID, xml: str | None = None) -> tuple[dict[str, str], bytes]:
    text = xml if xml is not None else KF_EVENT.format(corp=CORP, kfid=kfid)
    return signed_callback(
        text, token=TOKEN, encoding_aes_key=AES_KEY, corp_id=corp, timestamp="1740830400", nonce="n1"
    )


def test_a_kf_notification_becomes_one_fetch_event_answered_at_once() -> None:
    result = adapter().handle_webhook(post(*kf_callback()), NOW)

    assert (result.answer.status, result.answer.body) == (200, "")
    (event,) = result.events
    assert event.kind is InboundKind.FETCH and event.channel is Channel.IM
    assert event.provider_message_id == "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
    assert event.text == KFID
    assert event.event_id == f"{KFID}:ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
    assert event.at == datetime.fromtimestamp(1740830400, UTC)


def test_a_forged_signature_is_refused() -> None:
    query, body = kf_callback()
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post({**query, "msg_signature": "f" * 40}, body), NOW)
    assert (caught.value.status, caught.value.code) == (403, "bad_signature")


def test_a_swapped_body_breaks_the_signature() -> None:
    query, _ = kf_callback()
    _, other = kf_callback(kfid="wkOther")
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post(query, other), NOW)
    assert caught.value.status == 403


def test_a_callback_for_another_corp_is_refused() -> None:
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post(*kf_callback(corp="ww-someone-else")), NOW)
    assert (caught.value.status, caught.value.code) == (403, "wrong_corp")


def test_an_unsigned_callback_is_refused() -> None:
    _, body = kf_callback()
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post({"timestamp": "1", "nonce": "n"}, body), NOW)
    assert caught.value.status == 401


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><MsgType>event</MsgType><Event>change_external_contact</Event></xml>",
        KF_EVENT.format(corp=CORP, kfid="wkAnotherKfAccount"),
        "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event></xml>",
    ],
)
def test_other_notifications_are_answered_without_events(xml: str) -> None:
    result = adapter().handle_webhook(post(*kf_callback(xml=xml)), NOW)
    assert result.answer.status == 200 and result.events == ()


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><Encrypt>&lol3;</Encrypt></xml>'
)
EXTERNAL = '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>'


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (BOMB.encode(), 400),
        (EXTERNAL.encode(), 400),
        (b"<!doctype xml><xml/>", 400),
        (b"<xml><Encrypt>" + b"A" * 70_000 + b"</Encrypt></xml>", 413),
        (b"<xml><Encrypt>\xff\xfe</Encrypt></xml>", 400),
        (b"<xml><Encrypt>unclosed", 400),
        (b"<xml><ToUserName>x</ToUserName></xml>", 400),
        (b"", 400),
    ],
)
def test_hostile_or_malformed_outer_xml_is_refused_before_anything_else(body: bytes, status: int) -> None:
    query = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post(query, body), NOW)
    assert caught.value.status == status


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]><xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>&lol9;</Token></xml>"
)  # a billion "lol"s once expanded: 3 GB from 1 KB
PARAMETER = (
    '<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://169.254.169.254/latest/meta-data/"> %remote;]>'
    "<xml><Encrypt>x</Encrypt></xml>"
)


@pytest.mark.parametrize("xml", [BOMB, LAUGHS, EXTERNAL, PARAMETER], ids=["bomb", "billion", "external", "parameter"])
def test_entities_inside_the_encrypted_message_are_refused_too(xml: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post(*kf_callback(xml=xml)), NOW)
    assert caught.value.status == 400


@pytest.mark.parametrize("body", [LAUGHS, PARAMETER])
def test_a_billion_laughs_or_a_parameter_entity_outside_is_refused(body: str) -> None:
    query = {"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post(query, body.encode()), NOW)
    assert caught.value.status == 400


def test_the_predefined_entities_still_parse() -> None:
    xml = (
        "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event>"
        "<Token>ENC&lt;&gt;1</Token><OpenKfId>wk&amp;1</OpenKfId></xml>"
    )
    (event,) = adapter(open_kfid="").handle_webhook(post(*kf_callback(xml=xml)), NOW).events
    assert (event.text, event.provider_message_id) == ("wk&1", "ENC<>1")


def test_a_signed_but_undecryptable_body_is_malformed() -> None:
    encrypted = base64.b64encode(b"x" * 31).decode()
    query = {"msg_signature": msg_signature(TOKEN, "1", "n", encrypted), "timestamp": "1", "nonce": "n"}
    with pytest.raises(WebhookRejected) as caught:
        adapter().handle_webhook(post(query, f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()), NOW)
    assert caught.value.status == 400


# ------------------------------------------------------------------------------------ fetch


def fetch_event(token: str = "kf-token-1") -> InboundEvent:
    return InboundEvent(
        "wecom", InboundKind.FETCH, f"{KFID}:{token}", NOW, Channel.IM, provider_message_id=token, text=KFID
    )


def inbox(start: int, count: int) -> list[dict[str, Any]]:
    return [
        customer_text(f"msg-{n}", "wm-member-1", f"hello {n}", KFID, 1740830400 + n)
        for n in range(start, start + count)
    ]


def test_fetch_pages_through_has_more_and_keeps_the_cursor(stub: WeComStub, server: StubServer) -> None:
    stub.kf_tokens.add("kf-token-1")
    stub.page_size = 2
    stub.inbox = [
        *inbox(0, 2),
        send_failed("evt-1", "m" + "a" * 25, 4, KFID, 1740830500),
        {**customer_text("staff-1", "wm-member-1", "staff wrote", KFID, 1740830501), "origin": 5},
        {
            "msgid": "evt-2",
            "origin": 4,
            "msgtype": "event",
            "send_time": 1740830502,
            "event": {"event_type": "enter_session", "open_kfid": KFID, "external_userid": "wm-member-2"},
        },
        {
            "msgid": "img-1",
            "origin": 3,
            "msgtype": "image",
            "external_userid": "wm-member-1",
            "image": {"media_id": "x"},
        },
        *inbox(2, 1),
    ]
    cursors = FakeCursors()

    events = adapter(server).fetch(fetch_event(), cursors, NOW)

    assert [e.kind for e in events] == [InboundKind.REPLY, InboundKind.REPLY, InboundKind.RECEIPT, InboundKind.REPLY]
    first = events[0]
    assert (first.event_id, first.sender, first.text) == ("msg-0", "wm-member-1", "hello 0")
    assert first.at == datetime.fromtimestamp(1740830400, UTC)
    failed = events[2]
    assert failed.status is MessageStatus.FAILED and failed.message_id == "m" + "a" * 25
    assert failed.provider_message_id == "m" + "a" * 25 and failed.event_id == "evt-1"
    assert failed.reason is not None and failed.reason.startswith("fail_type 4")
    assert cursors.values == {f"wecom:{KFID}": "c7"}
    assert [c.get("cursor") for c in stub.sync_calls] == [None, "c2", "c4", "c6"]
    assert all(c["token"] == "kf-token-1" and c["limit"] == 1000 and c["open_kfid"] == KFID for c in stub.sync_calls)

    stub.kf_tokens.add("kf-token-2")
    stub.inbox.extend(inbox(3, 1))
    more = adapter(server).fetch(fetch_event("kf-token-2"), cursors, NOW)
    assert [e.event_id for e in more] == ["msg-3"]
    assert stub.sync_calls[-1]["cursor"] == "c7" and cursors.values[f"wecom:{KFID}"] == "c8"


def test_a_failed_page_stores_no_cursor_so_the_retry_rereads(stub: WeComStub, server: StubServer) -> None:
    stub.kf_tokens.add("kf-token-1")
    stub.page_size = 2
    stub.inbox = inbox(0, 5)
    cursors = FakeCursors()
    provider = adapter(server)
    provider.fetch(fetch_event(), FakeCursors(), NOW)  # warm the access token
    stub.sync_calls.clear()
    original = stub.handle

    def fail_second_page(request: Any) -> Any:
        if len(stub.sync_calls) == 1:
            stub.fail_next(-1)
        return original(request)

    stub.handle = fail_second_page  # type: ignore[method-assign]
    with pytest.raises(ProviderError) as caught:
        provider.fetch(fetch_event(), cursors, NOW)
    assert caught.value.retryable and cursors.values == {}

    stub.handle = original  # type: ignore[method-assign]
    assert len(provider.fetch(fetch_event(), cursors, NOW)) == 5


def test_fetch_is_bounded_by_max_pages(stub: WeComStub, server: StubServer) -> None:
    stub.kf_tokens.add("kf-token-1")
    stub.page_size = 1
    stub.inbox = inbox(0, 5)
    cursors = FakeCursors()
    events = adapter(server, max_pages=2).fetch(fetch_event(), cursors, NOW)
    assert len(events) == 2 and cursors.values[f"wecom:{KFID}"] == "c2"


# ---------------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WEBHOOK = adapter()


def _settles(request: WebhookRequest) -> None:
    try:
        result = WEBHOOK.handle_webhook(request, NOW)
    except WebhookRejected as rejected:
        assert rejected.status in (400, 401, 403, 413)
    else:
        assert isinstance(result, WebhookResult) and result.answer.status == 200


xml_text = st.recursive(
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    lambda inner: st.builds(
        lambda tag, children: f"<{tag}>{''.join(children)}</{tag}>",
        st.sampled_from(["xml", "Encrypt", "MsgType", "Event", "Token", "OpenKfId", "CreateTime", "a"]),
        st.lists(inner, max_size=4),
    ),
    max_leaves=12,
)


@FUZZ
@given(xml_text)
def test_fuzz_random_xml_bodies(xml: str) -> None:
    _settles(post({"msg_signature": "0" * 40, "timestamp": "1", "nonce": "n"}, xml.encode()))


@FUZZ
@given(
    st.one_of(
        xml_text,
        st.builds(
            lambda parts: "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in parts.items()) + "</xml>",
            st.dictionaries(
                st.sampled_from(["MsgType", "Event", "Token", "OpenKfId", "CreateTime"]),
                st.sampled_from(["event", "kf_msg_or_event", KFID, "", "-1", "99999999999999999999", "<![CDATA[x]]>"])
                | st.text(st.characters(codec="ascii", exclude_characters="<&"), max_size=12),
            ),
        ),
    )
)
def test_fuzz_signed_encrypted_contents(xml: str) -> None:
    """Past the signature and decryption: whatever the message holds, answer or refuse."""
    _settles(post(*kf_callback(xml=xml)))


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_signed_random_ciphertext(blob: bytes) -> None:
    encrypted = base64.b64encode(blob).decode()
    query = {"msg_signature": msg_signature(TOKEN, "1", "n", encrypted), "timestamp": "1", "nonce": "n"}
    _settles(post(query, f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()))
    _settles(WebhookRequest("GET", "https://h/x", {}, {**query, "echostr": encrypted}, b""))


def test_raw_never_carries_the_kf_token() -> None:
    (event,) = adapter().handle_webhook(post(*kf_callback()), NOW).events
    assert "ENCApHx" not in event.raw and json.loads(event.raw)["OpenKfId"] == KFID
