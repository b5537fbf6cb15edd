"""What a message's change adds to the counters (services/tallies.py applies it from the
messages table's stream). Pure.

Each change of a message item is compared with its previous image and yields **feeds**: a named
event that happens at most once per message (``planned``, ``status:<s>``, ``sent``, ``delivered``,
``read``, ``clicked``, ``converted``, ``order:<order id>``; a gauge's move, once per change of
status: ``status:<s>#<n>``, the n-th in the message's history) with the deltas it adds. The store
applies a feed to every counter the message belongs to, together with a marker
``(message, event)``, in one transaction conditional on the marker being new: a replayed stream
record never counts twice. ``queued`` and ``deferred`` are gauges (what waits now: +1 on entering,
−1 on leaving), and so is ``unknown`` (sent, no receipt came in the provider's window: a late
receipt still moves the message on, out of it; it counts as ``sent`` all along); everything else
counts what was reached (``deferrals``: messages ever deferred; ``suppressed_<code>``:
suppressions by reason, domain/funnel.py). docs/analytics.md: the counters and the funnels per
rule or campaign, variant, channel and day.
"""

from __future__ import annotations

from dataclasses import dataclass

from .funnel import SUPPRESSED_FIELDS, funnel_key, suppressed_field, suppression_code
from .model import Message, MessageStatus

GAUGES = {MessageStatus.QUEUED: "queued", MessageStatus.DEFERRED: "deferred", MessageStatus.UNKNOWN: "unknown"}
REACHED = {
    MessageStatus.SUPPRESSED: "suppressed",
    MessageStatus.CAPPED: "capped",
    MessageStatus.FAILED: "failed",
    MessageStatus.UNDELIVERED: "undelivered",
}
FIELDS = (
    "members",
    "queued",
    "deferred",
    "sent",
    "delivered",
    "read",
    "clicked",
    "converted",
    "revenue",
    "suppressed",
    "capped",
    "failed",
    "undelivered",
    "unknown",
    "deferrals",
    *SUPPRESSED_FIELDS,
)


@dataclass(frozen=True)
class Feed:
    event: str
    deltas: dict[str, float]


def counter_keys(message: Message, store_zone: str) -> list[str]:
    """The counters a message feeds: its campaign arm (campaign results and progress), else its
    rule; and its funnel (domain/funnel.py: source, variant, channel, the day it was planned)."""
    funnel = funnel_key(message, store_zone).encode()
    if message.campaign_id is not None:
        return [f"campaign#{message.campaign_id}#{message.variant or 'none'}", funnel]
    return [f"rule#{message.trigger}", funnel]


def _reached(m: Message | None) -> set[str]:
    if m is None:
        return set()
    out = set()
    if m.read_at is not None:
        out.add("read")
    if m.delivered_at is not None or m.read_at is not None:
        out.add("delivered")
    if m.sent_at is not None or m.delivered_at is not None or m.read_at is not None:
        out.add("sent")
    if m.clicked_at is not None:
        out.add("clicked")
    if m.converted_at is not None:
        out.add("converted")
    return out


def feeds(old: Message | None, new: Message) -> list[Feed]:
    out: list[Feed] = []
    if old is None:
        # An SMS sent instead of an IM reaches the member the IM targeted: not a second member.
        out.append(Feed("planned", {"members": 0 if new.fallback_of else 1}))
    if old is None or old.status is not new.status:
        # What waits now moves with every change of status: a message deferred, released and
        # deferred again enters and leaves the gauges each time. The change is told apart from the
        # message's earlier ones (and a replay of it is not) by its place in the status history.
        moved: dict[str, float] = {}
        if old is not None and old.status in GAUGES:
            moved[GAUGES[old.status]] = -1
        if new.status in GAUGES:
            moved[GAUGES[new.status]] = moved.get(GAUGES[new.status], 0) + 1
        if moved:
            out.append(Feed(f"status:{new.status.value}#{len(new.history)}", moved))
        # What was reached counts once per message, however often it gets there.
        reached: dict[str, float] = {}
        if new.status in REACHED:
            reached[REACHED[new.status]] = 1
        if new.status is MessageStatus.SUPPRESSED:
            reached[suppressed_field(suppression_code(new.reason))] = 1
        if new.status is MessageStatus.DEFERRED:
            reached["deferrals"] = 1  # messages ever deferred
        if reached:
            out.append(Feed(f"status:{new.status.value}", reached))
    for name in ("sent", "delivered", "read", "clicked", "converted"):
        if name in _reached(new) - _reached(old):
            out.append(Feed(name, {name: 1}))
    before = old.revenue if old is not None else 0.0
    if new.last_order is not None and new.revenue > before and (old is None or old.last_order != new.last_order):
        out.append(Feed(f"order:{new.last_order}", {"revenue": round(new.revenue - before, 2)}))
    return out
