"""Twilio SMS: the global SMS provider, through the official ``twilio`` library.

Send side: one ``Messages.create`` per message (``To``, ``From`` or ``MessagingServiceSid``, ``Body``,
``StatusCallback``). Twilio has no idempotency key, so a resend after a crash may go out twice
(``dedupes`` stays False) and, as Twilio cannot list messages by our id, ``lookup`` cannot tell
either (``can_lookup`` False: a Messages list call can filter only by To/From/date, which does not
identify one message of ours); ``query_status`` fetches a message by its Sid (``GET
…/Messages/{Sid}.json``) for reconciliation. Our message id rides along in the StatusCallback URL's
query string (``?message_id=…``): Twilio calls back exactly that URL and signs it, so status
callbacks carry our id, authenticated, without a lookup by MessageSid.

Webhook side: every call must carry a valid ``X-Twilio-Signature`` (HMAC-SHA1 of the auth token over
the public URL + the sorted form params) checked with ``twilio.request_validator.RequestValidator``
against the URL Twilio called (``WebhookRequest.url``) and, behind a proxy that rewrites it, the
configured public webhook URL. Status callbacks (``MessageStatus`` present) become RECEIPTs;
inbound messages (``Body`` without ``MessageStatus``) become REPLYs. Twilio's own ``OptOutType``
(STOP/START/HELP, Advanced Opt-Out) is NOT turned into OPT_OUT/OPT_IN events: the keyword router sees
the REPLY and decides once, by our rules; ``OptOutType`` stays in ``raw`` for audit.

Secret names (``from_secrets``): ``twilio_account_sid``, ``twilio_auth_token``, ``twilio_from``,
``twilio_messaging_service_sid``, ``twilio_webhook_url`` (the public webhook URL, secret path token
included); plain settings may come as keyword overrides.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.model import Channel, MessageStatus
from ...domain.phones import mask
from ...domain.sms_parts import parts_to
from ...ports import OutboundMessage, ProviderError, Receipt, SendResult
from .base import ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .error_codes import ErrorCodes, Meaning
from .http_json import retry_after_seconds

log = logging.getLogger(__name__)

TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_BODY = 64 * 1024  # a Twilio form is a few KiB; anything far larger is not Twilio
MAX_FIELDS = 200
PHONE_IN_TEXT = re.compile(r"\+\d{6,15}")

# twilio.com/docs/api/errors; HTTP 429 and 5xx without one of these are throttled / unavailable.
ERROR_CODES = ErrorCodes.of(
    {
        "21211": Meaning("invalid_address", "'To' number is not valid"),
        "21614": Meaning("invalid_address", "'To' number is not a mobile number"),
        "21610": Meaning("opted_out", "the recipient unsubscribed (replied STOP)"),
        "20429": Meaning("throttled", "too many requests"),
    }
)

# Status callback values that say something we do not know yet. queued/accepted/sending/scheduled
# only echo what our own "sent" after a successful send already records, so they yield no event;
# unknown values (Twilio adds some without notice) are ignored the same way.
RECEIPT_STATUSES: dict[str, MessageStatus] = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "read": MessageStatus.READ,
}


class _HeaderKeepingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client, keeping the last response's headers per thread: the SDK's
    exceptions drop them, and a 429's ``Retry-After`` lives there."""

    def __init__(self, timeout: float) -> None:
        # The SDK logs every request's URL and headers at INFO: keep that out of Lambda logs.
        quiet = logging.getLogger(f"{__name__}.http")
        quiet.setLevel(logging.WARNING)
        super().__init__(timeout=timeout, logger=quiet)
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._local.headers = None
        response = super().request(*args, **kwargs)
        self._local.headers = response.headers
        return response

    @property
    def last_headers(self) -> Mapping[str, str] | None:
        headers = getattr(self._local, "headers", None)
        return headers if isinstance(headers, Mapping) else None


