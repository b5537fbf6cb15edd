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
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
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
from ...domain.sms_parts import parts_to
from ...ports import OutboundMessage, Receipt, SendResult
from .base import WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .china_sms import (
    ChinaSmsAdapter,
    beijing_time,
    host_and_protocol,
    shared_secrets,
    split_sign,
    text_field,
    unix_time,
)
from .error_codes import ErrorCodes, Meaning

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_MAX_ITEMS = 1000  # Tencent documents ≤100 receipts per callback; leave room, refuse floods
ANSWER_OK = json.dumps({"result": 0, "errmsg": "OK"})
LOOKUP_LIMIT = 100  # PullSmsSendStatusByPhoneNumber's maximum
MAX_LOOKUP_WINDOW = timedelta(days=7)
SEND_TIME_SLACK = timedelta(minutes=1)  # our clock and Tencent's may differ a little

# How long a per-number / per-app frequency limit lasts is as far as its name says (seconds).
ERROR_CODES = ErrorCodes.of(
    {
        "FailedOperation.PhoneNumberInBlacklist": Meaning("opted_out", "unsubscribed or on the carrier's blacklist"),
        "InvalidParameterValue.IncorrectPhoneNumber": "invalid_address",
        "FailedOperation.PhoneNumberParseFail": "invalid_address",
        "LimitExceeded.PhoneNumberCountLimit": Meaning("rejected", "more numbers than one request takes"),
        "LimitExceeded.AppCountryOrRegionInBlacklist": Meaning("rejected", "the country is blocked for this app"),
        "LimitExceeded.PhoneNumberThirtySecondLimit": Meaning("throttled", retry_after=30.0),
        "LimitExceeded.PhoneNumberOneHourLimit": Meaning("throttled", retry_after=3600.0),
        "LimitExceeded.PhoneNumberDailyLimit": Meaning("throttled", retry_after=3600.0),
        "LimitExceeded.PhoneNumberSameContentDailyLimit": Meaning("throttled", retry_after=3600.0),
        "LimitExceeded.DailyLimit": Meaning("throttled", retry_after=3600.0),
        "LimitExceeded.AppDailyLimit": Meaning("throttled", retry_after=3600.0),
        "InternalError.Timeout": "timeout",
        "InternalError.SigFieldMissing": "rejected",
        "InternalError.SigVerificationFail": "rejected",
        "ServerNetworkError": Meaning("unavailable", "HTTP error"),
    },
    prefixes={"LimitExceeded": "throttled", "RequestLimitExceeded": "throttled", "InternalError": "unavailable"},
)


