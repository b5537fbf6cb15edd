"""A Tencent Cloud SMS stub (API 2021-01-11): ``SendSms`` and ``PullSmsSendStatusByPhoneNumber`` as
the official SDK calls them — ``POST /`` with a JSON body, ``X-TC-Action``/``X-TC-Version``/
``X-TC-Timestamp`` headers and ``Authorization: TC3-HMAC-SHA256 Credential=…/date/sms/tc3_request,
SignedHeaders=content-type;host, Signature=…``, which the stub recomputes with the known SecretKey
(answering ``AuthFailure.SignatureFailure`` / ``AuthFailure.SecretIdNotFound`` /
``AuthFailure.SignatureExpire`` like Tencent). Answers are ``{"Response": {…, "RequestId"}}``;
request-level errors are ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` with HTTP 200.

Magic numbers pick the outcome:

- per-number ``SendStatusSet`` codes: ``+8613800000001`` → ``InvalidParameterValue.IncorrectPhoneNumber``,
  ``+8613800000002`` → ``FailedOperation.PhoneNumberInBlacklist``, ``+8613800000003`` →
  ``LimitExceeded.PhoneNumberDailyLimit``;
- request-level errors: ``+8613800000004`` → ``InternalError.OtherError``, ``+8613800000006`` →
  ``FailedOperation.TemplateIncorrectOrUnapproved``, ``+8613800000008`` → ``RequestLimitExceeded``,
  ``+8613800000009`` → ``InternalError.Timeout``;
- ``+8613800000007`` → HTTP 502; ``+8613800000005`` → answers after ``slow_seconds``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.providers.stubkit import StubRequest, StubResponse

SERVICE = "sms"
STATUS_ERRORS = {
    "+8613800000001": ("InvalidParameterValue.IncorrectPhoneNumber", "incorrect phone number"),
    "+8613800000002": ("FailedOperation.PhoneNumberInBlacklist", "phone number in blacklist"),
    "+8613800000003": ("LimitExceeded.PhoneNumberDailyLimit", "phone number daily limit"),
}
REQUEST_ERRORS = {
    "+8613800000004": ("InternalError.OtherError", "other error"),
    "+8613800000006": ("FailedOperation.TemplateIncorrectOrUnapproved", "template unapproved"),
    "+8613800000008": ("RequestLimitExceeded", "request limit exceeded"),
    "+8613800000009": ("InternalError.Timeout", "timeout"),
}


def tc3_signature(secret_key: str, request: StubRequest, timestamp: int) -> str:
    """TC3-HMAC-SHA256 (cloud.tencent.com/document/api/382/52072): canonical request over
    content-type and host, then HMAC chain TC3+key → date → service → tc3_request."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            request.method,
            request.path or "/",
            "",
            f"content-type:{request.headers.get('content-type', '')}\nhost:{request.headers.get('host', '')}\n",
            "content-type;host",
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = hmac.new(("TC3" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    key = hmac.new(key, SERVICE.encode(), hashlib.sha256).digest()
    key = hmac.new(key, b"tc3_request", hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class TencentStub:
    secret_id: str
    secret_key: str
    sdk_app_id: str
    slow_seconds: float = 1.5
    sent: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # what the status pull knows
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: StubRequest) -> StubResponse:
        if request.method != "POST" or request.path != "/":
            return StubResponse(404, "not found", {"Content-Type": "text/plain"})
        problem = self._check_signature(request)
        if problem:
            return _error(*problem)
        if request.headers.get("x-tc-version") != "2021-01-11":
            return _error("InvalidParameter", "X-TC-Version is not 2021-01-11")
        try:
            params = json.loads(request.body)
        except ValueError:
            return _error("InvalidParameter", "body is not JSON")
        if params.get("SmsSdkAppId") != self.sdk_app_id:
            return _error("InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId does not exist")
        action = request.headers.get("x-tc-action", "")
        if action == "SendSms":
            return self._send(params)
        if action == "PullSmsSendStatusByPhoneNumber":
            return self._pull(params)
        return _error("InvalidAction", f"action {action} not found")

    def _check_signature(self, request: StubRequest) -> tuple[str, str] | None:
        auth = request.headers.get("authorization", "")
        prefix = "TC3-HMAC-SHA256 "
        if not auth.startswith(prefix):
            return ("AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256")
        fields = dict(part.strip().split("=", 1) for part in auth[len(prefix) :].split(",") if "=" in part)
        scope = fields.get("Credential", "").split("/")
        if len(scope) != 4 or scope[2] != SERVICE or scope[3] != "tc3_request":
            return ("AuthFailure.InvalidAuthorization", "bad credential scope")
        if scope[0] != self.secret_id:
            return ("AuthFailure.SecretIdNotFound", "secret id not found")
        if fields.get("SignedHeaders") != "content-type;host":
            return ("AuthFailure.InvalidAuthorization", "content-type and host must be signed")
        try:
            timestamp = int(request.headers.get("x-tc-timestamp", ""))
        except ValueError:
            return ("AuthFailure.InvalidAuthorization", "X-TC-Timestamp missing")
        if abs(time.time() - timestamp) > 300:
            return ("AuthFailure.SignatureExpire", "signature expired")
        if scope[1] != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return ("AuthFailure.InvalidAuthorization", "credential date is not the timestamp's UTC date")
        expected = tc3_signature(self.secret_key, request, timestamp)
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return ("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        return None

    def _send(self, params: dict[str, Any]) -> StubResponse:
        numbers = params.get("PhoneNumberSet")
        if not isinstance(numbers, list) or not numbers:
            return _error("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty")
        if len(numbers) > 200:
            return _error("LimitExceeded.PhoneNumberCountLimit", "more than 200 numbers")
        for name in ("TemplateId", "SignName"):
            if not params.get(name):
                return _error("MissingParameter", f"{name} missing")
        texts = params.get("TemplateParamSet") or []
        number = numbers[0]
        if number in REQUEST_ERRORS:
            return _error(*REQUEST_ERRORS[number])
        if number == "+8613800000007":
            return StubResponse(502, "<html>502 Bad Gateway</html>", {"Content-Type": "text/html"})
        if number == "+8613800000005":
            time.sleep(self.slow_seconds)
        result = []
        for to in numbers:
            context = params.get("SessionContext", "")
            if to in STATUS_ERRORS:
                code, text = STATUS_ERRORS[to]
                result.append(
                    {
                        "SerialNo": "",
                        "PhoneNumber": to,
                        "Fee": 0,
                        "SessionContext": context,
                        "Code": code,
                        "Message": text,
                        "IsoCode": "CN",
                    }
                )
                continue
            length = len(params["SignName"]) + 2 + sum(len(str(t)) for t in texts)
            fee = 1 if length <= 70 else -(-length // 67)
            with self._lock:
                serial = f"2433:{next(self._ids):019d}"
                self.sent.append(params)
                self.statuses.append(
                    {"PhoneNumber": to, "SerialNo": serial, "SessionContext": context, "sent_at": int(time.time())}
                )
            result.append(
                {
                    "SerialNo": serial,
                    "PhoneNumber": to,
                    "Fee": fee,
                    "SessionContext": context,
                    "Code": "Ok",
                    "Message": "send success",
                    "IsoCode": "CN",
                }
            )
        return _ok({"SendStatusSet": result})

    def report(self, serial: str, delivered: bool = True, description: str = "DELIVRD") -> dict[str, Any]:
        """The carrier's word on a send: the status pull lists it from now on, and this is the
        receipt Tencent calls back with (``ext`` = the send's SessionContext)."""
        status = next(s for s in self.statuses if s["SerialNo"] == serial)
        at = int(time.time())
        status.update(ReportStatus="SUCCESS" if delivered else "FAIL", Description=description, UserReceiveTime=at)
        return {
            "user_receive_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at + 8 * 3600)),
            "nationcode": "86",
            "mobile": status["PhoneNumber"].removeprefix("+86"),
            "report_status": status["ReportStatus"],
            "errmsg": description,
            "description": "用户短信送达成功" if delivered else "失败",
            "sid": serial,
            "ext": status["SessionContext"],
        }

    def _pull(self, params: dict[str, Any]) -> StubResponse:
        for name in ("BeginTime", "Offset", "Limit", "PhoneNumber"):
            if name not in params:
                return _error("MissingParameter", f"{name} missing")
        if params["Offset"] != 0:
            return _error("InvalidParameterValue.OffsetVerifyFail", "Offset must be 0")
        if not 0 < params["Limit"] <= 100:
            return _error("InvalidParameterValue.LimitVerifyFail", "Limit must be 1-100")
        if params["BeginTime"] < time.time() - 7 * 86400 - 60:
            return _error("InvalidParameterValue.BeginTimeVerifyFail", "BeginTime older than 7 days")
        with self._lock:
            rows = [
                {
                    "UserReceiveTime": s.get("UserReceiveTime"),
                    "CountryCode": "86",
                    "SubscriberNumber": s["PhoneNumber"].removeprefix("+86"),
                    "PhoneNumber": s["PhoneNumber"],
                    "SerialNo": s["SerialNo"],
                    "ReportStatus": s.get("ReportStatus"),
                    "Description": s.get("Description"),
                    "SessionContext": s["SessionContext"],
                }
                for s in self.statuses
                if s["PhoneNumber"] == params["PhoneNumber"]
                and s.get("ReportStatus")
                and s["sent_at"] >= params["BeginTime"]
            ]
        return _ok({"PullSmsSendStatusSet": rows[: params["Limit"]]})


def _ok(body: dict[str, Any]) -> StubResponse:
    return StubResponse(200, json.dumps({"Response": {**body, "RequestId": str(uuid.uuid4())}}))


def _error(code: str, message: str) -> StubResponse:
    return _ok({"Error": {"Code": code, "Message": message}})
