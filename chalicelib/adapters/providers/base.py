"""The one base class every provider adapter implements: a send side and a webhook side.

Send side: ``send`` hands one rendered message to the provider and returns its id and the parts
billed, or raises :class:`~chalicelib.ports.ProviderError` with a ``code`` (see there). Our message
id travels in the provider's own correlation/dedupe field where one exists (Alibaba ``OutId``,
Tencent ``SessionContext``, WeCom ``msgid``, AWS ``Context``) so receipts find their message.
A refusal is named in our words by :meth:`ProviderAdapter.failure`, through the adapter's
:class:`~.error_codes.ErrorCodes` table (data, one per provider); transport trouble by
:meth:`~ProviderAdapter.no_answer`, :meth:`~ProviderAdapter.unreadable` and
:meth:`~ProviderAdapter.unreachable`.

``lookup`` answers "did you already accept this message?" after a sender died mid-send, where the
provider can tell (else ``None`` = unknown); ``query_status`` answers "what became of it?" for a
message whose receipt never came (the reconciler asks; ``can_query_status`` says whether the
provider has such a query); ``dedupes`` says a repeated send with the same id is dropped by the
provider itself, so resending after a crash is safe.

Webhook side: ``handle_webhook`` is the base class's own template method, as django-anymail's
``AnymailCoreWebhookView.post`` runs every ``validate_request`` before ``parse_events``: it refuses
a method the provider does not use (400) and a body larger than the provider ever sends (413), calls
the adapter's ``verify`` (signature, source address, timestamp window …) and only then its
``parse``, which returns the answer the provider expects plus normalised :class:`InboundEvent`s.
Adapters implement ``verify`` and ``parse`` and cannot override ``handle_webhook`` (``final`` for the
type checker, refused at class creation at run time), so none can parse what it has not verified.
Handshakes go the same way: a GET probe, WeCom's ``echostr`` URL check and an SNS subscription
confirmation are verified by ``verify`` wherever the provider signs them, then answered by ``parse``.
``verify`` returns what it had to read to check the request (the decoded form, the SNS envelope, the
decrypted WeCom message; None where nothing is signed) and ``parse`` gets it, so nothing is read
twice. Both raise :class:`WebhookRejected` for forgeries (401/403) and malformed input (400), never
anything else for bad input; the base class also refuses events whose ids or text are longer than
any provider sends (400). No I/O beyond what verification itself needs (e.g. fetching the SNS
signing certificate); what the events mean is decided by the inbound service.

Credentials and endpoints come in through the constructor (the composition root reads them from
Secrets Manager/SSM; tests point ``endpoint`` at a local stub server speaking the provider's wire format).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, final

from ...domain.inbound import InboundEvent
from ...domain.model import Channel
from ...domain.phones import mask
from ...domain.ratelimit import DEFAULT_ARRIVAL_SPREAD_MS
from ...ports import OutboundMessage, ProviderError, Receipt, SendResult
from .error_codes import ErrorCodes

log = logging.getLogger(__name__)


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


Verified = TypeVar("Verified")

# No provider sends ids or texts anywhere near these; longer ones are refused, not truncated.
MAX_ID_CHARS = 512
MAX_TEXT_CHARS = 16_384


class ProviderAdapter(ABC, Generic[Verified]):
    name: ClassVar[str]
    channels: ClassVar[frozenset[Channel]]
    dedupes: ClassVar[bool] = False  # the provider drops a repeated send carrying the same id
    webhook_methods: ClassVar[frozenset[str]] = frozenset({"POST"})
    max_webhook_bytes: ClassVar[int] = 256 * 1024
    # How much longer one send may take than another to reach the provider from its turn (the
    # transit's spread, ms, and the "call started" mark for senders that must make one): part of
    # the provider's rate schedule's margin (``domain/ratelimit.py``). An HTTPS call across the
    # internet, unless the adapter knows better.
    arrival_spread_ms: ClassVar[int] = DEFAULT_ARRIVAL_SPREAD_MS
    # The provider's error codes in our words (an adapter may extend its table per instance).
    error_codes: ErrorCodes = ErrorCodes({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "handle_webhook" in vars(cls):
            raise TypeError(f"{cls.__name__}: implement verify() and parse(); handle_webhook belongs to the base class")

    @abstractmethod
    def send(self, message: OutboundMessage, now: datetime) -> SendResult: ...

    def lookup(self, message: OutboundMessage, now: datetime) -> SendResult | None:
        """The provider's record of ``message`` if it accepted it; None when it did not or cannot
        tell (see :attr:`can_lookup`)."""
        return None

    can_lookup: ClassVar[bool] = False

    def query_status(
        self, message_id: str, provider_message_id: str, to: str, sent_at: datetime, now: datetime
    ) -> Receipt | None:
        """The provider's word on a message it accepted (``provider_message_id``, sent to ``to`` at
        ``sent_at``), for reconciling one whose receipt never came; None while it knows no more
        or cannot tell (see :attr:`can_query_status`)."""
        return None

    can_query_status: ClassVar[bool] = False
    # The provider reports what became of a message at all (receipts by webhook or in its answer,
    # or a status query); one that never does is not waited for (services/reconciler.py).
    gives_receipts: ClassVar[bool] = True
    # Why this adapter cannot send (its send credentials are not configured): the webhook side
    # still works, e.g. on the local stack, which has only the webhook secrets.
    send_unavailable: str | None = None

    def configured_for_sending(self, *settings: tuple[str, object]) -> bool:
        """True when every (what, value) send setting has a value; else :attr:`send_unavailable`
        says which are missing (the webhook side still works)."""
        missing = [what for what, value in settings if not value]
        if missing:
            self.send_unavailable = f"{self.name}: not configured for sending (no {', '.join(missing)})"
        return not missing

    def require_send_config(self) -> None:
        if self.send_unavailable:
            raise ProviderError(self.send_unavailable, retryable=False, code="rejected")

    # --- failures in our words ----------------------------------------------------------------

    def failure(
        self,
        code: str | int | None,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
        to: str | None = None,
        qualifiers: Iterable[str] = (),
    ) -> ProviderError:
        """The provider refused (``code`` as it names it, ``HTTP<status>`` when it names none):
        the :class:`ProviderError` that :attr:`error_codes` says it is. ``retry_after`` (seconds,
        from the answer) wins over the table's; it is kept for throttling only. ``detail`` must
        name no phone number or secret."""
        name = str(code) if code not in (None, "") else f"HTTP{status}" if status else "unknown"
        meaning = self.error_codes.meaning(name, status, qualifiers)
        wait = (
            (retry_after if retry_after is not None else meaning.retry_after) if meaning.code == "throttled" else None
        )
        log.info("%s refused a request for %s: %s (HTTP %s) → %s", self.name, _who(to), name, status, meaning.code)
        words = (
            f"{self.name}: {name}" + (f" ({meaning.why})" if meaning.why else "") + (f": {detail}" if detail else "")
        )
        return ProviderError(words[:500], meaning.retryable, code=meaning.code, retry_after=wait)

    def no_answer(self, action: str, to: str | None = None) -> ProviderError:
        """No answer in time: the provider may or may not have accepted."""
        log.warning("%s %s: no answer in time for %s", self.name, action, _who(to))
        return ProviderError(f"{self.name}: {action}: no answer in time", True, code="timeout")

    def unreadable(self, action: str, to: str | None = None) -> ProviderError:
        """An answer we cannot read (a gateway's HTML page, an OK without an id): accepted or not,
        we cannot tell, so it is treated like a timeout (look up before resending)."""
        log.warning("%s %s: unreadable answer for %s", self.name, action, _who(to))
        return ProviderError(f"{self.name}: {action}: unreadable answer", True, code="timeout")

    def unreachable(self, action: str, why: str, to: str | None = None) -> ProviderError:
        """No connection (refused, DNS, TLS): nothing was sent."""
        log.warning("%s %s: cannot reach the API for %s: %s", self.name, action, _who(to), why)
        return ProviderError(f"{self.name}: {action}: cannot reach the API ({why})", True, code="unavailable")

    @final
    def handle_webhook(self, request: WebhookRequest, now: datetime) -> WebhookResult:
        """Verify, then parse: the order is decided here, never by an adapter."""
        if request.method.upper() not in self.webhook_methods:
            allowed = " or ".join(sorted(self.webhook_methods))
            raise WebhookRejected(400, "method", f"{self.name} webhooks are {allowed} requests")
        if len(request.body) > self.max_webhook_bytes:
            raise WebhookRejected(413, "too_large", f"body larger than any {self.name} webhook")
        verified = self.verify(request, now)
        result = self.parse(request, verified, now)
        for event in result.events:
            _check_sizes(event)
        return result

    @abstractmethod
    def verify(self, request: WebhookRequest, now: datetime) -> Verified:
        """Is this the provider calling? Raise :class:`WebhookRejected` (401 unsigned, 403 forged or
        from elsewhere, 400 when the request is too malformed to check); return what was read to
        check it, for :meth:`parse`."""

    @abstractmethod
    def parse(self, request: WebhookRequest, verified: Verified, now: datetime) -> WebhookResult:
        """The answer the provider expects and the normalised events of a verified request."""

    def fetch(self, event: InboundEvent, cursors: Cursors, now: datetime) -> list[InboundEvent]:
        """For a ``FETCH`` event (the provider only notified us): pull the real events. Runs in the
        inbound worker, not in the webhook route."""
        return []


def _check_sizes(event: InboundEvent) -> None:
    for name in ("event_id", "message_id", "provider_message_id", "sender", "reason"):
        value = getattr(event, name)
        if value is not None and len(value) > MAX_ID_CHARS:
            raise WebhookRejected(400, "too_long", f"{name} longer than {MAX_ID_CHARS} characters")
    # A long text is not refused (the provider would not send it again): the event itself keeps
    # only its first TEXT_MAX_BYTES, marked as cut (domain/inbound.py).


def _who(to: str | None) -> str:
    return mask(to) if to else "-"
