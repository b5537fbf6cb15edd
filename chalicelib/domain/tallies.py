"""What a message's change adds to the counters (services/tallies.py applies it from the
messages table's stream). Pure.

Each change of a message item is compared with its previous image and yields **feeds**: a named
event that happens at most once per message (``planned``, ``status:<s>``, ``sent``, ``delivered``,
``read``, ``clicked``, ``converted``, ``order:<order id>``) with the deltas it adds. The store
applies a feed to every counter the message belongs to, together with a marker
``(message, event)``, in one transaction conditional on the marker being new: a replayed stream
record never counts twice. ``queued`` and ``deferred`` are gauges (what waits now: +1 on entering,
−1 on leaving); everything else counts what was reached. docs/analytics.md: how issue 12 extends
the counter keys to funnels per rule or campaign, variant, channel and day.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Message, MessageStatus

GAUGES = {MessageStatus.QUEUED: "queued", MessageStatus.DEFERRED: "deferred"}
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
)


@dataclass(frozen=True)
class Feed:
    event: str
    deltas: dict[str, float]


def counter_keys(message: Message) -> list[str]:
    """The counters a message feeds: its campaign arm (campaign results and progress), else its rule."""
    if message.campaign_id is not None:
        return [f"campaign#{message.campaign_id}#{message.variant or 'none'}"]
    return [f"rule#{message.trigger}"]


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
        out.append(Feed("planned", {"members": 1}))
    if old is None or old.status is not new.status:
        deltas: dict[str, float] = {}
        if old is not None and old.status in GAUGES:
            deltas[GAUGES[old.status]] = -1
        if new.status in GAUGES:
            deltas[GAUGES[new.status]] = deltas.get(GAUGES[new.status], 0) + 1
        if new.status in REACHED:
            deltas[REACHED[new.status]] = 1
        if deltas:
            out.append(Feed(f"status:{new.status.value}", deltas))
    for name in ("sent", "delivered", "read", "clicked", "converted"):
        if name in _reached(new) - _reached(old):
            out.append(Feed(name, {name: 1}))
    before = old.revenue if old is not None else 0.0
    if new.last_order is not None and new.revenue > before and (old is None or old.last_order != new.last_order):
        out.append(Feed(f"order:{new.last_order}", {"revenue": round(new.revenue - before, 2)}))
    return out
