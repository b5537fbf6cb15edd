"""Attribution (shared by rules and campaigns): which message an order converts. Pure.

An order converts the LAST message to that member that reached them within its window before the
order: delivered (or sent, where no receipt comes) at most ``window`` hours before the order was
placed — rules 72 h, campaigns their ``conversion_window_hours``. A campaign's control record
"reaches" the member at the moment the variants' messages were due (its ``send_after``): that is
what the variants' lift is measured against. Answers to what a member wrote (``reply_*``) never
convert. Once per order: the store marks the order (services/attribution.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from .model import Message, MessageStatus

RULE_WINDOW_HOURS = 72
MAX_WINDOW_HOURS = 24 * 90  # the longest window a campaign may have: how far back to look
_SENT = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ})


def reached_at(message: Message) -> datetime | None:
    """When the message reached the member (None: it did not, or not yet)."""
    if message.trigger.startswith("reply_"):
        return None
    if message.status is MessageStatus.CONTROL:
        return message.send_after or message.created_at
    if message.status not in _SENT:
        return None
    return message.delivered_at or message.read_at or message.sent_at


def converting(
    messages: Iterable[Message], order_at: datetime, window_hours: Callable[[Message], int | None]
) -> Message | None:
    """The message the order converts, or None."""
    best: tuple[datetime, str, Message] | None = None
    for message in messages:
        at = reached_at(message)
        hours = window_hours(message)
        if at is None or hours is None or not at <= order_at <= at + timedelta(hours=hours):
            continue
        if best is None or (at, message.message_id) > best[:2]:
            best = (at, message.message_id, message)
    return best[2] if best is not None else None
