"""A member's consent on one channel, set by what the member or a provider said (a reply "T", a
provider's own opt-out list, START): one write, retried on a concurrent change; consent given
again clears the channel's unreachable mark (``domain/reachability.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ..domain.consent import consent_change
from ..domain.model import Channel, Member
from ..domain.reachability import still_unreachable
from ..ports import MemberStore, VersionConflict

Log = Callable[..., None]
RETRIES = 5


class ConsentService:
    def __init__(self, members: MemberStore, log: Log | None = None) -> None:
        self.members = members
        self.log = log or (lambda *a, **k: None)

    def set_consent(self, member_id: str, channel: Channel, on: bool, now: datetime, source: str) -> Member | None:
        """Set one channel's consent (no write when it already is so); None for an unknown member.
        ``source``: who said so (``domain/consent.py``: a reply, the provider, the store).
        Raises VersionConflict when every retry met a concurrent change (the caller's record is retried)."""
        for _ in range(RETRIES):
            member = self.members.get(member_id)
            if member is None:
                return None
            if member.consent.allows(channel) == on:
                return member
            before = replace(member)
            member.consent = replace(member.consent, **{channel.value: on})
            member.unreachable = still_unreachable(before, member)
            member.updated_at = now
            try:  # the change is recorded in the member's history with where it came from
                self.members.save(member, consent_change(member_id, before.consent, member.consent, now, source))
            except VersionConflict:
                continue
            self.log("consent changed", member_id=member_id, channel=channel.value, consent=on, source=source)
            return member
        raise VersionConflict(member_id)
