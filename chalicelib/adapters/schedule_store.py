"""DynamoDB stores for timers and audience segments, the product catalog cache, and the timer queue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import BatchWrite
from pynamodb.transactions import TransactWrite

from ..domain.clock import parse_iso, to_iso
from ..domain.model import Product
from ..domain.timers import Timer
from ..ports import StoredTimer
from . import codec
from .dynamo import conditional_failed, shared_connection
from .models import AudienceModel, CounterModel, ProductModel, TimerModel

WATERMARK_KEY = ("#tick", "watermark")
# A timer already due when written fires at the next sweep: its firing time is at least a minute
# after the write, so a sweep running at the same moment cannot have passed it already.
SETTLE = timedelta(minutes=1)
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


class DynamoTimerStore:
    def for_member(self, member_id: str) -> list[StoredTimer]:
        return [_stored(r) for r in TimerModel.query(member_id, consistent_read=True)]

    def get(self, member_id: str, key: str) -> StoredTimer | None:
        try:
            return _stored(TimerModel.get(member_id, key, consistent_read=True))
        except TimerModel.DoesNotExist:
            return None

    def put(self, timers: list[StoredTimer], now: datetime) -> None:
        with TimerModel.batch_write() as batch:
            for stored in timers:
                t = stored.timer
                fire_at = max(t.due_at, now + SETTLE)
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


class DynamoAudienceStore:
    def members_in(self, segment: str) -> Iterator[tuple[str, int | None]]:
        for row in AudienceModel.query(segment):
            yield row.member_id, int(row.child_index) if row.child_index is not None else None

    def update(self, member_id: str, add: dict[str, int | None], remove: list[str]) -> None:
        batch: BatchWrite[AudienceModel]
        with AudienceModel.batch_write() as batch:
            for segment, child_index in add.items():
                batch.save(AudienceModel(segment, member_id, child_index=child_index))
            for segment in remove:
                batch.delete(AudienceModel(segment, member_id))


class CachedCatalog:
    """The product catalog, read whole and kept for ``max_age`` seconds per Lambda container.
    A toy store's catalog is thousands of SKUs: one scan every few minutes beats a read per rule."""

    def __init__(self, max_age: float = 300.0) -> None:
        self.max_age = max_age
        self._loaded_at = 0.0
        self._products: dict[str, Product] = {}

    def products(self, needed: tuple[str, ...] = ()) -> dict[str, Product]:
        """The catalog; read again when older than ``max_age``, or when a ``needed`` SKU is missing
        (a product added since the last read) and the last read is more than a few seconds old."""
        age = time.monotonic() - self._loaded_at
        missing = any(sku not in self._products for sku in needed)
        if age > self.max_age or (missing and age > 5.0):
            self._products = {r.sku: codec.product_from_data(r.data.as_dict()) for r in ProductModel.scan()}
            self._loaded_at = time.monotonic()
        return self._products


class SqsTimerQueue:
    """Due timers travel in batches (``BATCH`` keys per SQS message, ten messages per request)."""

    BATCH = 50

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        bodies = [
            json.dumps({"at": to_iso(at), "timers": keys[i : i + self.BATCH]}) for i in range(0, len(keys), self.BATCH)
        ]
        requests = 0
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
            response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            requests += 1
            if response.get("Failed"):
                raise RuntimeError(f"SQS refused {len(response['Failed'])} timer batches")
        return requests


class DynamoCapStore:
    """Frequency caps, atomic under concurrent senders: one conditional transaction over the week's
    and the month's counters, so a message counts in both or in neither."""

    def reserve(self, member_id: str, message_id: str, periods: list[tuple[str, int]], expires: datetime) -> str | None:
        ttl = int(expires.timestamp())
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                for key, limit in periods:
                    tx.update(
                        CounterModel(key),
                        actions=[
                            CounterModel.n.add(1),
                            CounterModel.ids.add({message_id}),
                            CounterModel.expires.set(ttl),
                        ],
                        condition=(CounterModel.n.does_not_exist() | (CounterModel.n < limit))
                        & ~CounterModel.ids.contains(message_id),
                    )
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in exc.cancellation_reasons]
            if "ConditionalCheckFailed" not in reasons:
                raise
            for (key, _), code in zip(periods, reasons, strict=False):
                if code != "ConditionalCheckFailed":
                    continue
                counted = CounterModel.get(key, consistent_read=True).ids or set()
                if message_id not in counted:
                    return key  # full
            return None  # already counted (a retry of the same message)
        return None
