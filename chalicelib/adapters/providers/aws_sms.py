"""AWS End User Messaging SMS (``pinpoint-sms-voice-v2``): AWS-native SMS through boto3.

Send side: one ``SendTextMessage`` per message, our id in ``Context`` (``{"message_id": …}``) so the
configuration set's delivery events name it. No idempotency key exists (``dedupes`` False) and there
is no API to read a sent message back (``can_lookup`` and ``can_query_status`` False: the service
has no message or status query at all; events only flow out through the configuration set, so a
receipt that never came cannot be asked for). The client makes ONE attempt per call: botocore's own
retries would resend a message after a read timeout and so could send it twice; our send queue
retries instead, with the error codes below.

Webhook side: SNS HTTP(S) delivery of (a) the configuration set's SMS events and (b) two-way inbound
SMS. Every SNS call is verified: ``TopicArn`` must be one we configured (when configured), the
signature (SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA) must match SNS's canonical string,
and the signing certificate is fetched only from ``https://sns.<region>.amazonaws.com/….pem`` (the
fetcher and the host pattern are injectable for tests; certificates are cached). Raw message
delivery must stay OFF on the subscription: raw bodies carry no signature and are refused.

Secret names (``from_secrets``): ``aws_sms_origination_identity``, ``aws_sms_configuration_set``,
``aws_sms_topic_arn`` (comma-separated when events and two-way use different topics),
``aws_sms_region``; plain settings (``endpoint_url``, ``client`` …) come as keyword overrides.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ParamValidationError,
    ReadTimeoutError,
)
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...domain.inbound import InboundEvent, InboundKind
from ...domain.model import Channel, MessageStatus
from ...domain.sms_parts import parts_to
from ...ports import OutboundMessage, SendResult
from .base import ProviderAdapter, WebhookAnswer, WebhookRejected, WebhookRequest, WebhookResult
from .error_codes import ErrorCodes, Meaning

log = logging.getLogger(__name__)

MAX_BODY = 512 * 1024  # SNS messages are ≤256 KiB; JSON escaping can grow the envelope
MAX_CERT = 64 * 1024
CERT_CACHE_SIZE = 32

# Configuration-set SMS event types (EventType enum of the service model, TEXT_*). Twilio's split is
# kept: FAILED = never handed to a carrier (our side or the content), UNDELIVERED = the carrier or
# handset did not take it. Queued/pending/sent only echo our own "sent" and still become SENT
# receipts (harmless: a receipt never lowers a message's status). TEXT_SUCCESSFUL = accepted by the
# carrier; AWS uses it interchangeably with TEXT_DELIVERED where a country has no handset receipts,
# so a FINAL (``isFinal``) TEXT_SUCCESSFUL counts as delivered, a non-final one as sent.
EVENT_STATUSES: dict[str, MessageStatus] = {
    "TEXT_DELIVERED": MessageStatus.DELIVERED,
    "TEXT_SUCCESSFUL": MessageStatus.SENT,
    "TEXT_SENT": MessageStatus.SENT,
    "TEXT_QUEUED": MessageStatus.SENT,
    "TEXT_PENDING": MessageStatus.SENT,
    "TEXT_INVALID": MessageStatus.FAILED,
    "TEXT_INVALID_MESSAGE": MessageStatus.FAILED,
    "TEXT_TTL_EXPIRED": MessageStatus.FAILED,
    "TEXT_PROTECT_BLOCKED": MessageStatus.FAILED,
    "TEXT_BLOCKED": MessageStatus.UNDELIVERED,
    "TEXT_CARRIER_BLOCKED": MessageStatus.UNDELIVERED,
    "TEXT_SPAM": MessageStatus.UNDELIVERED,
    "TEXT_UNREACHABLE": MessageStatus.UNDELIVERED,
    "TEXT_CARRIER_UNREACHABLE": MessageStatus.UNDELIVERED,
    "TEXT_UNKNOWN": MessageStatus.UNDELIVERED,
}

SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
SIGNATURE_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

# The service model's exceptions; ``Code/Reason`` or ``Code/DestinationPhoneNumber`` (the failing
# field) where one code covers problems of ours and of the number alike. Quota errors include the
# monthly spend limit: retried with backoff until it is raised, then failed, so the caps show up as
# failures instead of silently dropping messages. A ValidationException about anything but the
# number (country blocked, sender id, registration) is ours to fix: rejected, the channel unmarked.
ERROR_CODES = ErrorCodes.of(
    {
        "ThrottlingException": "throttled",
        "ServiceQuotaExceededException": Meaning("throttled", "a quota or the monthly spend limit"),
        "ConflictException/DESTINATION_PHONE_NUMBER_OPTED_OUT": "opted_out",
        "ValidationException/DestinationPhoneNumber": "invalid_address",
        "ParamValidationError/DestinationPhoneNumber": "invalid_address",
        "InternalServerException": "unavailable",
    }
)

CertFetcher = Callable[[str], bytes]


class SmsVoiceClient(Protocol):
    """The one call we make on a boto3 ``pinpoint-sms-voice-v2`` client."""

    def send_text_message(self, **kwargs: Any) -> Mapping[str, Any]: ...


def default_cert_host_pattern(region: str | None) -> re.Pattern[str]:
    """``sns.<region>.amazonaws.com`` (``.com.cn`` in China), pinned to ``region`` when known."""
    name = re.escape(region) if region else r"[a-z]{2}(?:-[a-z]+)+-\d"
    return re.compile(rf"sns\.{name}\.amazonaws\.com(?:\.cn)?")


def fetch_certificate(url: str) -> bytes:
    """Fetch a signing certificate over HTTPS (the caller has already checked scheme and host)."""
    if not url.startswith("https://"):
        raise ValueError("signing certificates are fetched over HTTPS only")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - https only, host pinned by caller
        data: bytes = response.read(MAX_CERT + 1)
    if len(data) > MAX_CERT:
        raise ValueError("signing certificate too large")
    return data


class AwsSmsAdapter(ProviderAdapter[dict[str, Any]]):
    name: ClassVar[str] = "aws_sms"
    error_codes = ERROR_CODES
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS})
    dedupes: ClassVar[bool] = False
    can_lookup: ClassVar[bool] = False
    max_webhook_bytes: ClassVar[int] = MAX_BODY

    def __init__(
        self,
        *,
        region: str | None = None,
        origination_identity: str | None = None,
        configuration_set: str | None = None,
        topic_arns: str | Iterable[str] | None = None,
        endpoint_url: str | None = None,
        client: SmsVoiceClient | None = None,
        session: boto3.session.Session | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        cert_fetcher: CertFetcher = fetch_certificate,
        cert_host_pattern: str | re.Pattern[str] | None = None,
    ) -> None:
        """``client`` wins over building one from ``session``/``region``/``endpoint_url``.
        ``topic_arns``: the SNS topics whose calls we accept (None = any topic, signature still
        checked). ``cert_fetcher``/``cert_host_pattern``: how and from where signing certificates
        are fetched (tests inject a self-signed one)."""
        self.region = region
        self.origination_identity = origination_identity or None
        self.configuration_set = configuration_set or None
        if isinstance(topic_arns, str):
            topic_arns = topic_arns.split(",")
        self.topic_arns = frozenset(arn.strip() for arn in topic_arns or () if arn.strip())
        if client is None:
            config = Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
            )
            maker = session or boto3.session.Session()
            client = cast(
                SmsVoiceClient,
                maker.client("pinpoint-sms-voice-v2", region_name=region, endpoint_url=endpoint_url, config=config),
            )
        self._client = client
        self._fetch = cert_fetcher
        if cert_host_pattern is None:
            cert_host_pattern = default_cert_host_pattern(region)
        self._cert_host = re.compile(cert_host_pattern) if isinstance(cert_host_pattern, str) else cert_host_pattern
        self._certs: dict[str, x509.Certificate] = {}
        self._certs_lock = threading.Lock()

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **overrides: Any) -> AwsSmsAdapter:
        """Secret keys: ``aws_sms_origination_identity``, ``aws_sms_configuration_set``,
        ``aws_sms_topic_arn`` (comma-separated for several), ``aws_sms_region``. ``overrides``
        (constructor keywords: ``region``, ``endpoint_url``, ``client`` …) win."""
        config: dict[str, Any] = {
            "region": secrets.get("aws_sms_region") or None,
            "origination_identity": secrets.get("aws_sms_origination_identity") or None,
            "configuration_set": secrets.get("aws_sms_configuration_set") or None,
            "topic_arns": secrets.get("aws_sms_topic_arn") or None,
        }
        config.update(overrides)
        return cls(**config)

    # --- send side -------------------------------------------------------------------------

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        params: dict[str, Any] = {
            "DestinationPhoneNumber": message.to,
            "MessageBody": message.text,
            "MessageType": "PROMOTIONAL" if message.rule_class == "marketing" else "TRANSACTIONAL",
            "Context": {"message_id": message.message_id},
        }
        if self.origination_identity:
            params["OriginationIdentity"] = self.origination_identity
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self._client.send_text_message(**params)
        except ClientError as exc:
            response: Mapping[str, Any] = exc.response
            error = response.get("Error") or {}
            reason = str(response.get("Reason") or "")
            raise self.failure(
                str(error.get("Code") or ""),
                status=response.get("ResponseMetadata", {}).get("HTTPStatusCode") or None,
                detail=reason,
                to=message.to,
                qualifiers=(reason, "DestinationPhoneNumber" if _names_destination(response) else ""),
            ) from exc
        except ParamValidationError as exc:
            names = "DestinationPhoneNumber" if "DestinationPhoneNumber" in str(exc) else ""
            raise self.failure("ParamValidationError", detail="refused before sending", qualifiers=(names,)) from exc
        except (ReadTimeoutError, ConnectTimeoutError, ConnectionClosedError) as exc:
            raise self.no_answer("SendTextMessage", message.to) from exc
        except BotoCoreError as exc:  # EndpointConnectionError and kin: nothing was sent
            raise self.unreachable("SendTextMessage", type(exc).__name__, message.to) from exc
        message_id = answer.get("MessageId")
        if not isinstance(message_id, str) or not message_id:
            raise self.unreadable("SendTextMessage", message.to)
        # The API does not report parts at send time (events carry totalMessageParts): count them.
        return SendResult(message_id, parts_to(message.to, message.text))

    # --- webhook side ----------------------------------------------------------------------

    def verify(self, request: WebhookRequest, now: datetime) -> dict[str, Any]:
        """The SNS envelope, its signature checked (subscription handshakes too) and, for a
        subscription confirmation, the SubscribeURL pinned to SNS: the route visits it."""
        envelope = _json_object(request.body, "not an SNS JSON message")
        kind = envelope.get("Type")
        if not isinstance(kind, str) or kind not in SIGNED_FIELDS:
            raise WebhookRejected(400, "malformed", "unknown or missing SNS message Type")
        header_kind = request.headers.get("x-amz-sns-message-type")
        if header_kind is not None and header_kind != kind:
            raise WebhookRejected(400, "malformed", "x-amz-sns-message-type disagrees with Type")
        self._verify(envelope, kind, now)
        if kind == "SubscriptionConfirmation" and not self._is_sns_url(envelope["SubscribeURL"]):
            raise WebhookRejected(400, "malformed", "SubscribeURL is not an SNS URL")
        return envelope

    def parse(self, request: WebhookRequest, verified: dict[str, Any], now: datetime) -> WebhookResult:
        envelope, kind = verified, verified["Type"]
        ok = WebhookAnswer(200, "", "text/plain")
        if kind == "SubscriptionConfirmation":
            log.info("aws_sms: confirming the SNS subscription to %s", envelope["TopicArn"])
            return WebhookResult(ok, follow_up=(envelope["SubscribeURL"],))
        if kind == "UnsubscribeConfirmation":
            log.warning("aws_sms: SNS unsubscribed this endpoint from %s", envelope["TopicArn"])
            return WebhookResult(ok)
        return WebhookResult(ok, self._events(envelope, now))

    def _verify(self, envelope: Mapping[str, Any], kind: str, now: datetime) -> None:
        signed = SIGNED_FIELDS[kind]
        for name in (*signed, "Signature", "SignatureVersion", "SigningCertURL"):
            value = envelope.get(name)
            if name == "Subject" and value is None:
                continue
            if not isinstance(value, str):
                raise WebhookRejected(400 if name in signed else 403, "malformed", f"{name} missing")
        if self.topic_arns and envelope["TopicArn"] not in self.topic_arns:
            raise WebhookRejected(403, "wrong_topic", "message from a topic we did not subscribe to")
        algorithm = SIGNATURE_HASHES.get(envelope["SignatureVersion"])
        if algorithm is None:
            raise WebhookRejected(403, "bad_signature", "unsupported SignatureVersion")
        try:
            signature = base64.b64decode(envelope["Signature"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookRejected(403, "bad_signature", "Signature is not Base64") from exc
        certificate = self._certificate(envelope["SigningCertURL"])
        valid_from, valid_until = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        if not valid_from <= now.astimezone(UTC) <= valid_until:
            raise WebhookRejected(403, "bad_signature", "signing certificate not valid now")
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookRejected(403, "bad_signature", "signing certificate is not RSA")
        text = "".join(f"{name}\n{envelope[name]}\n" for name in signed if envelope.get(name) is not None)
        try:
            key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), algorithm())
        except (InvalidSignature, ValueError) as exc:
            raise WebhookRejected(403, "bad_signature", "SNS signature does not match") from exc

    def _is_sns_url(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        return (
            parts.scheme == "https"
            and port in (None, 443)
            and parts.username is None
            and parts.hostname is not None
            and self._cert_host.fullmatch(parts.hostname) is not None
        )

    def _certificate(self, url: str) -> x509.Certificate:
        if not self._is_sns_url(url) or not urlsplit(url).path.endswith(".pem"):
            raise WebhookRejected(403, "bad_certificate_url", "SigningCertURL is not an SNS certificate URL")
        with self._certs_lock:
            cached = self._certs.get(url)
        if cached is not None:
            return cached
        try:
            pem = self._fetch(url)
        except Exception as exc:  # our fetch failed, not their message: 5xx so SNS retries later
            log.warning("aws_sms: cannot fetch the SNS signing certificate: %s", type(exc).__name__)
            raise WebhookRejected(503, "certificate_unavailable", "cannot fetch the signing certificate") from exc
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise WebhookRejected(403, "bad_certificate", "SigningCertURL is not a PEM certificate") from exc
        with self._certs_lock:
            if len(self._certs) >= CERT_CACHE_SIZE:
                self._certs.pop(next(iter(self._certs)))
            self._certs[url] = certificate
        return certificate

    def _events(self, envelope: Mapping[str, Any], now: datetime) -> tuple[InboundEvent, ...]:
        text = envelope["Message"]
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.warning("aws_sms: ignoring a non-JSON SNS notification %s", envelope["MessageId"])
            return ()
        if isinstance(body.get("inboundMessageId"), str):
            return _reply(body, text, now)
        if isinstance(body.get("eventType"), str):
            return _receipt(body, text, now)
        log.warning("aws_sms: ignoring an SNS notification of unknown shape %s", envelope["MessageId"])
        return ()


def _names_destination(response: Mapping[str, Any]) -> bool:
    """A ValidationException about the number itself (not our configuration): the failing field
    is DestinationPhoneNumber. Country blocks, sender-id and registration problems are ours to fix
    and stay ``rejected``, so the member's channel is not marked unusable for them."""
    fields = response.get("Fields")
    if isinstance(fields, list):
        for field in fields:
            if isinstance(field, Mapping) and "destinationphonenumber" in str(field.get("Name", "")).lower():
                return True
    message = str(response.get("Message") or response.get("Error", {}).get("Message") or "").lower()
    return response.get("Reason") in ("CANNOT_PARSE", "FIELD_VALIDATION_FAILED") and "destination" in message


