"""The counters behind campaign progress and results and the funnels, fed from
the messages table's stream: each change of a message → its feeds (domain/tallies.py) → every
counter it belongs to, once per (message, event)."""

from __future__ import annotations

from ..domain.model import Message
from ..domain.tallies import counter_keys, feeds
from ..ports import Tallies


class TallyService:
    def __init__(self, tallies: Tallies, store_zone: str) -> None:
        self.tallies = tallies
        self.store_zone = store_zone

    def message_changed(self, old: Message | None, new: Message) -> int:
        """One change, as a stream batch of one; returns how many feeds were new (0 for a replay)."""
        outcome = self.messages_changed([(old, new)])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def messages_changed(self, changes: list[tuple[Message | None, Message]]) -> list[int | Exception]:
        """A stream batch's changes, fed together; per change, how many feeds were new (0 for a
        replay) or what kept it from being counted."""
        return self.tallies.feed_many(
            [
                (new.message_id, [(f.event, f.deltas) for f in feeds(old, new)], counter_keys(new, self.store_zone))
                for old, new in changes
            ]
        )