class _FormParams(dict[str, str]):
    """The form as the validator wants it: one value per name for us, every value (``getlist``) for
    the signature, which covers repeated names too."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._all: dict[str, list[str]] = {}
        for name, value in pairs:
            self._all.setdefault(name, []).append(value)

    def getlist(self, name: str) -> list[str]:
        return self._all.get(name, [])


class TwilioSmsAdapter(ProviderAdapter[_FormParams]):
    name: ClassVar[str] = "twilio"
    error_codes = ERROR_CODES
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS})
    dedupes: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = False
    can_query_status: ClassVar[bool] = True
    max_webhook_bytes: ClassVar[int] = MAX_BODY

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_webhook_url: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        client: Any | None = None,
    ) -> None:
        """``base_url`` replaces ``https://api.twilio.com`` (tests: a local stub); ``timeout`` bounds
        each API call in seconds; ``public_webhook_url`` is what Twilio calls back (StatusCallback)
        and what inbound signatures are checked against."""
        if not auth_token:
            raise ValueError("twilio: the auth token is required (it checks every webhook's signature)")
        can_send = self.configured_for_sending(
            ("account sid", account_sid),
            ("From number or MessagingServiceSid", from_number or messaging_service_sid),
            ("public webhook URL", public_webhook_url),
        )
        self.account_sid = account_sid
        self.from_number = from_number or None
        self.messaging_service_sid = messaging_service_sid or None
        self.public_webhook_url = public_webhook_url
        self._validator = RequestValidator(auth_token)
        self._http = _HeaderKeepingHttpClient(timeout)
        self._timeout = timeout
        if client is None and can_send:
            client = Client(account_sid, auth_token, http_client=self._http)
            if base_url:
                # Every v2010 request is built from the API domain's base_url at call time.
                client.api.base_url = base_url.rstrip("/")
        self._client: Any = client  # None only when send_unavailable says why

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **overrides: Any) -> TwilioSmsAdapter:
        """Secret keys: ``twilio_account_sid``, ``twilio_auth_token``, ``twilio_from``,
        ``twilio_messaging_service_sid`` (either or both of the last two), ``twilio_webhook_url``.
        ``overrides`` (constructor keywords: ``public_webhook_url``, ``base_url``, ``timeout`` …) win."""
        config: dict[str, Any] = {
            "account_sid": secrets.get("twilio_account_sid", ""),
            "auth_token": secrets.get("twilio_auth_token", ""),
            "from_number": secrets.get("twilio_from") or None,
            "messaging_service_sid": secrets.get("twilio_messaging_service_sid") or None,
            "public_webhook_url": secrets.get("twilio_webhook_url", ""),
        }
        config.update(overrides)
        return cls(**config)

    # --- send side -------------------------------------------------------------------------

    def status_callback_url(self, message_id: str) -> str:
        glue = "&" if "?" in self.public_webhook_url else "?"
        # Encoded as the webhook route re-encodes the query (urlencode), so the signed URL matches.
        return f"{self.public_webhook_url}{glue}{urlencode({'message_id': message_id})}"

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.require_send_config()
        params: dict[str, Any] = {
            "to": message.to,
            "body": message.text,
            "status_callback": self.status_callback_url(message.message_id),
        }
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        try:
            created = self._client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise self._api_error(exc, message.to, now) from exc
        except requests.exceptions.Timeout as exc:
            raise self.no_answer("send", message.to) from exc
        except requests.exceptions.RequestException as exc:
            raise self.unreachable("send", type(exc).__name__, message.to) from exc
        sid = getattr(created, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise self.unreadable("send", message.to)
        return SendResult(sid, _segments(getattr(created, "num_segments", None), message.to, message.text))

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        """The message as Twilio has it now (``GET …/Messages/{Sid}.json``): its final status as
        a receipt (delivered, undelivered or failed with the error code, read), None while it is
        still on its way or Twilio no longer has it (404: deleted or redacted)."""
        self.require_send_config()
        try:
            found = self._client.messages(provider_message_id).fetch()
        except (TwilioRestException, TwilioServiceException) as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise self._api_error(exc, to, now) from exc
        except requests.exceptions.Timeout as exc:
            raise self.no_answer("fetch", to) from exc
        except requests.exceptions.RequestException as exc:
            raise self.unreachable("fetch", type(exc).__name__, to) from exc
        status = RECEIPT_STATUSES.get(str(getattr(found, "status", "") or "").lower())
        if status is None or status is MessageStatus.SENT:
            return None
        updated = getattr(found, "date_updated", None)
        at = updated.astimezone(UTC) if isinstance(updated, datetime) and updated.tzinfo else now
        error_code = getattr(found, "error_code", None)
        reason = str(error_code) if error_code and status is not MessageStatus.DELIVERED else None
        return Receipt(message_id, provider_message_id, status, at, reason)

    def _api_error(self, exc: Any, to: str, now: datetime) -> ProviderError:
        status = exc.status if isinstance(exc.status, int) else None
        code = exc.code if isinstance(exc.code, int) else None
        detail = str(getattr(exc, "msg", "") or getattr(exc, "title", "") or "")
        # Twilio's messages quote the number ("The 'To' number +1… is not valid"): mask it.
        detail = PHONE_IN_TEXT.sub(lambda found: mask(found.group()), detail)
        return self.failure(code, status=status, detail=detail, retry_after=self._retry_after(now), to=to)

    def _retry_after(self, now: datetime) -> float | None:
        headers = self._http.last_headers
        if not headers:
            return None
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        return retry_after_seconds(value, now)

    # --- webhook side ----------------------------------------------------------------------

    def verify(self, request: WebhookRequest, now: datetime) -> _FormParams:
        """``X-Twilio-Signature`` over the URL Twilio called and the form; the form, decoded."""
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            raise WebhookRejected(403, "unsigned", "X-Twilio-Signature missing")
        params = _parse_form(request.body)
        if not self._signed(request, params, signature):
            raise WebhookRejected(403, "bad_signature", "X-Twilio-Signature does not match")
        return params

    def parse(self, request: WebhookRequest, verified: _FormParams, now: datetime) -> WebhookResult:
        params = verified
        raw = json.dumps(params, ensure_ascii=False, sort_keys=True)
        if "MessageStatus" in params:
            return WebhookResult(WebhookAnswer(200, "", "text/plain"), self._receipt(params, request, raw, now))
        twiml = WebhookAnswer(200, TWIML_EMPTY, "text/xml")
        if "Body" in params:
            return WebhookResult(twiml, (self._reply(params, raw, now),))
        return WebhookResult(twiml)  # some other signed Twilio call: nothing for us in it

    def _signed(self, request: WebhookRequest, params: _FormParams, signature: str) -> bool:
        urls = [request.url]
        configured = self.public_webhook_url
        query = urlsplit(request.url).query
        if query and "?" not in configured:
            configured = f"{configured}?{query}"
        if configured != request.url:
            urls.append(configured)
        try:
            return any(bool(self._validator.validate(url, params, signature)) for url in urls)
        except (ValueError, TypeError, UnicodeError):
            return False

    def _receipt(
        self, params: _FormParams, request: WebhookRequest, raw: str, now: datetime
    ) -> tuple[InboundEvent, ...]:
        sid = _message_sid(params)
        status_text = params["MessageStatus"].strip().lower()
        status = RECEIPT_STATUSES.get(status_text)
        if status is None:
            return ()
        error_code = params.get("ErrorCode", "").strip() or None
        message_id = request.query.get("message_id") or None
        event = InboundEvent(
            provider=self.name,
            kind=InboundKind.RECEIPT,
            event_id=f"{sid}:{status_text}",
            at=now,
            channel=Channel.SMS,
            message_id=message_id,
            provider_message_id=sid,
            status=status,
            reason=error_code if status is not MessageStatus.DELIVERED else None,
            parts=_int_or_none(params.get("NumSegments")),
            raw=raw,
        )
        return (event,)

    def _reply(self, params: _FormParams, raw: str, now: datetime) -> InboundEvent:
        sid = _message_sid(params)
        sender = params.get("From", "").strip()
        if not sender:
            raise WebhookRejected(400, "malformed", "inbound message without From")
        return InboundEvent(
            provider=self.name,
            kind=InboundKind.REPLY,
            event_id=sid,
            at=now,
            channel=Channel.SMS,
            provider_message_id=sid,
            sender=sender,
            text=params["Body"],
            parts=_int_or_none(params.get("NumSegments")),
            raw=raw,
        )


def _parse_form(body: bytes) -> _FormParams:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(400, "malformed", "not a form-encoded body") from exc
    return _FormParams(pairs)


def _message_sid(params: Mapping[str, str]) -> str:
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    if not sid:
        raise WebhookRejected(400, "malformed", "MessageSid missing")
    return sid


def _int_or_none(value: object) -> int | None:
    try:
        number = int(str(value).strip()) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number > 0 else None


def _segments(reported: object, to: str, text: str) -> int:
    """Twilio's ``num_segments`` (a string in the API's JSON); 0 for Messaging Service sends until
    a sender is chosen, so then our own count."""
    return _int_or_none(reported) or parts_to(to, text)
