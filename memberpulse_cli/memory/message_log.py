"""The message log in memory, with ``chalicelib/adapters/message_log.py``'s promises: the query's UTC
days newest first, in each day its messages in the time range newest first (ties by message id),
the filters applied to what was read; ``budget`` bounds the messages one page reads, and a page cut
by it names the last one read as where the next starts."""

from __future__ import annotations

from chalicelib.domain.isotime import to_iso
from chalicelib.domain.message_log import LogPage, LogPosition, LogQuery
from chalicelib.domain.model import Message

from .messages import MemoryMessageStore, copy_message

Key = tuple[str, str]  # (created_at as stored, message id): the ``by_day`` index's order


class MemoryMessageLog:
    """``MessageLog`` over a :class:`MemoryMessageStore` (a day's messages: those whose stored
    ``created_at`` is on that UTC day, as ``log_day`` is)."""

    def __init__(self, messages: MemoryMessageStore) -> None:
        self.store = messages

    def _read(self) -> None:
        """Called for each stored message a page reads (test doubles count them)."""

    def page(self, query: LogQuery, after: LogPosition | None, limit: int, budget: int) -> LogPage:
        days = query.days()
        if after is not None:
            days = days[days.index(after.day) :] if after.day in days else []
        taken: list[Message] = []
        reads = 0
        for n, day in enumerate(days):
            last = _resume_key(after) if n == 0 else None
            rows = self._day(day, to_iso(query.since), to_iso(query.until), last)
            for i, (key, message) in enumerate(rows):
                if reads >= budget:
                    return LogPage(taken, LogPosition(day, *last) if last else LogPosition(day))
                last = key
                reads += 1
                self._read()
                if not query.admits(message):
                    continue
                taken.append(copy_message(message))
                if len(taken) == limit:
                    more = i + 1 < len(rows) or n + 1 < len(days)
                    return LogPage(taken, LogPosition(day, *key) if more else None)
        return LogPage(taken, None)

    def _day(self, day: str, low: str, high: str, before: Key | None) -> list[tuple[Key, Message]]:
        """The day's messages created in [``low``, ``high``], newest first, those before ``before``."""
        found = (((to_iso(m.created_at), m.message_id), m) for m in self.store.messages.values())
        rows = sorted(((k, m) for k, m in found if k[0][:10] == day), key=lambda r: r[0], reverse=True)
        return [(k, m) for k, m in rows if low <= k[0] <= high and (before is None or k < before)]


def _resume_key(after: LogPosition | None) -> Key | None:
    if after is None or after.created_at is None or after.message_id is None:
        return None
    return after.created_at, after.message_id
