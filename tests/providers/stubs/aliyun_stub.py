"""An Alibaba Cloud SMS stub (dysmsapi 2017-05-25, RPC style): ``SendSms`` and ``QuerySendDetails``
(by number and send date, optionally one ``BizId``) as the official SDK calls them — parameters in
the query string, ``x-acs-action``/``x-acs-version`` headers, and an ``Authorization:
ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`` header that the stub recomputes with the
known AccessKey secret (answering ``SignatureDoesNotMatch`` / ``InvalidAccessKeyId.NotFound`` like
Alibaba when it does not match).

Business errors come back as HTTP 200 with ``Code`` ≠ ``OK``; gateway errors as HTTP 4xx/5xx with the
error JSON. Magic mainland numbers pick the outcome:

- ``13800000001`` → ``isv.MOBILE_NUMBER_ILLEGAL``; ``13800000002`` → ``isv.BUSINESS_LIMIT_CONTROL``;
  ``13800000006`` → ``isv.SMS_TEMPLATE_ILLEGAL``; ``13800000007`` → ``isv.BLACK_KEY_CONTROL_LIMIT``;
  ``13800000008`` → ``isp.SYSTEM_ERROR`` (all HTTP 200);
- ``13800000003`` → HTTP 400 ``Throttling.User`` with ``x-acs-retry-after: 2000`` (ms);
- ``13800000004`` → HTTP 503 ``ServiceUnavailable``; ``13800000009`` → HTTP 502 HTML page;
- ``13800000005`` → answers OK after ``slow_seconds`` (past the client's timeout).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from tests.providers.stubkit import StubRequest, StubResponse

BEIJING = timezone(timedelta(hours=8))
ALGORITHM = "ACS3-HMAC-SHA256"
REQUIRED_SIGNED = {
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
}

BUSINESS_ERRORS = {
    "13800000001": ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
    "13800000002": ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控"),
    "13800000006": ("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)"),
    "13800000007": ("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控"),
    "13800000008": ("isp.SYSTEM_ERROR", "系统错误"),
}


def canonical_query(query: dict[str, str]) -> str:
    return "&".join(f"{k}={quote(query[k], safe='~')}" for k in sorted(query))


def acs3_signature(
    secret: str, method: str, path: str, query: dict[str, str], headers: dict[str, str], signed: list[str]
) -> str:
    """ACS3-HMAC-SHA256 as Alibaba documents it (help.aliyun.com/zh/sdk/product-overview/
    v3-request-structure-and-signature)."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
    canonical = "\n".join(
        [
            method,
            path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(signed),
            headers.get("x-acs-content-sha256", ""),
        ]
    )
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class AliyunStub:
    access_key_id: str
    access_key_secret: str
    slow_seconds: float = 1.5
    sent: list[dict[str, str]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # what QuerySendDetails knows
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: StubRequest) -> StubResponse:
        problem = self._check_signature(request)
        if problem:
            return _error(400 if problem[0] != "InvalidAccessKeyId.NotFound" else 404, *problem)
        if request.headers.get("x-acs-version") != "2017-05-25":
            return _error(400, "InvalidVersion", "Specified parameter Version is not valid.")
        action = request.headers.get("x-acs-action", "")
        if action == "SendSms":
            return self._send(request.query)
        if action == "QuerySendDetails":
            return self._query(request.query)
        return _error(404, "InvalidAction.NotFound", f"Specified api {action} is not found.")

    def report(self, biz_id: str, delivered: bool = True, err_code: str = "DELIVERED") -> dict[str, Any]:
        """The carrier's word on a send: ``QuerySendDetails`` knows it from now on, and this is
        the SmsReport item Alibaba pushes for it."""
        record = next(r for r in self.records if r["BizId"] == biz_id)
        at = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        record.update(SendStatus=3 if delivered else 2, ErrCode=err_code, ReceiveDate=at)
        return {
            "phone_number": record["PhoneNum"],
            "send_time": record["SendDate"],
            "report_time": at,
            "success": delivered,
            "err_code": err_code,
            "err_msg": "用户接收成功" if delivered else "失败",
            "sms_size": "1",
            "biz_id": biz_id,
            "out_id": record["OutId"],
        }

    # --- signing ----------------------------------------------------------------------------

    def _check_signature(self, request: StubRequest) -> tuple[str, str] | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith(ALGORITHM + " "):
            return ("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        fields = dict(part.split("=", 1) for part in auth[len(ALGORITHM) + 1 :].split(",") if "=" in part)
        if fields.get("Credential") != self.access_key_id:
            return ("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = fields.get("SignedHeaders", "").split(";")
        if not set(signed) >= REQUIRED_SIGNED or signed != sorted(signed):
            return ("IncompleteSignature", "Required headers are not signed.")
        if request.headers.get("x-acs-content-sha256") != hashlib.sha256(request.body).hexdigest():
            return ("IncompleteSignature", "x-acs-content-sha256 does not match the body.")
        try:
            stamp = datetime.strptime(request.headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return ("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs((datetime.now(UTC) - stamp).total_seconds()) > 900:
            return ("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        expected = acs3_signature(
            self.access_key_secret, request.method, request.path, request.query, request.headers, signed
        )
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return ("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        return None

    # --- actions ----------------------------------------------------------------------------

    def _send(self, query: dict[str, str]) -> StubResponse:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not query.get(name):
                return _ok({"Code": "isv.INVALID_PARAMETERS", "Message": f"{name} is mandatory"})
        try:
            params = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            return _ok({"Code": "isv.INVALID_JSON_PARAM", "Message": "JSON参数不合法"})
        number = query["PhoneNumbers"]
        if number in BUSINESS_ERRORS:
            code, text = BUSINESS_ERRORS[number]
            return _ok({"Code": code, "Message": text})
        if number == "13800000003":
            return _error(
                400, "Throttling.User", "Request was denied due to user flow control.", {"x-acs-retry-after": "2000"}
            )
        if number == "13800000004":
            return _error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
        if number == "13800000009":
            return StubResponse(502, "<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
        if number == "13800000005":
            time.sleep(self.slow_seconds)
        if not number.isdigit() or not 5 <= len(number) <= 15:
            return _ok({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"})
        with self._lock:
            biz_id = f"{900000 + next(self._ids)}^0"
            self.sent.append(dict(query))
            content = "".join(str(v) for v in params.values())
            self.records.append(
                {
                    "PhoneNum": number,
                    "SendStatus": 1,
                    "ErrCode": "",
                    "TemplateCode": query["TemplateCode"],
                    "Content": f"【{query['SignName']}】{content}",
                    "SendDate": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": "",
                    "OutId": query.get("OutId", ""),
                    "BizId": biz_id,  # a filter only: QuerySendDetails rows do not carry it
                }
            )
        return _ok({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": _request_id()})

    def _query(self, query: dict[str, str]) -> StubResponse:
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not query.get(name):
                return _ok({"Code": "isv.INVALID_PARAMETERS", "Message": f"{name} is mandatory"})
        size, page = int(query["PageSize"]), int(query["CurrentPage"])
        if not 1 <= size <= 50 or page < 1:
            return _ok({"Code": "isv.INVALID_PARAMETERS", "Message": "PageSize must be 1-50"})
        day = query["SendDate"]
        with self._lock:
            rows = [
                {k: v for k, v in r.items() if k != "BizId"}
                for r in self.records
                if r["PhoneNum"] == query["PhoneNumber"]
                and r["SendDate"][:10].replace("-", "") == day
                and query.get("BizId", r["BizId"]) == r["BizId"]
            ]
        rows = list(reversed(rows))[(page - 1) * size : page * size]
        return _ok(
            {
                "Code": "OK",
                "Message": "OK",
                "RequestId": _request_id(),
                "TotalCount": len(rows),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows},
            }
        )


def _request_id() -> str:
    return hashlib.md5(str(time.time_ns()).encode()).hexdigest().upper()


def _ok(body: dict[str, Any]) -> StubResponse:
    return StubResponse(200, json.dumps(body, ensure_ascii=False))


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> StubResponse:
    body = {"RequestId": _request_id(), "HostId": "dysmsapi.aliyuncs.com", "Code": code, "Message": message}
    return StubResponse(status, json.dumps(body), {"Content-Type": "application/json;charset=utf-8", **(headers or {})})
