"""The one base class every provider adapter implements: a send side and a webhook side.

Send side: ``send`` hands one rendered message to the provider and returns its id and the parts
billed, or raises :class:`~chalicelib.ports.ProviderError` with a ``code`` (see there). Our message
id travels in the provider's own correlation/dedupe field where one exists (Alibaba ``OutId``,
Tencent ``SessionContext``, WeCom ``msgid``, AWS ``Context``) so receipts find their message.
``lookup`` answers "did you already accept this message?" after a sender died mid-send, where the
provider can tell (else ``None`` = unknown); ``dedupes`` says a repeated send with the same id is
dropped by the provider itself, so resending after a crash is safe.

Webhook side: ``handle_webhook`` VERIFIES first (signature, token, timestamp window …) and only then
parses, returning the answer the provider expects plus normalised :class:`InboundEvent`s. It raises
:class:`WebhookRejected` for forgeries (401/403) and malformed input (400); never anything else for
bad input. It does no I/O beyond what verification itself needs (e.g. fetching the SNS signing
certificate); what the events mean is decided by the inbound service.

Credentials and endpoints come in through the constructor (the composition root reads them from
Secrets Manager/SSM; tests point ``endpoint`` at a local stub server speaking the provider's wire format).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from ...domain.inbound import InboundEvent
from ...domain.model import Channel
from ...ports import OutboundMessage, SendResult


@dataclass(frozen=True)
class WebhookRequest:
    method: str  # GET / POST
    url: str  # the full public URL the provider called, query string included (Twilio signs it)
    headers: Mapping[str, str]  # names lower-cased
    query: Mapping[str, str]
    body: bytes
    source_ip: str | None = None


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: str
    content_type: str = "application/json"


@dataclass(frozen=True)
class WebhookResult:
    answer: WebhookAnswer
    events: tuple[InboundEvent, ...] = ()
    # Work the webhook route must do before answering (e.g. confirm an SNS subscription by
    # fetching its SubscribeURL); the adapter says what, the route does it.
    follow_up: tuple[str, ...] = field(default_factory=tuple)


class WebhookRejected(Exception):
    """A webhook call we refuse: 400 malformed, 401/403 forged or unsigned, 413 too large; 503 when
    we could not check it through no fault of the caller (the provider then retries)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Cursors(Protocol):
    """Where a pulling adapter keeps its place (WeCom's ``next_cursor``)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class ProviderAdapter(ABC):
    name: ClassVar[str]
    channels: ClassVar[frozenset[Channel]]
    dedupes: ClassVar[bool] = False  # the provider drops a repeated send carrying the same id

    @abstractmethod
    def send(self, message: OutboundMessage, now: datetime) -> SendResult: ...

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        """The provider's record of ``message`` if it accepted it; None when it did not or cannot
        tell (see :attr:`can_lookup`)."""
        return None

    can_lookup: ClassVar[bool] = False
    # Why this adapter cannot send (its send credentials are not configured): the webhook side
    # still works, e.g. on the local stack, which has only the webhook secrets.
    send_unavailable: str | None = None

    def require_send_config(self) -> None:
        from ...ports import ProviderError

        if self.send_unavailable:
            raise ProviderError(self.send_unavailable, retryable=False, code="rejected")

    @abstractmethod
    def handle_webhook(self, request: WebhookRequest, now: datetime) -> WebhookResult: ...

    def fetch(self, event: InboundEvent, cursors: Cursors, now: datetime) -> list[InboundEvent]:
        """For a ``FETCH`` event (the provider only notified us): pull the real events. Runs in the
        inbound worker, not in the webhook route."""
        return []
