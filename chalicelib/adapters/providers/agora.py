"""Agora Chat (声网 IM): in-app messages to members who use the store's app.

Send side: ``POST {base}/{org}/{app}/messages/users`` as the store's sender account, with an app
token (``Authorization: Bearer``). The app token comes either pre-issued (``app_token``) or from
``POST {base}/{org}/{app}/token`` with ``client_credentials`` (the Easemob-style endpoint Agora
Chat still documents for apps created on the Easemob stack); it is cached until shortly before
it expires and fetched again once when a send is answered 401. Our message id travels in
``ext.message_id`` so the post-delivery callback for our own message finds its record. Agora
keeps no idempotency key: ``dedupes`` is False and it cannot be asked afterwards (``can_lookup`` and
``can_query_status`` False: no message or delivery-status query exists server-side).

Webhook side (post-delivery callbacks, "发送后回调"): JSON ``{callId, eventType, timestamp (ms),
chat_type, from, to, msg_id, payload, security, appkey}``. Verified by
``security == MD5(callId + secret + timestamp)`` (constant-time), a timestamp window (the
signature does not cover the body, so a captured call must not be replayable later) and, when
configured, the appkey. What we make of a verified callback:

- ``chat_type == "read_ack"`` addressed to our sender → RECEIPT ``read`` for
  ``payload.ack_message_id`` (Agora's id of the message that was read);
- ``chat_type == "chat"`` from our sender (the echo of a message we sent) → RECEIPT ``delivered``,
  matched by ``msg_id`` and ``payload.ext.message_id``. Agora has no device-level delivery report:
  the callback says its server accepted the message and delivered it, or stored it for a member
  who is offline, who gets it at the next login. That is as far as "delivered" goes on this
  channel; ``read`` (from the member's app) is the stronger signal;
- ``chat_type == "chat"`` from anyone else to our sender, with a text body → REPLY;
- ``eventType == "chat_offline"`` callbacks are answered and ignored: Agora sends them as a
  second copy of a message already reported under ``eventType == "chat"`` when the recipient was
  offline — and the store's sender account is never online — so using both would report every
  member message twice;
- anything else (group chat, recalls, presence …) is answered and ignored.

The event id is the ``callId``; Agora retries a failed callback once, with the same ``callId``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.model import Channel, MessageStatus
from ...ports import OutboundMessage, ProviderError, SendResult
from .base import ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .error_codes import ErrorCodes, Meaning
from .http_json import CachedToken, JsonResponse, post_json

MAX_CALLBACK_BYTES = 64 * 1024
_OK = WebhookAnswer(200, "{}")
# Agora's error names (docs.agora.io, Agora Chat RESTful API response codes); 429 and 5xx without
# one of these are throttled / unavailable.
ERROR_CODES = ErrorCodes.of(
    {
        "service_resource_not_found": Meaning("invalid_address", "no such user"),
        "user_not_found": Meaning("invalid_address", "no such user"),
        "organization_application_not_found": Meaning("rejected", "unknown org/app"),
        "unauthorized": Meaning("rejected", "app token refused"),
        "invalid_client": Meaning("rejected", "check agora_client_id/agora_client_secret"),
        "forbidden_op": Meaning("rejected", "forbidden (blocked, banned or not allowed)"),
        "HTTP401": Meaning("rejected", "app token refused"),
        "HTTP404": Meaning("invalid_address", "no such user"),
    }
)
_NO_EXPIRY_CACHE_S = 3600.0  # a token issued without an expiry (ttl 0) is still re-checked hourly


class AgoraChatProvider(ProviderAdapter[dict[str, Any]]):
    name: ClassVar[str] = "agora"
    error_codes = ERROR_CODES
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.IM})
    dedupes: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = False
    max_webhook_bytes: ClassVar[int] = MAX_CALLBACK_BYTES

    def __init__(
        self,
        *,
        base_url: str,
        org: str,
        app: str,
        sender: str,
        callback_secret: str,
        client_id: str = "",
        client_secret: str = "",
        app_token: str = "",
        appkey: str = "",
        timeout: float = 5.0,
        token_margin: float = 300.0,
        max_skew: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``base_url`` is the app's REST host (``https://a41.chat.agora.io``; a bare host gets
        ``https://``). ``appkey`` (``org#app``), when given, must match every callback's.
        ``clock`` is the wall clock for the token cache (tokens expire in real time, whatever
        logical ``now`` a send is given)."""
        self.base_url = _with_scheme(base_url).rstrip("/")
        self.org = org
        self.app = app
        self.sender = sender
        self.callback_secret = callback_secret
        self.client_id = client_id
        self.client_secret = client_secret
        self.appkey = appkey
        self.timeout = timeout
        self.token_margin = token_margin
        self.max_skew = max_skew
        self.clock = clock
        self._fixed_token = app_token
        self._token: CachedToken | None = None
        missing = self._missing_send_settings()
        if missing:
            self.send_unavailable = f"agora: not configured for sending (missing {', '.join(missing)})"

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **overrides: Any) -> AgoraChatProvider:
        """Build from the stage's secrets. Keys: ``agora_callback_secret`` (required: verifies
        callbacks), ``agora_host`` (REST host or URL), ``agora_org``, ``agora_app``,
        ``agora_sender`` (the store's sender user id), ``agora_client_id`` +
        ``agora_client_secret`` (to obtain app tokens) or ``agora_app_token`` (pre-issued), and
        optionally ``agora_appkey`` (``org#app``, checked on callbacks). Without the send
        settings the adapter still verifies callbacks; a send then fails as ``rejected``."""
        settings: dict[str, Any] = {
            "callback_secret": secrets["agora_callback_secret"],
            "base_url": secrets.get("agora_host", ""),
            "org": secrets.get("agora_org", ""),
            "app": secrets.get("agora_app", ""),
            "sender": secrets.get("agora_sender", ""),
            "client_id": secrets.get("agora_client_id", ""),
            "client_secret": secrets.get("agora_client_secret", ""),
            "app_token": secrets.get("agora_app_token", ""),
            "appkey": secrets.get("agora_appkey", ""),
        }
        settings.update(overrides)
        return cls(**settings)

    # ----------------------------------------------------------------------------- send side

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self._require_send_settings()
        body = {
            "from": self.sender,
            "to": [message.to],
            "type": "txt",
            "body": {"msg": message.text},
            "ext": {"message_id": message.message_id},
        }
        url = f"{self.base_url}/{self.org}/{self.app}/messages/users"
        answer = self._post_authorised(url, body)
        if answer.status == 401 and not self._fixed_token:
            self._token = None  # revoked or expired early: fetch a new one, once
            answer = self._post_authorised(url, body)
        if answer.status == 200:
            data = answer.data.get("data") if isinstance(answer.data, dict) else None
            msg_id = data.get(message.to) if isinstance(data, dict) else None
            if isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool) and str(msg_id):
                return SendResult(str(msg_id), 1)
            raise ProviderError("agora send: answer carries no msg_id for the recipient", False, code="rejected")
        raise self._refused(answer)

    def _refused(self, answer: JsonResponse) -> ProviderError:
        return self.failure(_error_code(answer), status=answer.status, retry_after=answer.retry_after)

    def _post_authorised(self, url: str, body: Mapping[str, Any]) -> JsonResponse:
        headers = {"Authorization": f"Bearer {self._app_token()}"}
        return post_json(url, body, provider=self.name, timeout=self.timeout, headers=headers)

    def _app_token(self) -> str:
        if self._fixed_token:
            return self._fixed_token
        now = self.clock()
        if self._token is not None and now < self._token.good_until:
            return self._token.value
        answer = post_json(
            f"{self.base_url}/{self.org}/{self.app}/token",
            {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret},
            provider=self.name,
            timeout=self.timeout,
        )
        data = answer.data if isinstance(answer.data, dict) else {}
        token = data.get("access_token")
        if answer.status != 200:
            raise self._refused(answer)
        if not isinstance(token, str) or not token:
            raise ProviderError("agora token: answer carries no access_token", False, code="rejected")
        expires_in = data.get("expires_in")
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
            lifetime = float(expires_in) - min(self.token_margin, float(expires_in) / 2)
        else:
            lifetime = _NO_EXPIRY_CACHE_S
        self._token = CachedToken(token, now + lifetime)
        return token

    def _missing_send_settings(self) -> list[str]:
        missing = [
            name
            for name, value in (("host", self.base_url), ("org", self.org), ("app", self.app), ("sender", self.sender))
            if not value
        ]
        if not self._fixed_token and not (self.client_id and self.client_secret):
            missing.append("client_id/client_secret or app_token")
        return missing

    def _require_send_settings(self) -> None:
        missing = self._missing_send_settings()
        if missing:
            raise ProviderError(f"agora: not configured for sending (missing {', '.join(missing)})", False)

    # -------------------------------------------------------------------------- webhook side

    def verify(self, request: WebhookRequest, now: datetime) -> dict[str, Any]:
        """The callback, its ``security`` signature, timestamp window and app key checked."""
        try:
            callback = json.loads(request.body)
        except (ValueError, RecursionError) as error:
            raise WebhookRejected(400, "malformed", "callback body is not JSON") from error
        if not isinstance(callback, dict):
            raise WebhookRejected(400, "malformed", "callback body is not a JSON object")
        security = callback.get("security")
        call_id = callback.get("callId")
        timestamp = _millis(callback.get("timestamp"))
        if not isinstance(security, str) or not security:
            raise WebhookRejected(401, "unsigned", "callback carries no security signature")
        if not isinstance(call_id, str) or not call_id or timestamp is None:
            raise WebhookRejected(400, "malformed", "callback lacks callId or timestamp")
        signed = f"{call_id}{self.callback_secret}{callback['timestamp']}"  # the timestamp as sent
        expected = hashlib.md5(signed.encode()).hexdigest()  # noqa: S324 - MD5 is Agora's signature scheme
        if not hmac.compare_digest(expected.encode(), security.strip().lower().encode()):
            raise WebhookRejected(403, "bad_signature", "callback security does not match")
        if abs(timestamp - int(now.timestamp() * 1000)) > self.max_skew * 1000:
            raise WebhookRejected(403, "stale", "callback timestamp outside the accepted window")
        if self.appkey and callback.get("appkey") != self.appkey:
            raise WebhookRejected(403, "wrong_app", "callback is for another app key")
        callback["timestamp"] = timestamp
        return callback

    def parse(self, request: WebhookRequest, verified: dict[str, Any], now: datetime) -> WebhookResult:
        if verified.get("eventType") != "chat":
            return WebhookResult(_OK)
        event = self._event(verified)
        return WebhookResult(_OK, (event,) if event else ())

    def _event(self, callback: dict[str, Any]) -> InboundEvent | None:
        chat_type = callback.get("chat_type")
        sender, recipient = _text(callback.get("from")), _text(callback.get("to"))
        payload = callback.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        common: dict[str, Any] = {
            "provider": self.name,
            "event_id": callback["callId"],
            "at": datetime.fromtimestamp(callback["timestamp"] / 1000, UTC),
            "channel": Channel.IM,
            "raw": json.dumps({k: v for k, v in callback.items() if k != "security"}, ensure_ascii=False),
        }
        if chat_type == "read_ack":
            acked = _text(payload.get("ack_message_id"))
            if not acked or recipient != self.sender:
                return None
            return InboundEvent(
                kind=InboundKind.RECEIPT, provider_message_id=acked, status=MessageStatus.READ, **common
            )
        if chat_type != "chat":
            return None
        msg_id = _text(callback.get("msg_id"))
        if sender == self.sender:
            ext = payload.get("ext")
            ours = _text(ext.get("message_id")) if isinstance(ext, dict) else None
            if not msg_id and not ours:
                return None
            return InboundEvent(
                kind=InboundKind.RECEIPT,
                message_id=ours,
                provider_message_id=msg_id,
                status=MessageStatus.DELIVERED,
                **common,
            )
        text = _first_text_body(payload.get("bodies"))
        images = _image_urls(payload.get("bodies"))
        if recipient != self.sender or not sender or (text is None and not images):
            return None  # a chat between two members, or a voice/video/…: nothing for the store
        return InboundEvent(
            kind=InboundKind.REPLY,
            provider_message_id=msg_id,
            sender=sender,
            text=text or "",
            media=images,
            **common,
        )


def _error_code(answer: JsonResponse) -> str | None:
    """Agora's error name (``service_resource_not_found`` …); ``user_not_found`` where only the
    description says the user does not exist."""
    data = answer.data if isinstance(answer.data, dict) else {}
    error = data.get("error")
    description = f"{error} {data.get('error_description', '')}".lower()
    if "not exist" in description or "user not found" in description:
        return "user_not_found"
    return error[:80] if isinstance(error, str) and error else None


def _first_text_body(bodies: object) -> str | None:
    if not isinstance(bodies, list):
        return None
    for body in bodies:
        if isinstance(body, dict) and body.get("type") == "txt" and isinstance(body.get("msg"), str):
            return str(body["msg"])
    return None


def _image_urls(bodies: object) -> tuple[str, ...]:
    """A picture's download URL (Agora keeps the file; we keep only the reference)."""
    if not isinstance(bodies, list):
        return ()
    return tuple(
        str(b["url"])
        for b in bodies
        if isinstance(b, dict) and b.get("type") == "img" and isinstance(b.get("url"), str)
    )


def _millis(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        return int(value)
    return None


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value) or None
    return None


def _with_scheme(host: str) -> str:
    host = host.strip()
    return host if not host or "://" in host else f"https://{host}"
