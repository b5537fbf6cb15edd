"""Tencent Cloud SMS (API 2021-01-11): the second China SMS provider, through the official SDK
``tencentcloud.sms.v20210111`` (which signs every call with TC3-HMAC-SHA256).

Send side: one ``SendSms`` per message: ``PhoneNumberSet`` [E.164], ``SmsSdkAppId``, ``SignName``
(a leading ``【…】`` in the rendered text wins, else the configured sign; the bracketed sign is cut
from the text because Tencent adds ``【SignName】`` itself), ``TemplateId`` by trigger (``templates``,
``"default"`` as the fallback), ``TemplateParamSet`` = [text] (positional: the approved template
holds one variable, ``{1}``), ``SessionContext`` = our message id (echoed back, ≤512 bytes).
The answer's ``SendStatusSet[0]``: ``Code`` ``Ok`` → ``SerialNo`` is the provider id and ``Fee`` the
parts billed. Tencent has no idempotency (``dedupes`` False).

``lookup`` pulls the number's delivery statuses (``PullSmsSendStatusByPhoneNumber``, last
``lookup_window`` up to Tencent's 7 days, ≤100 rows, ``Offset`` fixed at 0 by Tencent) and matches
``SessionContext``. Two limits the composition root must know: Tencent lists only messages the
carrier already reported on, and echoes ``SessionContext`` there (and in callbacks) only once the
account has it enabled (ask Tencent's SMS support) — so None means "not known yet", not "never sent".

Error codes (tencentcloud errorcodes.py, cloud.tencent.com/document/api/382/55981#6):
``FailedOperation.PhoneNumberInBlacklist`` (unsubscribed or carrier blacklist) → opted_out;
``InvalidParameterValue.IncorrectPhoneNumber``, ``FailedOperation.PhoneNumberParseFail`` →
invalid_address; ``LimitExceeded.*`` (frequency limits) and ``RequestLimitExceeded*`` → throttled,
except ``LimitExceeded.PhoneNumberCountLimit`` / ``AppCountryOrRegionInBlacklist`` (no retry helps) →
rejected; ``InternalError.*`` and HTTP errors → unavailable (``InternalError.Timeout``: timeout; the
signature ones: rejected); no answer in time → timeout; anything else → rejected.

Webhook side (``/webhooks/tencent/{token}``, token checked by the route): a JSON array is a batch of
delivery receipts ({``user_receive_time``, ``nationcode``, ``mobile``, ``report_status``
SUCCESS/FAIL, ``errmsg``, ``description``, ``sid``, ``ext``}); a JSON object with ``text`` is a
reply ({``extend``, ``mobile``, ``nationcode``, ``sign``, ``text``, ``time``}). The receipt's ``ext``
carries our SessionContext where Tencent sends it (the public callback doc lists no ``ext``; when it
is absent the receipt is matched by ``sid`` = SerialNo). A reply has no id of its own: its event id
is ``reply:{time}:{digest}`` where the digest (SHA-256, truncated) covers nationcode, mobile and text,
so Tencent's retries dedupe while no phone number appears in ids or logs. Tencent signs nothing:
path token plus an optional IP allowlist (CIDRs, 403 otherwise). Times are Beijing time.

Secret names (``from_secrets``): ``tencent_secret_id``, ``tencent_secret_key``,
``tencent_sdk_app_id``, ``tencent_sign_name``, ``tencent_templates`` (JSON object trigger → template
id, ``"default"`` fallback), ``tencent_endpoint``, ``tencent_region``; optional
``tencent_ip_allowlist`` (comma-separated CIDRs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

from tencentcloud.common import credential  # type: ignore[import-untyped]
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (  # type: ignore[import-untyped]
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile  # type: ignore[import-untyped]
from tencentcloud.common.profile.http_profile import HttpProfile  # type: ignore[import-untyped]
from tencentcloud.sms.v20210111 import models as sms_models  # type: ignore[import-untyped]
from tencentcloud.sms.v20210111.sms_client import SmsClient  # type: ignore[import-untyped]

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.model import Channel, MessageStatus
from ...domain.phones import mask
from ...domain.sms_parts import parts_to
from ...ports import OutboundMessage, ProviderError, Receipt, SendResult
from .base import ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .china_sms import check_source, host_and_protocol, json_object, networks

log = logging.getLogger(__name__)

BEIJING = timezone(timedelta(hours=8))
DEFAULT_ENDPOINT = "sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_MAX_ITEMS = 1000  # Tencent documents ≤100 receipts per callback; leave room, refuse floods
MAX_BODY = 4 * 1024 * 1024
ANSWER_OK = json.dumps({"result": 0, "errmsg": "OK"})
LOOKUP_LIMIT = 100  # PullSmsSendStatusByPhoneNumber's maximum
MAX_LOOKUP_WINDOW = timedelta(days=7)

_SIGN = re.compile(r"^\s*【([^】]{1,30})】")

ERROR_CODES: dict[str, str] = {
    "FailedOperation.PhoneNumberInBlacklist": "opted_out",
    "InvalidParameterValue.IncorrectPhoneNumber": "invalid_address",
    "FailedOperation.PhoneNumberParseFail": "invalid_address",
    "LimitExceeded.PhoneNumberCountLimit": "rejected",
    "LimitExceeded.AppCountryOrRegionInBlacklist": "rejected",
    "InternalError.Timeout": "timeout",
    "InternalError.SigFieldMissing": "rejected",
    "InternalError.SigVerificationFail": "rejected",
    "ServerNetworkError": "unavailable",
}
ERROR_PREFIXES: tuple[tuple[str, str], ...] = (
    ("LimitExceeded", "throttled"),
    ("RequestLimitExceeded", "throttled"),
    ("InternalError", "unavailable"),
)
RETRYABLE = frozenset({"throttled", "unavailable", "timeout"})
# How long a per-number / per-app frequency limit lasts, as far as its name says (seconds).
RETRY_AFTER: dict[str, float] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.PhoneNumberDailyLimit": 3600.0,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": 3600.0,
    "LimitExceeded.DailyLimit": 3600.0,
    "LimitExceeded.AppDailyLimit": 3600.0,
}


class TencentSmsAdapter(ProviderAdapter):
    name: ClassVar[str] = "tencent"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS})
    dedupes: ClassVar[bool] = False
    # Its status pull lists only carrier-reported sends: "not found" is not "not sent".
    can_lookup: ClassVar[bool] = False

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        templates: Mapping[str, str],
        sign_name: str = "",
        endpoint: str = DEFAULT_ENDPOINT,
        region: str = DEFAULT_REGION,
        timeout: float = 5.0,
        ip_allowlist: Iterable[str] = (),
        max_items: int = DEFAULT_MAX_ITEMS,
        lookup_window: timedelta = timedelta(days=2),
        client: Any | None = None,
    ) -> None:
        """``endpoint``: ``sms.tencentcloudapi.com`` or a URL (``http://127.0.0.1:8080`` for a stub;
        the scheme picks the protocol, https when none). ``timeout`` bounds each call in seconds.
        ``ip_allowlist``: CIDRs allowed to call the webhook (empty: anyone holding the path token)."""
        missing = [
            what
            for what, value in (
                ("secret id", secret_id),
                ("secret key", secret_key),
                ("SmsSdkAppId", sdk_app_id),
                ("template ids", templates),
            )
            if not value
        ]
        if missing:
            self.send_unavailable = f"tencent: not configured for sending (no {', '.join(missing)})"
        self.sdk_app_id = sdk_app_id
        self.templates = dict(templates)
        self.sign_name = sign_name.strip()
        self.max_items = max_items
        self.lookup_window = min(lookup_window, MAX_LOOKUP_WINDOW)
        self.allowlist = networks(ip_allowlist)
        if client is None and not missing:
            host, protocol = host_and_protocol(endpoint, DEFAULT_ENDPOINT, "tencent")
            http = HttpProfile(endpoint=host, protocol=protocol, reqTimeout=timeout)
            client = SmsClient(credential.Credential(secret_id, secret_key), region, ClientProfile(httpProfile=http))
        self._client: Any = client  # None only when send_unavailable says why

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **overrides: Any) -> TencentSmsAdapter:
        """Secret keys: ``tencent_secret_id``, ``tencent_secret_key``, ``tencent_sdk_app_id``,
        ``tencent_sign_name``, ``tencent_templates`` (JSON object), ``tencent_endpoint``,
        ``tencent_region``; optional ``tencent_ip_allowlist`` (comma-separated CIDRs).
        ``overrides`` (constructor keywords) win."""
        config: dict[str, Any] = {
            "secret_id": secrets.get("tencent_secret_id", ""),
            "secret_key": secrets.get("tencent_secret_key", ""),
            "sdk_app_id": secrets.get("tencent_sdk_app_id", ""),
            "sign_name": secrets.get("tencent_sign_name", ""),
            "templates": json_object(secrets.get("tencent_templates"), "tencent_templates", numbers=True),
        }
        if secrets.get("tencent_endpoint"):
            config["endpoint"] = secrets["tencent_endpoint"]
        if secrets.get("tencent_region"):
            config["region"] = secrets["tencent_region"]
        if secrets.get("tencent_ip_allowlist"):
            config["ip_allowlist"] = [c.strip() for c in secrets["tencent_ip_allowlist"].split(",") if c.strip()]
        config.update(overrides)
        return cls(**config)

    # --- send side -------------------------------------------------------------------------

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.require_send_config()
        sign, body = self._sign_and_body(message.text)
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [message.to]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = sign
        request.TemplateId = self._template(message.trigger)
        request.TemplateParamSet = [body]
        request.SessionContext = message.message_id
        response = self._call("SendSms", self._client.SendSms, request, message.to)
        statuses = getattr(response, "SendStatusSet", None)
        status = statuses[0] if isinstance(statuses, list) and statuses else None
        code = getattr(status, "Code", None)
        if not isinstance(code, str) or not code:
            # Accepted or not, we cannot tell: treat like a timeout (look up before resending).
            raise ProviderError("tencent: answer without a send status", True, code="timeout")
        if code.lower() != "ok":
            raise self._failure(code, str(getattr(status, "Message", "") or ""), message.to)
        serial = getattr(status, "SerialNo", None)
        if not isinstance(serial, str) or not serial:
            raise ProviderError("tencent: Ok without a SerialNo", True, code="timeout")
        fee = getattr(status, "Fee", None)
        parts = fee if isinstance(fee, int) and not isinstance(fee, bool) and fee > 0 else None
        return SendResult(serial, parts or _parts(message.to, body, sign))

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        """Tencent's record of ``message`` by ``SessionContext`` among the number's reported
        statuses of the last ``lookup_window``; None when not (yet) there."""
        self.require_send_config()
        request = sms_models.PullSmsSendStatusByPhoneNumberRequest()
        request.BeginTime = int((now - self.lookup_window).timestamp())
        request.EndTime = int(now.timestamp())
        request.Offset = 0
        request.Limit = LOOKUP_LIMIT
        request.PhoneNumber = message.to
        request.SmsSdkAppId = self.sdk_app_id
        response = self._call(
            "PullSmsSendStatusByPhoneNumber", self._client.PullSmsSendStatusByPhoneNumber, request, message.to
        )
        rows = getattr(response, "PullSmsSendStatusSet", None)
        for row in rows if isinstance(rows, list) else []:
            if getattr(row, "SessionContext", None) != message.message_id:
                continue
            serial = getattr(row, "SerialNo", None)
            if not isinstance(serial, str) or not serial:
                continue
            sign, body = _split_sign(message.text)
            parts = _parts(message.to, body, sign or self.sign_name)
            report = getattr(row, "ReportStatus", None)
            stamp = getattr(row, "UserReceiveTime", None)
            at = _unix_time(stamp) or now
            receipts: tuple[Receipt, ...] = ()
            if report == "SUCCESS":
                receipts = (Receipt(message.message_id, serial, MessageStatus.DELIVERED, at),)
            elif report == "FAIL":
                reason = str(getattr(row, "Description", "") or "") or "FAIL"
                receipts = (Receipt(message.message_id, serial, MessageStatus.UNDELIVERED, at, reason),)
            return SendResult(serial, parts, receipts)
        return None

    def _sign_and_body(self, text: str) -> tuple[str, str]:
        sign, body = _split_sign(text)
        sign = sign or self.sign_name
        if not sign:
            raise ProviderError("tencent: no SignName (configure one or start the text with 【…】)", False)
        return sign, body

    def _template(self, trigger: str) -> str:
        template = self.templates.get(trigger) or self.templates.get("default")
        if not template:
            raise ProviderError(f"tencent: no template id for trigger {trigger!r} and no default", False)
        return template

    def _call(self, action: str, method: Any, request: Any, to: str) -> Any:
        try:
            return method(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            text = str(exc.get_message() or "")
            if code == "ClientNetworkError":
                if "timed out" in text.lower() or "timeout" in text.lower():
                    log.warning("tencent %s timed out for %s", action, mask(to))
                    raise ProviderError(f"tencent: {action}: no answer in time", True, code="timeout") from exc
                log.warning("tencent %s cannot reach the API for %s", action, mask(to))
                raise ProviderError(f"tencent: {action}: cannot reach the API", True) from exc
            if code in ("JSONDecodeError", "KeyError", "TypeError", "ValueError"):
                # An answer we cannot read: accepted or not, we cannot tell.
                raise ProviderError(f"tencent: {action}: unreadable answer", True, code="timeout") from exc
            raise self._failure(code, text if code != "ServerNetworkError" else "HTTP error", to) from exc
        except Exception as exc:  # the SDK wraps almost everything; anything else is not an answer
            log.warning("tencent %s failed for %s: %s", action, mask(to), type(exc).__name__)
            raise ProviderError(f"tencent: {action}: {type(exc).__name__}", True, code="timeout") from exc

    def _failure(self, code: str, text: str, to: str) -> ProviderError:
        ours = ERROR_CODES.get(code)
        if ours is None:
            ours = next((o for prefix, o in ERROR_PREFIXES if code.startswith(prefix)), "rejected")
        log.info("tencent refused a request for %s: %s → %s", mask(to), code, ours)
        retry_after = RETRY_AFTER.get(code) if ours == "throttled" else None
        return ProviderError(f"tencent: {code}: {text}"[:500], ours in RETRYABLE, code=ours, retry_after=retry_after)

    # --- webhook side ----------------------------------------------------------------------

    def handle_webhook(self, request: WebhookRequest, now: datetime) -> WebhookResult:
        check_source(self.allowlist, request.source_ip)
        if request.method.upper() != "POST":
            raise WebhookRejected(400, "method", "Tencent callbacks are POSTs")
        if len(request.body) > MAX_BODY:
            raise WebhookRejected(413, "too_large", "body too large for a Tencent callback")
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WebhookRejected(400, "malformed", "body is not JSON") from exc
        answer = WebhookAnswer(200, ANSWER_OK)
        if isinstance(data, list):
            if len(data) > self.max_items:
                raise WebhookRejected(400, "too_many", f"more than {self.max_items} receipts in one callback")
            return WebhookResult(answer, tuple(self._receipt(item, now) for item in data))
        if isinstance(data, dict) and "text" in data:
            return WebhookResult(answer, (self._reply(data, now),))
        if isinstance(data, dict) and "report_status" in data:
            return WebhookResult(answer, (self._receipt(data, now),))
        raise WebhookRejected(400, "malformed", "neither a receipt batch nor a reply")

    def _receipt(self, item: object, now: datetime) -> InboundEvent:
        if not isinstance(item, dict):
            raise WebhookRejected(400, "malformed", "receipt is not an object")
        sid = _field(item, "sid", required=True)
        report = _field(item, "report_status", required=True)
        if report not in ("SUCCESS", "FAIL"):
            raise WebhookRejected(400, "malformed", "report_status is neither SUCCESS nor FAIL")
        delivered = report == "SUCCESS"
        return InboundEvent(
            provider=self.name,
            kind=InboundKind.RECEIPT,
            event_id=f"{sid}:{report}",
            at=_beijing_time(item.get("user_receive_time")) or now,
            channel=Channel.SMS,
            message_id=_field(item, "ext"),
            provider_message_id=sid,
            status=MessageStatus.DELIVERED if delivered else MessageStatus.UNDELIVERED,
            reason=None if delivered else (_field(item, "errmsg") or _field(item, "description") or "FAIL"),
            raw=json.dumps(item, ensure_ascii=False, sort_keys=True),
        )

    def _reply(self, item: Mapping[str, Any], now: datetime) -> InboundEvent:
        text = item.get("text")
        if not isinstance(text, str):
            raise WebhookRejected(400, "malformed", "reply text is not text")
        nationcode = _digits(_field(item, "nationcode", required=True), 1, 4)
        mobile = _digits(_field(item, "mobile", required=True), 4, 15)
        if nationcode is None or mobile is None:
            raise WebhookRejected(400, "malformed", "reply sender is not a phone number")
        stamp = item.get("time")
        if isinstance(stamp, str) and stamp.strip().isdigit():
            stamp = int(stamp.strip())
        at = _unix_time(stamp)
        if at is None:
            raise WebhookRejected(400, "malformed", "reply time is not a unix timestamp")
        digest = hashlib.sha256(f"{nationcode}|{mobile}|{text}".encode()).hexdigest()[:24]
        return InboundEvent(
            provider=self.name,
            kind=InboundKind.REPLY,
            event_id=f"reply:{int(at.timestamp())}:{digest}",
            at=at,
            channel=Channel.SMS,
            sender=f"+{nationcode}{mobile}",
            text=text,
            raw=json.dumps(item, ensure_ascii=False, sort_keys=True),
        )


# --- helpers -------------------------------------------------------------------------------


def _split_sign(text: str) -> tuple[str, str]:
    match = _SIGN.match(text)
    if not match:
        return "", text
    return match.group(1).strip(), text[match.end() :].lstrip()


def _parts(to: str, body: str, sign: str) -> int:
    return parts_to(to, body, f"【{sign}】" if sign else "")


def _beijing_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        return None


def _unix_time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 < value < 32_503_680_000:  # before year 3000
        return None
    return datetime.fromtimestamp(int(value), UTC)


def _digits(value: str | None, shortest: int, longest: int) -> str | None:
    text = (value or "").lstrip("+")
    if text.isascii() and text.isdigit() and shortest <= len(text) <= longest:
        return text
    return None


def _field(item: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    """A text field (numbers accepted as their digits); None when empty, 400 when required."""
    value = item.get(key)
    text: str | None = None
    if isinstance(value, str):
        text = value.strip() or None
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    if text is not None and len(text) > 512:
        text = None
    if text is None and required:
        raise WebhookRejected(400, "malformed", f"{key} missing")
    return text
