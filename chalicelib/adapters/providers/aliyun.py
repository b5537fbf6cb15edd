"""Alibaba Cloud SMS (dysmsapi 2017-05-25): the primary China SMS provider, through the official SDK
``alibabacloud_dysmsapi20170525`` (which signs every call with ACS3-HMAC-SHA256).

Send side: one ``SendSms`` per message. ``PhoneNumbers`` is the number as Alibaba wants it: mainland
numbers as the bare 11 digits, others as country code + number without ``+`` (``852…``).
``SignName`` comes from a leading ``【…】`` in the rendered text (a store may sign per message), else
from the configured sign name; the bracketed sign is always cut from the text, because Alibaba adds
``【SignName】`` itself. ``TemplateCode`` is looked up by the message's trigger (``templates``
mapping, ``"default"`` as the fallback) and the text goes into one template variable
(``template_variable``, default ``content``) of ``TemplateParam``. ``OutId`` carries our message id,
so receipts and ``QuerySendDetails`` find the message. Alibaba has no idempotency (``dedupes``
False); after a timeout ``lookup`` asks ``QuerySendDetails`` for the number's sends of that (Beijing)
day and the day before and matches ``OutId``. ``QuerySendDetails`` does not return the BizId, so a
send found that way is reported with the provider id ``outid:<message id>``: receipts still find the
message by ``out_id``.

Error codes (help.aliyun.com/document_detail/101346.html, /101347.html, alibabacloud.com
sms error-codes): ``isv.MOBILE_NUMBER_ILLEGAL`` → invalid_address; ``isv.BUSINESS_LIMIT_CONTROL`` and
the other frequency/flow limits and ``Throttling*`` → throttled; ``isp.SYSTEM_ERROR``,
``ServiceUnavailable``, HTTP 5xx → unavailable; no answer in time → timeout; anything else →
rejected. ``isv.BLACK_KEY_CONTROL_LIMIT`` is documented as "a blocked KEYWORD in a template
variable", not as a blacklisted number, so it maps to rejected. The API has no documented code that
says "this recipient unsubscribed" (that shows up in receipts, e.g. carrier blacklist codes);
``error_codes`` lets operations map codes seen in production (e.g. to ``opted_out``).

Webhook side: one URL (``/webhooks/aliyun/{token}``, path token checked by the route) receives both
pushes, told apart per item by their fields (no documented path or query hint exists): an item with
``biz_id``/``success``/``report_time``/``err_code`` is a SmsReport receipt, one with ``content`` and
``sequence_id``/``dest_code`` is a SmsUp reply. Alibaba signs nothing, so besides the path token the
adapter can restrict callers to an IP allowlist (CIDRs, 403 otherwise). ``GET`` is the console's
connectivity probe and gets ``{"code":0}``. Times are naive Beijing time (UTC+8).

Secret names (``from_secrets``): ``aliyun_access_key_id``, ``aliyun_access_key_secret``,
``aliyun_sign_name``, ``aliyun_templates`` (JSON object trigger → template code, ``"default"``
fallback), ``aliyun_endpoint``, optional ``aliyun_template_variable``, ``aliyun_ip_allowlist``
(comma-separated CIDRs), ``aliyun_error_codes`` (JSON object code → our code).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from alibabacloud_dysmsapi20170525 import models as sms_models  # type: ignore[import-untyped]
from alibabacloud_dysmsapi20170525.client import Client  # type: ignore[import-untyped]
from alibabacloud_tea_openapi.utils_models import Config  # type: ignore[import-untyped]
from darabonba.runtime import RuntimeOptions  # type: ignore[import-untyped]

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.model import Channel, MessageStatus
from ...domain.sms_parts import parts_to
from ...ports import OutboundMessage, ProviderError, Receipt, SendResult
from .base import WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .china_sms import (
    BEIJING,
    ChinaSmsAdapter,
    beijing_time,
    host_and_protocol,
    json_object,
    shared_secrets,
    split_sign,
    text_field,
)
from .error_codes import ErrorCodes, Meaning

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"
DEFAULT_MAX_ITEMS = 1000  # SendSms takes ≤1,000 numbers; a push batch larger than that is not Alibaba's
ANSWER_OK = json.dumps({"code": 0, "msg": "成功"}, ensure_ascii=False)
PROBE_OK = json.dumps({"code": 0})
LOOKUP_PAGE_SIZE = 50  # QuerySendDetails' maximum
LOOKUP_MAX_PAGES = 4
SEND_DATE_SLACK = timedelta(minutes=5)  # a send just before Beijing midnight may be dated the next day

# Our failure code for each documented Alibaba code; prefixes after that (``Throttling.User`` …).
ERROR_CODES = ErrorCodes.of(
    {
        "isv.MOBILE_NUMBER_ILLEGAL": "invalid_address",
        "isv.PHONE_NUMBER_ILLEGAL": "invalid_address",
        "MOBILE_NUMBER_ILLEGAL": "invalid_address",
        "isv.BUSINESS_LIMIT_CONTROL": "throttled",
        "isv.DAY_LIMIT_CONTROL": "throttled",
        "BUSINESS_LIMIT_CONTROL_MINUTE": "throttled",
        "isv.BUSINESS_LIMIT_HOUR": "throttled",
        "isv.BUSINESS_LIMIT_DAY": "throttled",
        "BUSINESS_LIMIT_CONTROL_PHONE": "throttled",
        "QPS_LIMIT_CONTROL": "throttled",
        "isp.SYSTEM_ERROR": "unavailable",
        "isp.GATEWAY_ERROR": "unavailable",
        "isp.UNKNOWN": "unavailable",
        "SYSTEM_ERROR": "unavailable",
        "ServiceUnavailable": "unavailable",
        "InternalError": "unavailable",
        "isv.BLACK_KEY_CONTROL_LIMIT": Meaning("rejected", "a blocked keyword in a template variable"),
        "HTTP429": Meaning("throttled", retry_after=1.0),  # the gateway's bare 429 says no more
    },
    prefixes={"Throttling": "throttled", "ServiceUnavailable": "unavailable", "InternalError": "unavailable"},
)


class AliyunSmsAdapter(ChinaSmsAdapter):
    name: ClassVar[str] = "aliyun"
    error_codes = ERROR_CODES
    can_lookup: ClassVar[bool] = True
    can_query_status: ClassVar[bool] = True
    webhook_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "POST"})  # GET/HEAD: the console's probe

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        templates: Mapping[str, str],
        sign_name: str = "",
        template_variable: str = "content",
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = 5.0,
        connect_timeout: float | None = None,
        ip_allowlist: Iterable[str] = (),
        max_items: int = DEFAULT_MAX_ITEMS,
        error_codes: Mapping[str, str] | None = None,
        client: Any | None = None,
    ) -> None:
        """``endpoint``: ``dysmsapi.aliyuncs.com`` or a URL (``http://127.0.0.1:8080`` for a stub; the
        scheme picks the protocol, https when none). ``timeout`` bounds each call in seconds (Alibaba
        advises ≥1 s). ``ip_allowlist``: CIDRs allowed to call the webhook (empty: anyone holding
        the path token). ``error_codes`` adds to / overrides the Alibaba code → our code table."""
        super().__init__(templates=templates, sign_name=sign_name, ip_allowlist=ip_allowlist, max_items=max_items)
        can_send = self.configured_for_sending(
            ("access key id", access_key_id), ("access key secret", access_key_secret), ("template codes", templates)
        )
        self.template_variable = template_variable or "content"
        try:
            self.error_codes = ERROR_CODES.with_overrides(error_codes or {})
        except ValueError as exc:
            raise ValueError(f"aliyun: aliyun_error_codes: {exc}") from exc
        if client is None and can_send:
            host, protocol = host_and_protocol(endpoint, DEFAULT_ENDPOINT, "aliyun")
            client = Client(
                Config(
                    access_key_id=access_key_id,
                    access_key_secret=access_key_secret,
                    endpoint=host,
                    protocol=protocol,
                    read_timeout=int(timeout * 1000),
                    connect_timeout=int((connect_timeout or min(timeout, 5.0)) * 1000),
                )
            )
        self._client: Any = client  # None only when send_unavailable says why

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **overrides: Any) -> AliyunSmsAdapter:
        """Secret keys: ``aliyun_access_key_id``, ``aliyun_access_key_secret``, ``aliyun_sign_name``,
        ``aliyun_templates`` (JSON object), ``aliyun_endpoint``; optional ``aliyun_template_variable``,
        ``aliyun_ip_allowlist`` (comma-separated CIDRs), ``aliyun_error_codes`` (JSON object).
        ``overrides`` (constructor keywords) win."""
        config: dict[str, Any] = {
            "access_key_id": secrets.get("aliyun_access_key_id", ""),
            "access_key_secret": secrets.get("aliyun_access_key_secret", ""),
            **shared_secrets(secrets, "aliyun"),
        }
        if secrets.get("aliyun_template_variable"):
            config["template_variable"] = secrets["aliyun_template_variable"]
        if secrets.get("aliyun_error_codes"):
            config["error_codes"] = json_object(secrets["aliyun_error_codes"], "aliyun_error_codes")
        config.update(overrides)
        return cls(**config)

    # --- send side -------------------------------------------------------------------------

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        self.require_send_config()
        sign, body = self.sign_and_body(message.text)
        template = self.template(message.trigger)
        request = sms_models.SendSmsRequest(
            phone_numbers=alibaba_number(message.to),
            sign_name=sign,
            template_code=template,
            template_param=json.dumps({self.template_variable: body}, ensure_ascii=False),
            out_id=message.message_id,
        )
        answer = self._call("SendSms", self._client.send_sms_with_options, request, message.to)
        code = str(answer.get("Code") or "")
        if code and code != "OK":
            raise self.failure(code, detail=str(answer.get("Message") or ""), to=message.to)
        biz_id = answer.get("BizId")
        if not code or not isinstance(biz_id, str) or not biz_id:
            raise self.unreadable("SendSms", message.to)
        return SendResult(biz_id, _parts(message.to, body, sign))

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        """Alibaba's record of ``message`` by ``OutId``: today's and yesterday's sends (Beijing
        dates) to the number, newest pages first; None when it is not there."""
        self.require_send_config()
        today = now.astimezone(BEIJING).date()
        for day in (today, today - timedelta(days=1)):
            for detail in self._details(message.to, day):
                if detail.get("OutId") == message.message_id:
                    return self._found(message, detail, now)
        return None

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        """Alibaba's delivery report for a send: ``QuerySendDetails`` by number, send date (Beijing)
        and BizId (by ``OutId`` for a send that ``lookup`` found, which has no BizId). None while
        it waits for the carrier (``SendStatus`` 1) or knows no such send; 30 days back at most."""
        self.require_send_config()
        biz_id = None if provider_message_id.startswith("outid:") else provider_message_id
        sent = sent_at.astimezone(BEIJING)
        for day in sorted({sent.date(), (sent + SEND_DATE_SLACK).date()}):
            for detail in self._details(to, day, biz_id):
                if biz_id or detail.get("OutId") == message_id:
                    return _report(detail, message_id, provider_message_id, now)
        return None

    def _details(self, to: str, day: date, biz_id: str | None = None) -> Iterator[Mapping[str, Any]]:
        """``QuerySendDetails`` rows for the number's sends of that Beijing day (one BizId's, when
        given), newest first, page by page."""
        for page in range(1, LOOKUP_MAX_PAGES + 1):
            request = sms_models.QuerySendDetailsRequest(
                phone_number=alibaba_number(to),
                send_date=day.strftime("%Y%m%d"),
                page_size=LOOKUP_PAGE_SIZE,
                current_page=page,
                biz_id=biz_id,
            )
            answer = self._call("QuerySendDetails", self._client.query_send_details_with_options, request, to)
            code = str(answer.get("Code") or "")
            if code != "OK":
                raise self.failure(code, detail=str(answer.get("Message") or ""), to=to)
            details = _rows(answer)
            yield from details
            if len(details) < LOOKUP_PAGE_SIZE:
                return

    def _found(self, message: OutboundMessage, detail: Mapping[str, Any], now: datetime) -> SendResult:
        content = detail.get("Content")
        text = content if isinstance(content, str) and content else message.text
        sign, body = split_sign(text)  # the content as the platform kept it, signed or not
        parts = _parts(message.to, body, sign or self.sign_name)
        provider_id = f"outid:{message.message_id}"
        report = _report(detail, message.message_id, provider_id, now)
        return SendResult(provider_id, parts, (report,) if report else ())

    def _call(self, action: str, method: Any, request: Any, to: str) -> dict[str, Any]:
        try:
            response = method(request, RuntimeOptions())
        except Exception as exc:  # the SDK raises its own and wrapped transport errors
            raise self._sdk_error(action, exc, to) from exc
        body = getattr(response, "body", None)
        answer = body.to_map() if body is not None else None
        if not isinstance(answer, dict):
            raise self.unreadable(action, to)
        return answer

    def _sdk_error(self, action: str, exc: Exception, to: str) -> ProviderError:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):  # an HTTP error answer the SDK could read
            code = getattr(exc, "code", None)
            retry_after = getattr(exc, "retry_after", None)  # x-acs-retry-after, milliseconds
            seconds = retry_after / 1000 if isinstance(retry_after, int | float) and retry_after > 0 else None
            return self.failure(
                code if isinstance(code, str) and code != "None" else None,
                status=status,
                detail=str(getattr(exc, "message", "") or ""),
                retry_after=seconds,
                to=to,
            )
        inner = getattr(exc, "inner_exception", None) or exc
        kind = type(inner).__name__
        if "timed out" in str(inner).lower() or "timeout" in kind.lower():
            return self.no_answer(action, to)
        if isinstance(inner, ValueError) or "json" in str(inner).lower():
            # Not JSON (e.g. a gateway's HTML page): the SDK keeps no status for it.
            return self.unreadable(action, to)
        return self.unreachable(action, kind, to)

    # --- webhook side ----------------------------------------------------------------------

    def parse(self, request: WebhookRequest, verified: None, now: datetime) -> WebhookResult:
        if request.method.upper() in ("GET", "HEAD"):
            return WebhookResult(WebhookAnswer(200, PROBE_OK))
        items = self.items(request.body)
        if not isinstance(items, list):
            raise WebhookRejected(400, "malformed", "body is not a JSON array")
        events = tuple(self._event(item, now) for item in items)
        return WebhookResult(WebhookAnswer(200, ANSWER_OK), events)

    def _event(self, item: object, now: datetime) -> InboundEvent:
        if not isinstance(item, dict):
            raise WebhookRejected(400, "malformed", "push item is not an object")
        raw = json.dumps(item, ensure_ascii=False, sort_keys=True)
        if any(key in item for key in ("biz_id", "success", "report_time", "err_code")):
            return self._receipt(item, raw, now)
        if "content" in item and ("sequence_id" in item or "dest_code" in item):
            return self._reply(item, raw, now)
        raise WebhookRejected(400, "malformed", "push item is neither a SmsReport nor a SmsUp")

    def _receipt(self, item: Mapping[str, Any], raw: str, now: datetime) -> InboundEvent:
        biz_id = text_field(item, "biz_id", required=True)
        success = item.get("success")
        err_code = text_field(item, "err_code")
        if isinstance(success, str) and success.strip().lower() in ("true", "false"):
            success = success.strip().lower() == "true"
        if isinstance(success, bool):
            delivered = success
        elif success is None and err_code is not None:
            delivered = err_code == "DELIVERED"
        else:
            raise WebhookRejected(400, "malformed", "SmsReport without success/err_code")
        status = MessageStatus.DELIVERED if delivered else MessageStatus.UNDELIVERED
        at = beijing_time(item.get("report_time")) or beijing_time(item.get("send_time")) or now
        return InboundEvent(
            provider=self.name,
            kind=InboundKind.RECEIPT,
            event_id=f"{biz_id}:{status.value}",
            at=at,
            channel=Channel.SMS,
            message_id=text_field(item, "out_id"),
            provider_message_id=biz_id,
            status=status,
            reason=None if delivered else (err_code or text_field(item, "err_msg") or "undelivered"),
            parts=_positive_int(item.get("sms_size")),
            raw=raw,
        )

    def _reply(self, item: Mapping[str, Any], raw: str, now: datetime) -> InboundEvent:
        sequence_id = text_field(item, "sequence_id", required=True)
        content = item.get("content")
        if not isinstance(content, str):
            raise WebhookRejected(400, "malformed", "SmsUp content is not text")
        sender = e164_from_alibaba(text_field(item, "phone_number", required=True) or "")
        if sender is None:
            raise WebhookRejected(400, "malformed", "SmsUp phone_number is not a phone number")
        return InboundEvent(
            provider=self.name,
            kind=InboundKind.REPLY,
            event_id=f"up:{sequence_id}",
            at=beijing_time(item.get("send_time")) or now,
            channel=Channel.SMS,
            sender=sender,
            text=content,
            raw=raw,
        )


# --- helpers -------------------------------------------------------------------------------


def alibaba_number(e164: str) -> str:
    """``+8613800138000`` → ``13800138000`` (mainland: bare 11 digits); ``+85212345678`` →
    ``85212345678`` (elsewhere: country code + number, no ``+``), as SendSms documents."""
    digits = e164.strip().lstrip("+")
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def e164_from_alibaba(number: str) -> str | None:
    """The reverse, for SmsUp senders: 11 mainland digits get ``+86``; ``0086``/``86``/``+86``
    prefixes are kept as the country code; anything else is taken as country code + number."""
    text = re.sub(r"[\s-]", "", number)
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text.lstrip("+")
    if not digits.isascii() or not digits.isdigit() or not 5 <= len(digits) <= 16:
        return None
    if not text.startswith("+") and len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return "+" + digits


def _parts(to: str, body: str, sign: str) -> int:
    return parts_to(to, body, f"【{sign}】")


def _report(detail: Mapping[str, Any], message_id: str, provider_id: str, now: datetime) -> Receipt | None:
    """A ``QuerySendDetails`` row's ``SendStatus`` as a receipt: 3 delivered, 2 failed, 1 (still
    waiting for the carrier) none."""
    status = detail.get("SendStatus")
    at = beijing_time(detail.get("ReceiveDate")) or now
    if status == 3:
        return Receipt(message_id, provider_id, MessageStatus.DELIVERED, at)
    if status == 2:
        reason = str(detail.get("ErrCode") or "") or None
        return Receipt(message_id, provider_id, MessageStatus.UNDELIVERED, at, reason)
    return None


def _rows(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    dtos = answer.get("SmsSendDetailDTOs")
    rows = dtos.get("SmsSendDetailDTO") if isinstance(dtos, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _positive_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip()) if isinstance(value, str | int) else None
    except ValueError:
        return None
    return number if number is not None and 0 < number < 10_000 else None