def _json_object(data: bytes | str, problem: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WebhookRejected(400, "malformed", problem) from exc
    if not isinstance(value, dict):
        raise WebhookRejected(400, "malformed", problem)
    return value


def _event_time(millis: object, now: datetime) -> datetime:
    if isinstance(millis, int | float) and not isinstance(millis, bool):
        try:
            return datetime.fromtimestamp(millis / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return now


def _positive_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _receipt(body: Mapping[str, Any], raw: str, now: datetime) -> tuple[InboundEvent, ...]:
    event_type = body["eventType"]
    status = EVENT_STATUSES.get(event_type)
    provider_message_id = body.get("messageId")
    if status is None or not isinstance(provider_message_id, str) or not provider_message_id:
        return ()  # voice/MMS/RCS events or new types: not ours to interpret
    if event_type == "TEXT_SUCCESSFUL" and body.get("isFinal") is True:
        status = MessageStatus.DELIVERED
    context = body.get("context")
    message_id = context.get("message_id") if isinstance(context, dict) else None
    event = InboundEvent(
        provider=AwsSmsAdapter.name,
        kind=InboundKind.RECEIPT,
        event_id=f"{provider_message_id}:{event_type}",
        at=_event_time(body.get("eventTimestamp"), now),
        channel=Channel.SMS,
        message_id=message_id if isinstance(message_id, str) and message_id else None,
        provider_message_id=provider_message_id,
        status=status,
        reason=None if status in (MessageStatus.DELIVERED, MessageStatus.SENT) else event_type,
        parts=_positive_int(body.get("totalMessageParts")),
        raw=raw,
    )
    return (event,)


def _reply(body: Mapping[str, Any], raw: str, now: datetime) -> tuple[InboundEvent, ...]:
    sender, text = body.get("originationNumber"), body.get("messageBody")
    if not body["inboundMessageId"] or not isinstance(sender, str) or not sender or not isinstance(text, str):
        log.warning("aws_sms: ignoring an inbound SMS without sender or body")
        return ()
    event = InboundEvent(
        provider=AwsSmsAdapter.name,
        kind=InboundKind.REPLY,
        event_id=body["inboundMessageId"],
        at=now,  # two-way payloads carry no timestamp
        channel=Channel.SMS,
        provider_message_id=body["inboundMessageId"],
        sender=sender,
        text=text,
        raw=raw,
    )
    return (event,)
