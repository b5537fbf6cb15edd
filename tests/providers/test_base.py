"""The adapter base class decides the order of webhook work: method and size, verify, then parse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import pytest

from chalicelib.adapters.providers.base import (
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    ProviderAdapter,
    WebhookAnswer,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
)
from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import Channel
from chalicelib.ports import OutboundMessage, SendResult

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Recording(ProviderAdapter[str]):
    """Verifies a shared header, parses one reply event whose text is the body."""

    name: ClassVar[str] = "recording"
    channels: ClassVar[frozenset[Channel]] = frozenset({Channel.SMS})
    max_webhook_bytes: ClassVar[int] = 64

    def __init__(self) -> None:
        self.calls: list[str] = []

    def send(self, message: OutboundMessage, now: datetime) -> SendResult:
        return SendResult("p-1", 1)

    def verify(self, request: WebhookRequest, now: datetime) -> str:
        self.calls.append("verify")
        if request.headers.get("x-secret") != "s3cr3t":
            raise WebhookRejected(403, "bad_signature", "wrong secret")
        return request.body.decode()

    def parse(self, request: WebhookRequest, verified: str, now: datetime) -> WebhookResult:
        self.calls.append("parse")
        sender = request.query.get("from", "+8613800138000")
        event = InboundEvent("recording", InboundKind.REPLY, "e-1", now, Channel.SMS, sender=sender, text=verified)
        return WebhookResult(WebhookAnswer(200, "ok"), (event,))


def request(body: bytes = b"hi", method: str = "POST", secret: str = "s3cr3t", **query: str) -> WebhookRequest:
    return WebhookRequest(method, "https://example.com/hook", {"x-secret": secret}, query, body)


def test_an_adapter_cannot_take_over_handle_webhook() -> None:
    with pytest.raises(TypeError, match="verify"):

        class Sneaky(Recording):
            def handle_webhook(self, request: WebhookRequest, now: datetime) -> WebhookResult:  # type: ignore[misc]
                return self.parse(request, request.body.decode(), now)


def test_verify_runs_before_parse_and_hands_over_what_it_read() -> None:
    adapter = Recording()
    (event,) = adapter.handle_webhook(request(b"hello"), NOW).events
    assert adapter.calls == ["verify", "parse"]
    assert event.text == "hello"


def test_a_forgery_is_refused_without_parsing() -> None:
    adapter = Recording()
    with pytest.raises(WebhookRejected) as caught:
        adapter.handle_webhook(request(secret="guess"), NOW)
    assert caught.value.status == 403
    assert adapter.calls == ["verify"]


@pytest.mark.parametrize(
    ("built", "status"), [(request(method="PUT"), 400), (request(body=b"x" * 65), 413)], ids=["method", "size"]
)
def test_wrong_method_and_oversize_bodies_are_refused_before_verifying(built: WebhookRequest, status: int) -> None:
    adapter = Recording()
    with pytest.raises(WebhookRejected) as caught:
        adapter.handle_webhook(built, NOW)
    assert caught.value.status == status
    assert adapter.calls == []


def test_events_with_ids_or_text_longer_than_any_provider_sends_are_refused() -> None:
    class Big(Recording):
        max_webhook_bytes: ClassVar[int] = 2 * MAX_TEXT_CHARS

    with pytest.raises(WebhookRejected) as caught:
        Big().handle_webhook(request(b"x" * (MAX_TEXT_CHARS + 1)), NOW)
    assert (caught.value.status, caught.value.code) == (400, "too_long")
    with pytest.raises(WebhookRejected) as caught:
        Big().handle_webhook(request(**{"from": "1" * (MAX_ID_CHARS + 1)}), NOW)
    assert "sender" in str(caught.value)
    assert Big().handle_webhook(request(b"x" * MAX_TEXT_CHARS), NOW).events[0].text == "x" * MAX_TEXT_CHARS
