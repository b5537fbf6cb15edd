"""Channels a provider refused for good (``Member.unreachable``: a bad number, an unknown IM user):
the mark holds until the member's address or consent on that channel changes. Pure."""

from __future__ import annotations

from .model import Channel, Member


def still_unreachable(before: Member, after: Member) -> dict[str, str]:
    """The marks of ``before`` that still hold for ``after``: a channel whose address or consent
    changed may be tried again."""
    kept: dict[str, str] = {}
    for name, why in after.unreachable.items():
        try:
            channel = Channel(name)
        except ValueError:
            continue
        same_address = before.address(channel) == after.address(channel)
        same_consent = before.consent.allows(channel) == after.consent.allows(channel)
        if same_address and same_consent:
            kept[name] = why
    return kept
