"""The counters behind campaign progress and results (and, in issue 12, the funnels), fed from
the messages table's stream: each change of a message → its feeds (domain/tallies.py) → every
counter it belongs to, once per (message, event)."""

from __future__ import annotations

from ..domain.model import Message
from ..domain.tallies import counter_keys, feeds
from ..ports import Tallies


class TallyService:
    def __init__(self, tallies: Tallies) -> None:
        self.tallies = tallies

    def message_changed(self, old: Message | None, new: Message) -> int:
        """Apply what the change adds; returns how many feeds were new (0 for a replay)."""
        keys = counter_keys(new)
        return sum(self.tallies.feed(new.message_id, f.event, keys, f.deltas) for f in feeds(old, new))
