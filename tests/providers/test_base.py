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
from chalicelib.adapters.providers.error_codes import ErrorCodes, Meaning
from chalicelib.domain.inbound import CUT_MARKER, TEXT_MAX_BYTES, InboundEvent, InboundKind
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


def test_events_with_ids_longer_than_any_provider_sends_are_refused_and_long_texts_are_cut() -> None:
    class Big(Recording):
        max_webhook_bytes: ClassVar[int] = 2 * MAX_TEXT_CHARS

    with pytest.raises(WebhookRejected) as caught:
        Big().handle_webhook(request(**{"from": "1" * (MAX_ID_CHARS + 1)}), NOW)
    assert (caught.value.status, caught.value.code) == (400, "too_long")
    assert "sender" in str(caught.value)
    [event] = Big().handle_webhook(request(b"x" * (MAX_TEXT_CHARS + 1)), NOW).events
    assert event.text is not None and event.text.endswith(CUT_MARKER)
    assert len(event.text.encode()) <= TEXT_MAX_BYTES


# --- error codes -----------------------------------------------------------------------------

CODES = ErrorCodes.of(
    {
        "Busy": "unavailable",
        "Conflict/OPTED_OUT": "opted_out",
        "Limit.Daily": Meaning("throttled", "daily limit", retry_after=3600.0),
        "HTTP404": Meaning("invalid_address", "no such user"),
    },
    prefixes={"Limit": "throttled", "Limit.Hard": "rejected"},
)


class Coded(Recording):
    error_codes = CODES


@pytest.mark.parametrize(
    ("code", "status", "qualifiers", "ours", "retryable"),
    [
        ("Busy", 200, (), "unavailable", True),
        ("Conflict", 400, ("OPTED_OUT",), "opted_out", False),
        ("Conflict", 400, ("OTHER",), "rejected", False),
        ("Limit.Minute", 200, (), "throttled", True),
        ("Limit.Hard.Cap", 200, (), "rejected", False),  # the longest prefix wins
        (None, 404, (), "invalid_address", False),
        ("whatever", 404, (), "invalid_address", False),  # the table's HTTP entry before the default
        ("whatever", 429, (), "throttled", True),
        ("whatever", 503, (), "unavailable", True),
        ("whatever", 400, (), "rejected", False),
    ],
)
def test_one_method_maps_a_provider_code_and_status_through_the_table(
    code: str | None, status: int, qualifiers: tuple[str, ...], ours: str, retryable: bool
) -> None:
    error = Coded().failure(code, status=status, qualifiers=qualifiers, to="+8613800138000")
    assert (error.code, error.retryable) == (ours, retryable)
    assert "13800138000" not in str(error)


def test_retry_after_from_the_answer_wins_and_only_throttling_keeps_one() -> None:
    assert Coded().failure("Limit.Daily").retry_after == 3600.0
    assert Coded().failure("Limit.Daily", retry_after=5.0).retry_after == 5.0
    assert "daily limit" in str(Coded().failure("Limit.Daily"))
    assert Coded().failure("Busy", retry_after=5.0).retry_after is None


def test_a_table_naming_a_code_we_do_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown failure code"):
        CODES.with_overrides({"X": "gone"})
    assert CODES.with_overrides({"Busy": "opted_out"}).meaning("Busy").code == "opted_out"
