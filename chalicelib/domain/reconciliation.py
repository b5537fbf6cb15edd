"""What to do with a message sent with no receipt yet (``services/reconciler.py`` asks). Pure.

A provider's receipts are retried for a while and then stop (Alibaba at 1, 5 and 10 minutes), so a
message can stay ``sent`` for ever. Per provider, a :class:`Window` says when to start asking the
provider (``query_after`` since the send, and again that long after each question that learnt
nothing) and when to give up (``give_up_after`` since the send): then the message is ``unknown``
(sent, no receipt ever came, the provider cannot tell). A provider without a status query is only
looked at when its window closes. A provider that never sends receipts (WeCom kf) is not waited for.

``decide`` is asked once per awaiting message and run, with the provider's answer when it was
asked (:func:`should_ask`): keep waiting / apply what the provider reported / mark it unknown /
stop waiting (it is no longer ``sent``: a receipt got there first; or no receipt ever comes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Message, MessageStatus

# What a provider's status query may report; anything else is "knows no more".
ANSWERS = frozenset({MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED, MessageStatus.UNDELIVERED})


@dataclass(frozen=True)
class Window:
    query_after: timedelta  # first question this long after the send, then this long after each
    give_up_after: timedelta  # since the send: then ``unknown``


QUERYING = Window(timedelta(minutes=20), timedelta(hours=24))  # a provider with a status query
SILENT = Window(timedelta(hours=2), timedelta(hours=2))  # one without: it can only be waited for


@dataclass(frozen=True)
class Capabilities:
    gives_receipts: bool  # the provider reports what became of a message at all
    can_query: bool  # ... and can be asked (``Provider.query_status``)


@dataclass(frozen=True)
class KeepWaiting:
    """Look again one ``query_after`` from now."""


@dataclass(frozen=True)
class Apply:
    status: MessageStatus  # the provider's answer, recorded as a receipt


@dataclass(frozen=True)
class MarkUnknown:
    reason: str


@dataclass(frozen=True)
class StopWaiting:
    reason: str


Decision = KeepWaiting | Apply | MarkUnknown | StopWaiting


def window_for(provider: str, can_query: bool, windows: Mapping[str, Window]) -> Window:
    return windows.get(provider) or (QUERYING if can_query else SILENT)


def should_ask(message: Message, caps: Capabilities, window: Window, now: datetime) -> bool:
    """Ask the provider now? Only one that can be asked, about a sent message whose first window passed."""
    return (
        caps.gives_receipts
        and caps.can_query
        and message.status is MessageStatus.SENT
        and message.sent_at is not None
        and now >= message.sent_at + window.query_after
    )


def decide(
    message: Message,
    caps: Capabilities,
    answer: MessageStatus | None,
    window: Window,
    now: datetime,
) -> Decision:
    """``answer``: what the provider's status query reported (None: not asked, or it knows no more)."""
    if message.status is not MessageStatus.SENT:
        return StopWaiting(f"already {message.status.value}")
    if not caps.gives_receipts:
        return StopWaiting("the provider sends no receipts")
    if answer in ANSWERS:
        return Apply(answer)
    sent_at = message.sent_at or message.created_at
    if now >= sent_at + window.give_up_after:
        return MarkUnknown(_unknown_reason(window.give_up_after, caps.can_query))
    return KeepWaiting()


def _unknown_reason(after: timedelta, can_query: bool) -> str:
    hours = after.total_seconds() / 3600
    span = f"{hours:g} h" if hours >= 1 else f"{after.total_seconds() / 60:g} min"
    tail = "the provider's status query knows no more" if can_query else "the provider cannot be asked"
    return f"no receipt within {span}; {tail}"


def parse_windows(spec: str) -> dict[str, Window]:
    """``"aliyun=30m/12h, agora=3h"`` → per provider: first question after 30 min, unknown after 12 h;
    one figure (a provider without a query): unknown after 3 h. Units ``m``, ``h``. A clear error
    names a bad entry."""
    windows: dict[str, Window] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        spans = value.split("/")
        try:
            if not sep or not name.strip() or len(spans) > 2:
                raise ValueError
            times = [_span(s) for s in spans]
        except ValueError:
            raise ValueError(
                f"RECEIPT_WINDOWS: {part!r} is not provider=<query after>/<give up after> "
                "(e.g. aliyun=20m/24h) or provider=<give up after> (e.g. agora=2h)"
            ) from None
        first, last = (times[0], times[-1]) if len(times) == 2 else (times[0], times[0])
        if first > last:
            raise ValueError(f"RECEIPT_WINDOWS: {part!r} asks after it gives up")
        windows[name.strip()] = Window(first, last)
    return windows


def _span(text: str) -> timedelta:
    text = text.strip()
    number, unit = text[:-1], text[-1:]
    if not number.isdigit() or int(number) < 1 or unit not in ("m", "h"):
        raise ValueError(text)
    return timedelta(minutes=int(number)) if unit == "m" else timedelta(hours=int(number))
