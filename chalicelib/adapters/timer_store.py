"""``TimerStore`` on DynamoDB: one slot per member and rule reference; pending timers carry the
sparse ``due`` index (hour bucket, firing time) that sweeps read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from ..domain.isotime import parse_iso, to_iso
from ..domain.timers import Timer, fire_time
from ..ports import StoredTimer
from .models import TimerModel
from .pynamo import conditional_failed

WATERMARK_KEY = ("#tick", "watermark")


FINISHED_KEEP_DAYS = 400  # finished timers stay a year for "already sent" memory, then TTL removes them


def hour_bucket(at: datetime) -> str:
    return to_iso(at)[:13]  # 2026-11-22T10


def _stored(row: TimerModel) -> StoredTimer:
    facts = row.facts.as_dict() if row.facts is not None else {}
    timer = Timer(
        row.member_id,
        row.key,
        row.rule_id or "",
        row.occurrence or "",
        parse_iso(row.due_at) if row.due_at else datetime.min,
        facts,
    )
    return StoredTimer(timer, row.status or "pending", row.reason, tuple(row.fired or ()))


def clock() -> datetime:
    """The wall clock of a write (tests replace it)."""
    return datetime.now(UTC)


class DynamoTimerStore:
    """``wall``: the clock of the write (default :func:`clock`). A timer's firing time follows the
    later of the ``now`` it is told (the record's time) and the wall clock, so a stream record
    handled after a sweep passed its time (a retried batch) still has its already-due timers found
    by the next sweep."""

    def __init__(self, wall: Callable[[], datetime] | None = None) -> None:
        self.wall = wall

    def for_member(self, member_id: str) -> list[StoredTimer]:
        return [_stored(r) for r in TimerModel.query(member_id, consistent_read=True)]

    def get(self, member_id: str, key: str) -> StoredTimer | None:
        try:
            return _stored(TimerModel.get(member_id, key, consistent_read=True))
        except TimerModel.DoesNotExist:
            return None

    def put(self, timers: list[StoredTimer], now: datetime) -> None:
        written = max(now, (self.wall or clock)())
        with TimerModel.batch_write() as batch:
            for stored in timers:
                t = stored.timer
                fire_at = fire_time(t.due_at, written)
                batch.save(
                    TimerModel(
                        t.member_id,
                        t.key,
                        rule_id=t.rule_id,
                        occurrence=t.occurrence,
                        due_at=to_iso(t.due_at),
                        due_hour=hour_bucket(fire_at),
                        fire_at=to_iso(fire_at),
                        status="pending",
                        facts=_plain(t.facts),
                        fired=list(stored.fired),
                        updated_at=to_iso(now),
                    )
                )

    def delete(self, member_id: str, keys: list[str]) -> None:
        with TimerModel.batch_write() as batch:
            for key in keys:
                batch.delete(TimerModel(member_id, key))

    def forget_member(self, member_id: str) -> int:
        keys = [row.key for row in TimerModel.query(member_id, consistent_read=True, attributes_to_get=["key"])]
        self.delete(member_id, keys)
        return len(keys)

    def finish(self, member_id: str, key: str, occurrence: str, status: str, reason: str | None, now: datetime) -> bool:
        actions: list[Action] = [
            TimerModel.status.set(status),
            TimerModel.due_hour.remove(),
            TimerModel.fire_at.remove(),
            TimerModel.updated_at.set(to_iso(now)),
            TimerModel.fired.set(TimerModel.fired.append([occurrence])),
            TimerModel.purge_at.set(int((now + timedelta(days=FINISHED_KEEP_DAYS)).timestamp())),
        ]
        if reason:
            actions.append(TimerModel.reason.set(reason))
        condition = (TimerModel.status == "pending") & (TimerModel.occurrence == occurrence)
        try:
            TimerModel(member_id, key).update(actions=actions, condition=condition)
        except UpdateError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def due(self, after: datetime, until: datetime) -> Iterator[tuple[str, str]]:
        low, high = to_iso(after + timedelta(seconds=1)), to_iso(until)
        if low > high:
            return
        hour = after.replace(minute=0, second=0, microsecond=0)
        while hour <= until:
            for row in TimerModel.due.query(hour_bucket(hour), TimerModel.fire_at.between(low, high)):
                yield row.member_id, row.key
            hour += timedelta(hours=1)

    def watermark(self) -> datetime | None:
        try:
            mark = TimerModel.get(*WATERMARK_KEY, consistent_read=True).watermark
        except TimerModel.DoesNotExist:
            return None
        return parse_iso(mark) if mark else None

    def set_watermark(self, until: datetime) -> None:
        TimerModel(*WATERMARK_KEY, watermark=to_iso(until)).save()


def _plain(value: Any) -> Any:
    """Facts as DynamoDB can hold them (no None inside lists; floats fine for PynamoDB)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
