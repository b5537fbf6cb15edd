"""An AWS End User Messaging SMS (``pinpoint-sms-voice-v2``) stub speaking awsJson1_0:
``POST /`` with ``X-Amz-Target: PinpointSMSVoiceV2.SendTextMessage`` and a JSON body, SigV4-signed for
service ``sms-voice``. The stub recomputes the signature with botocore's own ``SigV4Auth`` from the
known test credentials and answers 403 ``InvalidSignatureException`` when it does not match.

Destination numbers pick the outcome (errors in the service model's shapes, ``__type`` namespaced):

- ``+15555550001`` → ValidationException ``FIELD_VALIDATION_FAILED`` on DestinationPhoneNumber;
- ``+15555550002`` → ConflictException ``DESTINATION_PHONE_NUMBER_OPTED_OUT``;
- ``+15555550003`` → ThrottlingException; ``+15555550004`` → ServiceQuotaExceededException;
- ``+15555550005`` → InternalServerException (500); ``+15555550006`` → AccessDeniedException;
- ``+15555550007`` → ValidationException ``DESTINATION_COUNTRY_BLOCKED``;
- ``+15555550008`` → ConflictException ``DESTINATION_PHONE_NUMBER_NOT_VERIFIED``;
- ``+15555550009`` → answers after ``slow_seconds``; ``+15555550010`` → a bare 503.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.providers.stubkit import StubRequest, StubResponse

TARGET = "PinpointSMSVoiceV2.SendTextMessage"
NAMESPACE = "com.amazonaws.pinpointsmsvoicev2#"

ERRORS: dict[str, tuple[int, str, dict[str, Any]]] = {
    "+15555550001": (
        400,
        "ValidationException",
        {
            "Message": "1 validation error detected",
            "Reason": "FIELD_VALIDATION_FAILED",
            "Fields": [{"Name": "DestinationPhoneNumber", "Message": "Value failed to satisfy E.164 pattern"}],
        },
    ),
    "+15555550002": (
        400,
        "ConflictException",
        {
            "Message": "The destination phone number is opted out.",
            "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
            "ResourceType": "opt-out-list",
            "ResourceId": "Default",
        },
    ),
    "+15555550003": (400, "ThrottlingException", {"Message": "Rate exceeded"}),
    "+15555550004": (
        402,
        "ServiceQuotaExceededException",
        {"Message": "Monthly spend limit reached", "Reason": "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"},
    ),
    "+15555550005": (500, "InternalServerException", {"Message": "Internal failure", "RequestId": "r-1"}),
    "+15555550006": (400, "AccessDeniedException", {"Message": "Account disabled", "Reason": "ACCOUNT_DISABLED"}),
    "+15555550007": (
        400,
        "ValidationException",
        {"Message": "Destination country is blocked", "Reason": "DESTINATION_COUNTRY_BLOCKED"},
    ),
    "+15555550008": (
        400,
        "ConflictException",
        {"Message": "Sandbox: destination not verified", "Reason": "DESTINATION_PHONE_NUMBER_NOT_VERIFIED"},
    ),
}


@dataclass
class AwsSmsStub:
    access_key: str
    secret_key: str
    region: str
    slow_seconds: float = 1.5
    sent: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # MessageId → the request
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def delivery_event(self, message_id: str, event_type: str = "TEXT_DELIVERED") -> dict[str, Any]:
        """The configuration set's event for an accepted message, as it reaches the SNS topic."""
        sent = self.accepted[message_id]
        return {
            "eventType": event_type,
            "eventVersion": "1.0",
            "eventTimestamp": int(time.time() * 1000),
            "isFinal": True,
            "originationPhoneNumber": sent.get("OriginationIdentity", ""),
            "destinationPhoneNumber": sent["DestinationPhoneNumber"],
            "messageId": message_id,
            "messageType": sent.get("MessageType", "TRANSACTIONAL"),
            "context": sent.get("Context", {}),
            "totalMessageParts": 1,
        }

    def handle(self, request: StubRequest) -> StubResponse:
        if not self._signature_ok(request):
            return _error(403, "InvalidSignatureException", {"Message": "The request signature does not match"})
        if request.method != "POST" or request.path != "/":
            return _error(404, "UnknownOperationException", {"Message": "no such path"})
        if request.headers.get("x-amz-target") != TARGET:
            return _error(400, "UnknownOperationException", {"Message": "only SendTextMessage here"})
        if request.headers.get("content-type") != "application/x-amz-json-1.0":
            return _error(400, "SerializationException", {"Message": "awsJson1_0 expected"})
        body = json.loads(request.body)
        destination = body.get("DestinationPhoneNumber", "")
        if destination in ERRORS:
            status, kind, fields = ERRORS[destination]
            return _error(status, kind, fields)
        if destination == "+15555550009":
            time.sleep(self.slow_seconds)
        if destination == "+15555550010":
            return StubResponse(503, b"Service Unavailable", {"Content-Type": "text/plain"})
        message_id = str(uuid.uuid4())
        with self._lock:
            self.sent.append(body)
            self.accepted[message_id] = body
        return StubResponse(200, json.dumps({"MessageId": message_id}), _json_headers())

    def _signature_ok(self, request: StubRequest) -> bool:
        header = request.headers.get("authorization", "")
        parts = dict(
            item.strip().split("=", 1) for item in header.removeprefix("AWS4-HMAC-SHA256 ").split(",") if "=" in item
        )
        credential = parts.get("Credential", "").split("/")
        if len(credential) != 5 or credential[0] != self.access_key:
            return False
        if credential[2:] != [self.region, "sms-voice", "aws4_request"]:
            return False
        signed_names = parts.get("SignedHeaders", "").split(";")
        headers = {name: request.headers.get(name, "") for name in signed_names}
        aws_request = AWSRequest(
            method=request.method, url=f"http://{request.headers.get('host', '')}{request.path}", data=request.body
        )
        for name, value in headers.items():
            aws_request.headers[name] = value
        aws_request.context["timestamp"] = request.headers.get("x-amz-date", "")
        auth = SigV4Auth(Credentials(self.access_key, self.secret_key), "sms-voice", self.region)
        canonical = auth.canonical_request(aws_request)
        expected = auth.signature(auth.string_to_sign(aws_request, canonical), aws_request)
        return hmac.compare_digest(expected, parts.get("Signature", ""))


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": str(uuid.uuid4())}


def _error(status: int, kind: str, fields: dict[str, Any]) -> StubResponse:
    headers = _json_headers() | {"x-amzn-ErrorType": kind}
    return StubResponse(status, json.dumps({"__type": NAMESPACE + kind, **fields}), headers)