class TencentSmsAdapter(ChinaSmsAdapter):
    name: ClassVar[str] = "tencent"
    error_codes = ERROR_CODES
    # Its status pull lists only carrier-reported sends: "not found" is not "not sent".
    can_lookup: ClassVar[bool] = False
    can_query_status: ClassVar[bool] = True

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
        super().__init__(templates=templates, sign_name=sign_name, ip_allowlist=ip_allowlist, max_items=max_items)
        can_send = self.configured_for_sending(
            ("secret id", secret_id),
            ("secret key", secret_key),
            ("SmsSdkAppId", sdk_app_id),
            ("template ids", templates),
        )
        self.sdk_app_id = sdk_app_id
        self.lookup_window = min(lookup_window, MAX_LOOKUP_WINDOW)
        if client is None and can_send:
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
            **shared_secrets(secrets, "tencent", numeric_templates=True),
        }
        if secrets.get("tencent_region"):
            config["region"] = secrets["tencent_region"]
        config.update(overrides)
        return cls(**config)

    # --- send side -------------------------------------------------------------------------

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.require_send_config()
        sign, body = self.sign_and_body(message.text)
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [message.to]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = sign
        request.TemplateId = self.template(message.trigger)
        request.TemplateParamSet = [body]
        request.SessionContext = message.message_id
        response = self._call("SendSms", self._client.SendSms, request, message.to)
        statuses = getattr(response, "SendStatusSet", None)
        status = statuses[0] if isinstance(statuses, list) and statuses else None
        code = getattr(status, "Code", None)
        if isinstance(code, str) and code and code.lower() != "ok":
            raise self.failure(code, detail=str(getattr(status, "Message", "") or ""), to=message.to)
        serial = getattr(status, "SerialNo", None)
        if not isinstance(code, str) or not code or not isinstance(serial, str) or not serial:
            raise self.unreadable("SendSms", message.to)
        fee = getattr(status, "Fee", None)
        parts = fee if isinstance(fee, int) and not isinstance(fee, bool) and fee > 0 else None
        return SendResult(serial, parts or _parts(message.to, body, sign))

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        """Tencent's record of ``message`` by ``SessionContext`` among the number's reported
        statuses of the last ``lookup_window``; None when not (yet) there."""
        self.require_send_config()
        for row in self._statuses(message.to, now - self.lookup_window, now):
            serial = getattr(row, "SerialNo", None)
            if getattr(row, "SessionContext", None) != message.message_id or not isinstance(serial, str) or not serial:
                continue
            sign, body = split_sign(message.text)
            parts = _parts(message.to, body, sign or self.sign_name)
            report = _report(row, message.message_id, serial, now)
            return SendResult(serial, parts, (report,) if report else ())
        return None

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        """The carrier's report on a send, matched by ``SerialNo`` among the number's statuses
        since it was sent (``PullSmsSendStatusByPhoneNumber``, 2021-01-11, which reaches 7 days
        back); None while no report came, or when the send is older than that."""
        self.require_send_config()
        if now - sent_at > MAX_LOOKUP_WINDOW:
            return None
        for row in self._statuses(to, sent_at - SEND_TIME_SLACK, now):
            if getattr(row, "SerialNo", None) == provider_message_id:
                return _report(row, message_id, provider_message_id, now)
        return None

    def _statuses(self, to: str, begin: datetime, end: datetime) -> list[Any]:
        """The number's delivery statuses reported between ``begin`` and ``end`` (≤100 rows;
        Tencent fixes ``Offset`` at 0)."""
        request = sms_models.PullSmsSendStatusByPhoneNumberRequest()
        request.BeginTime = int(max(begin, end - MAX_LOOKUP_WINDOW).timestamp())
        request.EndTime = int(end.timestamp())
        request.Offset = 0
        request.Limit = LOOKUP_LIMIT
        request.PhoneNumber = to
        request.SmsSdkAppId = self.sdk_app_id
        response = self._call(
            "PullSmsSendStatusByPhoneNumber", self._client.PullSmsSendStatusByPhoneNumber, request, to
        )
        rows = getattr(response, "PullSmsSendStatusSet", None)
        return rows if isinstance(rows, list) else []

    def _call(self, action: str, method: Any, request: Any, to: str) -> Any:
        try:
            return method(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            text = str(exc.get_message() or "")
            if code == "ClientNetworkError":
                if "timed out" in text.lower() or "timeout" in text.lower():
                    raise self.no_answer(action, to) from exc
                raise self.unreachable(action, "network error", to) from exc
            if code in ("JSONDecodeError", "KeyError", "TypeError", "ValueError"):
                raise self.unreadable(action, to) from exc
            raise self.failure(code, detail=text if code != "ServerNetworkError" else "", to=to) from exc
        except Exception as exc:  # the SDK wraps almost everything; anything else is not an answer
            raise self.unreadable(action, to) from exc

    # --- webhook side ----------------------------------------------------------------------

    def parse(self, request: WebhookRequest, verified: None, now: datetime) -> WebhookResult:
        data = self.items(request.body)
        answer = WebhookAnswer(200, ANSWER_OK)
        if isinstance(data, list):
            return WebhookResult(answer, tuple(self._receipt(item, now) for item in data))
        if isinstance(data, dict) and "text" in data:
            return WebhookResult(answer, (self._reply(data, now),))
        if isinstance(data, dict) and "report_status" in data:
            return WebhookResult(answer, (self._receipt(data, now),))
        raise WebhookRejected(400, "malformed", "neither a receipt batch nor a reply")

    def _receipt(self, item: object, now: datetime) -> InboundEvent:
        if not isinstance(item, dict):
            raise WebhookRejected(400, "malformed", "receipt is not an object")
        sid = text_field(item, "sid", required=True)
        report = text_field(item, "report_status", required=True)
        if report not in ("SUCCESS", "FAIL"):
            raise WebhookRejected(400, "malformed", "report_status is neither SUCCESS nor FAIL")
        delivered = report == "SUCCESS"
        return InboundEvent(
            provider=self.name,
            kind=InboundKind.RECEIPT,
            event_id=f"{sid}:{report}",
            at=beijing_time(item.get("user_receive_time")) or now,
            channel=Channel.SMS,
            message_id=text_field(item, "ext"),
            provider_message_id=sid,
            status=MessageStatus.DELIVERED if delivered else MessageStatus.UNDELIVERED,
            reason=None if delivered else (text_field(item, "errmsg") or text_field(item, "description") or "FAIL"),
            raw=json.dumps(item, ensure_ascii=False, sort_keys=True),
        )

    def _reply(self, item: Mapping[str, Any], now: datetime) -> InboundEvent:
        text = item.get("text")
        if not isinstance(text, str):
            raise WebhookRejected(400, "malformed", "reply text is not text")
        nationcode = _digits(text_field(item, "nationcode", required=True), 1, 4)
        mobile = _digits(text_field(item, "mobile", required=True), 4, 15)
        if nationcode is None or mobile is None:
            raise WebhookRejected(400, "malformed", "reply sender is not a phone number")
        stamp = item.get("time")
        if isinstance(stamp, str) and stamp.strip().isdigit():
            stamp = int(stamp.strip())
        at = unix_time(stamp)
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


def _report(row: Any, message_id: str, serial: str, now: datetime) -> Receipt | None:
    """A pulled status as a receipt: ``ReportStatus`` SUCCESS delivered, FAIL undelivered."""
    at = unix_time(getattr(row, "UserReceiveTime", None)) or now
    report = getattr(row, "ReportStatus", None)
    if report == "SUCCESS":
        return Receipt(message_id, serial, MessageStatus.DELIVERED, at)
    if report == "FAIL":
        reason = str(getattr(row, "Description", "") or "") or "FAIL"
        return Receipt(message_id, serial, MessageStatus.UNDELIVERED, at, reason)
    return None


def _parts(to: str, body: str, sign: str) -> int:
    return parts_to(to, body, f"【{sign}】" if sign else "")


def _digits(value: str | None, shortest: int, longest: int) -> str | None:
    text = (value or "").lstrip("+")
    if text.isascii() and text.isdigit() and shortest <= len(text) <= longest:
        return text
    return None
