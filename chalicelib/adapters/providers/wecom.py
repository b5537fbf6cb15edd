"""WeCom customer service (微信客服, "kf"): messages to members in WeChat, through the store's kf
account.

Send side: ``POST /cgi-bin/kf/send_msg?access_token=…`` with ``msgid`` = our message id, so the
failure event WeCom reports later (``msg_send_fail.fail_msgid``) names our record, and WeCom
keeps one message per ``msgid`` (``dedupes``). The ``access_token`` from ``gettoken`` is cached
for its ``expires_in`` (7,200 s) less a margin and fetched again once when WeCom answers 40014 /
42001. kf is reactive only: at most 5 messages within 48 h after the member last wrote; past
that WeCom refuses (95001 over the count, 95018 session not open for API sends) and we report
``rejected`` with that reason — retrying cannot help until the member writes again. kf has no
delivery receipts and no message-status query (``can_query_status`` False): only a failure event
(``msg_send_fail``, pulled by :meth:`fetch`) ever says what became of a message.

Webhook side: WeCom's callback encryption (developer.work.weixin.qq.com/document/path/91144).
``GET`` is the URL check: verify ``msg_signature`` over (token, timestamp, nonce, echostr) and
answer the decrypted ``echostr``. ``POST`` carries ``<xml><Encrypt>…</Encrypt></xml>``: verify
the signature over ``Encrypt``, AES-256-CBC decrypt, check the trailing corp id, parse. The only
event kf sends is ``kf_msg_or_event`` ("come and get it", with a ``Token`` valid 10 minutes):
it becomes one ``FETCH`` event and we answer at once with an empty 200 (WeCom retries a callback
not answered within 5 s). The inbound worker then calls :meth:`fetch`, which pulls with
``kf/sync_msg`` from the cursor kept in ``Cursors`` under ``wecom:{open_kfid}``.

XML safety: bodies are size-capped and must be UTF-8, and ``defusedxml`` parses them with every DTD
refused (``forbid_dtd``), so no entity can be defined, let alone expanded or fetched (billion
laughs, external and parameter entities); only XML's predefined entities (``&amp;`` …) remain.

:func:`signed_callback` builds an encrypted, signed callback (tests; a future ``memberpulse
reply`` CLI that plays a member writing in).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import struct
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.model import Channel, MessageStatus
from ...ports import OutboundMessage, ProviderError, SendResult
from .base import Cursors, ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .error_codes import ErrorCodes, Meaning
from .http_json import CachedToken, JsonResponse, get_json, post_json

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
MAX_XML_BYTES = 64 * 1024
_BLOCK = 32  # WeCom pads to 32-byte blocks (PKCS#7 with k = 32), not AES's 16
_MSGID = re.compile(r"[0-9A-Za-z_-]{1,32}")
_EMPTY_OK = WebhookAnswer(200, "", "text/plain")
_TOKEN_EXPIRED = frozenset({40014, 42001})  # invalid / expired access_token: fetch a new one, once
_CREDENTIALS = Meaning("rejected", "credentials refused; check wecom_corp_id/wecom_secret")
# errcodes (developer.work.weixin.qq.com/document/path/90313); HTTP 429 and 5xx: throttled / unavailable.
ERROR_CODES = ErrorCodes.of(
    {
        "-1": Meaning("unavailable", "system busy"),
        "45009": Meaning("throttled", "API call quota"),
        "45011": Meaning("throttled", "API minute quota"),
        "45033": Meaning("throttled", "too many concurrent calls"),
        "95001": Meaning(
            "rejected", "over kf's 5 messages per 48 h since the member last wrote; wait for the member to write"
        ),
        "95013": Meaning("rejected", "the member's kf session is ended or taken over by staff"),
        "95018": Meaning(
            "rejected",
            "the member's kf session is not open for API messages "
            "(ended, over 48 h since the member last wrote, or taken over by staff)",
        ),
        "40003": Meaning("invalid_address", "unknown external_userid"),
        "40096": Meaning("invalid_address", "unknown external_userid"),
        "40001": _CREDENTIALS,
        "40013": _CREDENTIALS,
        "40014": _CREDENTIALS,
        "42001": _CREDENTIALS,
        "42009": _CREDENTIALS,
    }
)

# msg_send_fail.fail_type, as WeCom documents them (the number always goes into the reason too).
FAIL_TYPES: dict[int, str] = {
    0: "unknown reason",
    1: "kf account deleted",
    2: "application closed",
    4: "session expired (over 48 h since the member last wrote)",
    5: "session closed",
    6: "over the 5-message limit",
    8: "organisation not verified",
    10: "member refuses messages",
    11: "no member logged in to the WeCom app",
    12: "message type not allowed",
}


class WeComKfProvider(ProviderAdapter[bytes]):
    name: ClassVar[str] = "wecom"
    error_codes = ERROR_CODES
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.IM})
    dedupes: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = False
    webhook_methods: ClassVar[frozenset[str]] = frozenset({"GET", "POST"})  # GET: the URL check
    max_webhook_bytes: ClassVar[int] = MAX_XML_BYTES

    def __init__(
        self,
        *,
        corp_id: str,
        token: str,
        encoding_aes_key: str,
        secret: str = "",
        open_kfid: str = "",
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 5.0,
        token_margin: float = 300.0,
        max_pages: int = 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``token`` and ``encoding_aes_key`` are the callback settings of the kf app;
        ``secret`` (the kf "Secret") and ``open_kfid`` (the store's kf account) are needed only
        to send and fetch. ``max_pages`` bounds one fetch (1,000 messages a page); ``clock`` is
        the wall clock for the access_token cache."""
        self.corp_id = corp_id
        self.token = token
        self.aes_key = _aes_key(encoding_aes_key)
        self.secret = secret
        self.open_kfid = open_kfid
        if not (secret and open_kfid):
            self.send_unavailable = "wecom: not configured for sending (missing secret or open_kfid)"
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token_margin = token_margin
        self.max_pages = max_pages
        self.clock = clock
        self._access_token: CachedToken | None = None

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **overrides: Any) -> WeComKfProvider:
        """Build from the stage's secrets. Keys: ``wecom_token``, ``wecom_aes_key`` (the 43-char
        EncodingAESKey), ``wecom_corp_id`` (all three required: they verify and decrypt
        callbacks), ``wecom_secret`` and ``wecom_open_kfid`` (to send and fetch; without them a
        send or fetch fails as ``rejected``)."""
        settings: dict[str, Any] = {
            "token": secrets["wecom_token"],
            "encoding_aes_key": secrets["wecom_aes_key"],
            "corp_id": secrets["wecom_corp_id"],
            "secret": secrets.get("wecom_secret", ""),
            "open_kfid": secrets.get("wecom_open_kfid", ""),
        }
        settings.update(overrides)
        return cls(**settings)

    # ----------------------------------------------------------------------------- send side

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        if not (self.secret and self.open_kfid):
            raise ProviderError("wecom: not configured for sending (missing secret or open_kfid)", False)
        msgid = kf_msgid(message.message_id)
        body = {
            "touser": message.to,
            "open_kfid": self.open_kfid,
            "msgid": msgid,
            "msgtype": "text",
            "text": {"content": message.text},
        }
        data = self._call("/cgi-bin/kf/send_msg", body, "send")
        returned = data.get("msgid")
        return SendResult(returned if isinstance(returned, str) and returned else msgid, 1)

    def _call(self, path: str, body: Mapping[str, Any], what: str) -> dict[str, Any]:
        """POST with the access_token; a token WeCom calls invalid or expired is replaced once."""
        for attempt in (1, 2):
            answer = post_json(
                f"{self.base_url}{path}?{urlencode({'access_token': self._token()})}",
                body,
                provider=self.name,
                timeout=self.timeout,
            )
            data = self._errcode_body(answer, what)
            errcode = data["errcode"]
            if errcode == 0:
                return data
            if errcode in _TOKEN_EXPIRED and attempt == 1:
                self._access_token = None
                continue
            raise self._errcode_error(errcode, data.get("errmsg"), what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self) -> str:
        now = self.clock()
        if self._access_token is not None and now < self._access_token.good_until:
            return self._access_token.value
        query = urlencode({"corpid": self.corp_id, "corpsecret": self.secret})
        answer = get_json(f"{self.base_url}/cgi-bin/gettoken?{query}", provider=self.name, timeout=self.timeout)
        data = self._errcode_body(answer, "gettoken")
        token = data.get("access_token")
        if data["errcode"] != 0 or not isinstance(token, str) or not token:
            raise self._errcode_error(data["errcode"] or 40001, data.get("errmsg"), "gettoken")
        expires_in = data.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int) and expires_in > 0 else 7200.0
        self._access_token = CachedToken(token, now + lifetime - min(self.token_margin, lifetime / 2))
        return token

    def _errcode_body(self, answer: JsonResponse, what: str) -> dict[str, Any]:
        """WeCom answers HTTP 200 with ``{errcode, errmsg, …}``; anything else is no answer of its."""
        data = answer.data if isinstance(answer.data, dict) else None
        errcode = data.get("errcode", 0) if data is not None else None
        if answer.status != 200:
            raise self.failure(None, status=answer.status, detail=what, retry_after=answer.retry_after)
        if data is None or not isinstance(errcode, int) or isinstance(errcode, bool):
            raise self.unreadable(what)
        return {**data, "errcode": errcode}

    def _errcode_error(self, errcode: int, errmsg: object, what: str) -> ProviderError:
        detail = errmsg.split(",")[0][:120] if isinstance(errmsg, str) else ""
        return self.failure(errcode, detail=f"{what}: {detail}".rstrip(": "))

    # -------------------------------------------------------------------------- webhook side

    def verify(self, request: WebhookRequest, now: datetime) -> bytes:
        """``msg_signature`` over the ``echostr`` (GET, the URL check) or the ``Encrypt`` element
        (POST), then decryption, which also checks the corp id: the decrypted message."""
        signature, timestamp, nonce = _signed_query(request.query)
        if request.method.upper() == "GET":
            encrypted = request.query.get("echostr")
            if not encrypted:
                raise WebhookRejected(400, "malformed", "URL check without echostr")
            if " " in encrypted and not self._signature_matches(signature, timestamp, nonce, encrypted):
                encrypted = encrypted.replace(" ", "+")  # a '+' that a form-style query parser turned into ' '
        else:
            encrypted = _parse_xml(request.body).get("Encrypt") or ""
            if not encrypted:
                raise WebhookRejected(400, "malformed", "callback has no Encrypt element")
        self._check_signature(signature, timestamp, nonce, encrypted)
        return self._decrypt(encrypted)

    def parse(self, request: WebhookRequest, verified: bytes, now: datetime) -> WebhookResult:
        if request.method.upper() == "GET":
            try:
                return WebhookResult(WebhookAnswer(200, verified.decode(), "text/plain"))
            except UnicodeDecodeError as error:
                raise WebhookRejected(400, "malformed", "echostr is not UTF-8") from error
        fields = _parse_xml(verified)
        if fields.get("MsgType") != "event" or fields.get("Event") != "kf_msg_or_event":
            return WebhookResult(_EMPTY_OK)
        kf_token, open_kfid = fields.get("Token"), fields.get("OpenKfId")
        if not kf_token or not open_kfid or (self.open_kfid and open_kfid != self.open_kfid):
            return WebhookResult(_EMPTY_OK)  # not for the store's kf account: nothing to pull
        event = InboundEvent(
            provider=self.name,
            kind=InboundKind.FETCH,
            event_id=f"{open_kfid}:{kf_token}",
            at=_unix(fields.get("CreateTime")) or now,
            channel=Channel.IM,
            provider_message_id=kf_token,
            text=open_kfid,
            raw=_json_text({k: v for k, v in fields.items() if k != "Token"}),
        )
        return WebhookResult(_EMPTY_OK, (event,))

    def _signature_matches(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> bool:
        expected = msg_signature(self.token, timestamp, nonce, encrypted)
        return hmac.compare_digest(expected.encode(), signature.lower().encode())

    def _check_signature(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        if not self._signature_matches(signature, timestamp, nonce, encrypted):
            raise WebhookRejected(403, "bad_signature", "msg_signature does not match")

    def _decrypt(self, encrypted: str) -> bytes:
        try:
            message, receive_id = decrypt(encrypted, self.aes_key)
        except ValueError as error:
            raise WebhookRejected(400, "malformed", f"cannot decrypt: {error}") from error
        if not hmac.compare_digest(receive_id, self.corp_id.encode()):
            raise WebhookRejected(403, "wrong_corp", "callback is for another corp id")
        return message

    # ---------------------------------------------------------------------------- fetch side

    def fetch(self, event: InboundEvent, cursors: Cursors, now: datetime) -> list[InboundEvent]:
        """Pull what the notification announced. All or nothing: the cursor is stored only after
        every page was read, so a failure (raised as ProviderError for the worker to retry)
        re-reads from the old cursor and duplicates are dropped by event id (WeCom's msgid)."""
        if not self.secret:
            raise ProviderError("wecom: not configured for fetching (missing secret)", False)
        open_kfid = event.text or self.open_kfid
        key = f"wecom:{open_kfid}"
        start = cursor = cursors.get(key) or ""
        events: list[InboundEvent] = []
        for _ in range(self.max_pages):
            body: dict[str, Any] = {"token": event.provider_message_id or "", "limit": 1000, "open_kfid": open_kfid}
            if cursor:
                body["cursor"] = cursor
            data = self._call("/cgi-bin/kf/sync_msg", body, "sync_msg")
            items = data.get("msg_list")
            for item in items if isinstance(items, list) else []:
                mapped = self._inbound(item) if isinstance(item, dict) else None
                if mapped is not None:
                    events.append(mapped)
            next_cursor = data.get("next_cursor")
            if isinstance(next_cursor, str) and next_cursor:
                cursor = next_cursor
            if data.get("has_more") not in (1, True):
                break
        if cursor != start:
            cursors.put(key, cursor)
        return events

    def _inbound(self, item: dict[str, Any]) -> InboundEvent | None:
        at = _unix(item.get("send_time")) or datetime.now(UTC)
        msgid = item.get("msgid")
        msgid = msgid if isinstance(msgid, str) and msgid else None
        if item.get("msgtype") == "text" and item.get("origin") == 3:  # 3: the member wrote it
            text = item.get("text")
            content = text.get("content") if isinstance(text, dict) else None
            sender = item.get("external_userid")
            if msgid is None or not isinstance(content, str) or not isinstance(sender, str) or not sender:
                return None
            return InboundEvent(
                provider=self.name,
                kind=InboundKind.REPLY,
                event_id=msgid,
                at=at,
                channel=Channel.IM,
                provider_message_id=msgid,
                sender=sender,
                text=content,
                raw=_json_text(item),
            )
        details = item.get("event")
        if item.get("msgtype") == "event" and isinstance(details, dict):
            failed = details.get("fail_msgid")
            if details.get("event_type") != "msg_send_fail" or not isinstance(failed, str) or not failed:
                return None
            fail_type = details.get("fail_type")
            meaning = FAIL_TYPES.get(fail_type, "unlisted") if isinstance(fail_type, int) else "unlisted"
            return InboundEvent(
                provider=self.name,
                kind=InboundKind.RECEIPT,
                event_id=msgid or f"msg_send_fail:{failed}",
                at=at,
                channel=Channel.IM,
                message_id=failed,  # we set msgid = our message id on send
                provider_message_id=failed,
                status=MessageStatus.FAILED,
                reason=f"fail_type {fail_type}: {meaning}",
                raw=_json_text(item),
            )
        return None


def kf_msgid(message_id: str) -> str:
    """Our message id where kf accepts it (≤32 bytes of ``[0-9A-Za-z_-]``; ours are 26), else a
    stable 32-hex digest of it, so a resend still carries the same ``msgid``."""
    if _MSGID.fullmatch(message_id):
        return message_id
    return hashlib.sha256(message_id.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------- callback crypto


def msg_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()  # noqa: S324 - WeCom's scheme


def encrypt(message: bytes, aes_key: bytes, receive_id: str, random16: bytes | None = None) -> str:
    """WeCom's callback encryption: Base64(AES-256-CBC(random16 + len(4, big-endian) + message +
    receive_id, PKCS#7 to 32)), key = EncodingAESKey decoded, IV = key[:16]."""
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + receive_id.encode()
    pad = _BLOCK - len(plain) % _BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encrypted: str, aes_key: bytes) -> tuple[bytes, bytes]:
    """(message, receive_id) from an ``Encrypt``/``echostr`` value; ValueError if it is not one."""
    try:
        data = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64") from error
    if not data or len(data) % 16:
        raise ValueError("not whole AES blocks")
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or pad > len(plain):
        raise ValueError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise ValueError("too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if length > len(plain) - 20:
        raise ValueError("bad length")
    return plain[20 : 20 + length], plain[20 + length :]


def signed_callback(
    xml: str,
    *,
    token: str,
    encoding_aes_key: str,
    corp_id: str,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """The query (``msg_signature``, ``timestamp``, ``nonce``) and POST body of a callback
    carrying ``xml``, encrypted and signed as WeCom would."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or os.urandom(8).hex()
    encrypted = encrypt(xml.encode(), _aes_key(encoding_aes_key), corp_id)
    query = {"msg_signature": msg_signature(token, timestamp, nonce, encrypted), "timestamp": timestamp, "nonce": nonce}
    body = f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return query, body.encode()


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("wecom EncodingAESKey is not base64") from error
    if len(key) != 32:
        raise ValueError("wecom EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


# ------------------------------------------------------------------------------ parsing


def _signed_query(query: Mapping[str, str]) -> tuple[str, str, str]:
    signature = query.get("msg_signature")
    if not signature:
        raise WebhookRejected(401, "unsigned", "callback carries no msg_signature")
    timestamp, nonce = query.get("timestamp"), query.get("nonce")
    if not timestamp or not nonce:
        raise WebhookRejected(400, "malformed", "callback lacks timestamp or nonce")
    return signature, timestamp, nonce


def _parse_xml(data: bytes) -> dict[str, str]:
    """The root's child elements as {tag: text}. Refuses what could make the parser expensive
    or reach outside: oversize input, non-UTF-8, any DTD (so any entity declaration)."""
    if len(data) > MAX_XML_BYTES:
        raise WebhookRejected(413, "too_large", "XML body too large")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WebhookRejected(400, "malformed", "XML body is not UTF-8") from error
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise WebhookRejected(400, "malformed", "XML with a DTD or entity declarations is not accepted") from error
    except (ParseError, ValueError, RecursionError) as error:
        raise WebhookRejected(400, "malformed", "XML body does not parse") from error
    return {child.tag: (child.text or "").strip() for child in root if isinstance(child.tag, str)}


def _unix(value: object) -> datetime | None:
    try:
        seconds = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        return datetime.fromtimestamp(seconds, UTC) if seconds is not None and seconds > 0 else None
    except (ValueError, OverflowError, OSError):
        return None


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
