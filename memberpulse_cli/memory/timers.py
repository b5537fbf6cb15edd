"""Durable timers in memory, with ``chalicelib/adapters/timer_store.py``'s promises: one slot per
member and key; a pending timer is on the ``due`` index at its firing time (its due time, or a
minute after the write when that is later: ``domain.timers.fire_time``), read at second precision;
finishing a timer takes it off the index only if the slot still holds that occurrence and is
pending. Plus the timer queue (SQS) that carries released keys to be fired."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.timers import Timer, fire_time
from chalicelib.ports import StoredTimer

Slot = tuple[str, str]  # (member id, key)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plain_copy(value: Any) -> Any:
    """Facts as a store keeps them: dicts and lists copied all the way down, tuples as lists."""
    kind = type(value)
    if kind is dict:
        return {k: plain_copy(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    if kind is list or kind is tuple:
        return [plain_copy(v) if type(v) in _CONTAINERS else v for v in value]
    return value


_CONTAINERS = frozenset({dict, list, tuple})


def _seconds(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds() // 1)


def _copy(stored: StoredTimer) -> StoredTimer:
    """A copy sharing nothing mutable (the facts), made without the frozen classes' ``__init__``."""
    timer = object.__new__(Timer)
    timer.__dict__.update(stored.timer.__dict__)
    timer.__dict__["facts"] = plain_copy(stored.timer.facts)
    copied = object.__new__(StoredTimer)
    copied.__dict__.update(stored.__dict__)
    copied.__dict__["timer"] = timer
    return copied


def _as_stored(t: Timer) -> Timer:
    """As a store keeps it: facts copied, the due time at second precision."""
    return Timer(t.member_id, t.key, t.rule_id, t.occurrence, t.due_at.replace(microsecond=0), plain_copy(t.facts))


class MemoryTimerStore:
    """``TimerStore``. ``wall`` is the writer's clock, when it runs ahead of the ``now`` it is told
    (a stream record handled late): the firing time follows the write, so a sweep that already
    passed it still finds it. Without one, the ``now`` of each write is the clock."""

    def __init__(self, wall: Callable[[], datetime] | None = None) -> None:
        self.wall = wall
        self.rows: dict[Slot, StoredTimer] = {}
        self._of_member: dict[str, dict[str, StoredTimer]] = {}
        self.fire_at: dict[Slot, datetime] = {}  # the sparse ``due`` index: pending slots only
        self._index: list[tuple[int, str, str]] = []  # (fire_at in epoch seconds, member id, key), sorted
        self.mark: datetime | None = None
        # Every timer finished, as finished, and when: DynamoDB keeps a finished timer only until its
        # slot is written again (next year's birthday); memory keeps them all, for a preview to show.
        self.finished: list[tuple[StoredTimer, datetime]] = []

    # -- reads -------------------------------------------------------------------------------------
    def for_member(self, member_id: str) -> list[StoredTimer]:
        """In key order (the table's range key)."""
        rows = self._of_member.get(member_id, {})
        return [_copy(rows[key]) for key in sorted(rows)]

    def get(self, member_id: str, key: str) -> StoredTimer | None:
        stored = self.rows.get((member_id, key))
        return _copy(stored) if stored is not None else None

    # -- writes ------------------------------------------------------------------------------------
    def put(self, timers: list[StoredTimer], now: datetime) -> None:
        written = max(now, self.wall()) if self.wall is not None else now
        for stored in timers:
            t = stored.timer
            slot = (t.member_id, t.key)
            self._store(slot, StoredTimer(_as_stored(t), "pending", None, tuple(stored.fired)))
            self._unindex(slot)
            at = fire_time(t.due_at, written)
            self.fire_at[slot] = at
            bisect.insort(self._index, (_seconds(at), *slot))

    def delete(self, member_id: str, keys: list[str]) -> None:
        for key in keys:
            slot = (member_id, key)
            self._unindex(slot)
            if self.rows.pop(slot, None) is not None:
                del self._of_member[member_id][key]

    def forget_member(self, member_id: str) -> int:
        """Every timer of the member, and what memory kept of those finished (their facts name
        children and products)."""
        keys = list(self._of_member.get(member_id, {}))
        self.delete(member_id, keys)
        self._of_member.pop(member_id, None)
        self.finished = [(s, at) for s, at in self.finished if s.timer.member_id != member_id]
        return len(keys)

    def finish(self, member_id: str, key: str, occurrence: str, status: str, reason: str | None, now: datetime) -> bool:
        slot = (member_id, key)
        stored = self.rows.get(slot)
        if stored is None or stored.status != "pending" or stored.timer.occurrence != occurrence:
            return False
        done = StoredTimer(stored.timer, status, reason or stored.reason, (*stored.fired, occurrence))
        self._store(slot, done)
        self._unindex(slot)
        self.finished.append((done, now))
        return True

    def _store(self, slot: Slot, stored: StoredTimer) -> None:
        self.rows[slot] = stored
        self._of_member.setdefault(slot[0], {})[slot[1]] = stored

    def _unindex(self, slot: Slot) -> None:
        at = self.fire_at.pop(slot, None)
        if at is not None:
            i = bisect.bisect_left(self._index, (_seconds(at), *slot))
            del self._index[i]

    # -- the sweep ---------------------------------------------------------------------------------
    def due(self, after: datetime, until: datetime) -> Iterator[tuple[str, str]]:
        """Pending slots whose firing time is in (``after``, ``until``], at second precision, in
        firing-time order."""
        low, high = _seconds(after) + 1, _seconds(until)
        if low > high:
            return
        start = bisect.bisect_left(self._index, (low,))
        end = bisect.bisect_right(self._index, (high, "\U0010ffff"))
        for _, member_id, key in self._index[start:end]:
            yield member_id, key

    def next_due(self) -> datetime | None:
        """The earliest firing time of a pending timer (what a clock that jumps ahead waits for)."""
        if not self._index:
            return None
        return datetime.fromtimestamp(self._index[0][0], UTC)

    def watermark(self) -> datetime | None:
        return self.mark

    def set_watermark(self, until: datetime) -> None:
        self.mark = until.astimezone(UTC).replace(microsecond=0)  # stored at second precision


class MemoryTimerQueue:
    """``TimerQueue``: released keys wait, with the time they were released at, until taken."""

    BATCH = 50  # keys per SQS message, as ``SqsTimerQueue``

    def __init__(self) -> None:
        self.waiting: list[tuple[datetime, list[tuple[str, str]]]] = []

    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        for i in range(0, len(keys), self.BATCH):
            self.waiting.append((at, list(keys[i : i + self.BATCH])))
        bodies = -(-len(keys) // self.BATCH)
        return -(-bodies // 10)  # the requests SQS would take: ten messages each

    def take(self) -> list[tuple[datetime, list[tuple[str, str]]]]:
        """Every batch released so far (and forget them)."""
        batches, self.waiting = self.waiting, []
        return batches
