"""SNS as it signs what it delivers over HTTP(S): a self-signed signing certificate served by a
:class:`Fetcher` (standing in for ``https://sns.<region>.amazonaws.com/….pem``) and
:func:`envelope`, an SNS message (Notification, SubscriptionConfirmation, UnsubscribeConfirmation)
signed with SignatureVersion 1 (SHA1withRSA) or 2 (SHA256withRSA) over SNS's canonical string."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:us-east-1:123456789012:memberpulse-sms-events"
INBOUND_TOPIC = "arn:aws:sns:us-east-1:123456789012:memberpulse-sms-inbound"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"


def make_cert(key: rsa.RSAPrivateKey, days: int = 3650, start: datetime = datetime(2024, 1, 1, tzinfo=UTC)) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = make_cert(KEY)

SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


def envelope(
    kind: str = "Notification",
    body: Any = None,
    *,
    topic: str = TOPIC,
    version: str = "2",
    key: rsa.RSAPrivateKey = KEY,
    cert_url: str = CERT_URL,
    subject: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": topic,
        "Message": body if isinstance(body, str) else json.dumps(body),
        "Timestamp": "2025-03-01T11:59:58.000Z",
        "SignatureVersion": version,
        "SigningCertURL": cert_url,
    }
    if subject is not None:
        doc["Subject"] = subject
    if kind != "Notification":
        doc["Token"] = "2336412f37fb687f5d51e6e2425dacbba"
        doc["SubscribeURL"] = (
            f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token=2336412f"
        )
    doc.update(fields)
    text = "".join(f"{name}\n{doc[name]}\n" for name in SIGNED[kind] if name in doc)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    doc["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
    return doc


class Fetcher:
    def __init__(self, pem: bytes = PEM) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem
