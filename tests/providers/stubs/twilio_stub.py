"""A Twilio REST stub: ``POST /2010-04-01/Accounts/{Sid}/Messages.json``, form-encoded, and ``GET
…/Messages/{MessageSid}.json`` (the message as it stands), HTTP Basic auth with the account SID and
auth token; answers Twilio's Message JSON or its error JSON ``{code, message, more_info, status}``.
:meth:`TwilioStub.deliver` moves a message on and builds the signed status callback Twilio sends.

Twilio's magic test numbers pick the outcome (twilio.com/docs/iam/test-credentials), plus a few of
ours for server-side trouble:

- ``+15005550001`` → 400 code 21211 (invalid 'To'), ``+15005550009`` → 400 code 21614 (not mobile),
  ``+15005550004`` → 400 code 21610 (unsubscribed recipient);
- ``+15005550429`` → 429 code 20429 with ``Retry-After: 7``; ``+15005550500`` → 500;
  ``+15005550408`` → answers after ``slow_seconds`` (past the client's timeout);
  ``+15005550400`` → 400 code 21408 (region not enabled); ``+15005550666`` → 200 without a ``sid``.
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from tests.providers.stubkit import StubRequest, StubResponse

ERRORS = {
    "+15005550001": (400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550009": (400, 21614, "'To' number is not a valid mobile number"),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550429": (429, 20429, "Too Many Requests"),
    "+15005550500": (500, 20500, "Internal Server Error"),
    "+15005550400": (400, 21408, "Permission to send an SMS has not been enabled for the region"),
}


@dataclass
class TwilioStub:
    account_sid: str
    auth_token: str
    slow_seconds: float = 1.5
    sent: list[dict[str, str]] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid → the Message resource
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def handle(self, request: StubRequest) -> StubResponse:
        if not self._authorised(request.headers.get("authorization", "")):
            return _error(401, 20003, "Authenticate")
        fetched = re.fullmatch(rf"{self.path[:-5]}/(SM[0-9a-f]{{32}})\.json", request.path)
        if request.method == "GET" and fetched:
            found = self.messages.get(fetched.group(1))
            return StubResponse(200, json.dumps(found)) if found else _error(404, 20404, "not found")
        if request.method != "POST" or request.path != self.path:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _error(400, 21000, "form-encoded body expected")
        form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        to = form.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if to in ERRORS:
            status, code, message = ERRORS[to]
            response = _error(status, code, message)
            if status == 429:
                response.headers["Retry-After"] = "7"
            return response
        if to == "+15005550408":
            time.sleep(self.slow_seconds)
        with self._lock:
            sid = f"SM{next(self._ids):032x}"
            self.sent.append(form)
        if to == "+15005550666":
            sid = ""
        body = form.get("Body", "")
        via_service = bool(form.get("MessagingServiceSid"))
        payload = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": None,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None if via_service else form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            # A Messaging Service has not picked a sender yet, so Twilio reports 0 segments.
            "num_segments": "0" if via_service else str(1 + len(body) // 153),
            "price": None,
            "price_unit": "USD",
            "sid": sid or None,
            "status": "accepted" if via_service else "queued",
            "subresource_uris": {"media": f"{self.path[:-5]}/{sid}/Media.json"},
            "to": to,
            "uri": f"{self.path[:-5]}/{sid}.json",
        }
        if sid:
            with self._lock:
                self.messages[sid] = {**payload, "status_callback": form.get("StatusCallback")}
        return StubResponse(201, json.dumps(payload))

    def deliver(
        self, sid: str, status: str = "delivered", error_code: int | None = None
    ) -> tuple[str, dict[str, str], str]:
        """Move a message on (the fetch shows it from now on) and build the status callback Twilio
        sends for it: (its StatusCallback URL, the form, X-Twilio-Signature)."""
        message = self.messages[sid]
        message.update(
            status=status,
            error_code=error_code,
            date_updated="Thu, 24 Aug 2023 05:02:10 +0000",
            date_sent="Thu, 24 Aug 2023 05:01:46 +0000",
        )
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": message["from"] or "",
            "To": message["to"],
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            **({"ErrorCode": str(error_code)} if error_code else {}),
        }
        url = message["status_callback"] or ""
        return url, form, RequestValidator(self.auth_token).compute_signature(url, form)

    def _authorised(self, header: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(header.encode(), expected.encode())


def _error(status: int, code: int, message: str) -> StubResponse:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return StubResponse(status, json.dumps(payload))
