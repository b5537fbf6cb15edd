"""Consent changes, as the member's history records them (the timeline, the export). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .model import Consent

CHANNELS = ("sms", "im", "marketing")

# Where a change came from.
BY_STORE = "api"  # the store's system (PUT /v1/members/{id}, an import)
BY_REPLY = "reply"  # the member's own words (T, STOP, START, 订阅 …)
BY_PROVIDER = "provider"  # the provider reported the member's opt-out / opt-in


@dataclass(frozen=True)
class ConsentChange:
    member_id: str
    at: datetime
    changes: dict[str, bool]  # channel → consent now, only the channels that changed
    source: str


def consent_change(
    member_id: str, before: Consent | None, after: Consent, at: datetime, source: str
) -> ConsentChange | None:
    """The change from ``before`` (None: a new member, every channel counts) to ``after``; None when
    nothing changed."""
    changes = {
        channel: getattr(after, channel)
        for channel in CHANNELS
        if before is None or getattr(before, channel) != getattr(after, channel)
    }
    return ConsentChange(member_id, at, changes, source) if changes else None
