"""Sweep cost: DynamoDB items read by a day's sweep per member it concerns, at two table sizes.

Members with children's birthdays, points lots and purchase histories spread over the year get their
timers from the real rule code (``scheduling.member_dates``) into a moto DynamoDB table shaped like
infra/template.json; one day's sweep (hourly ticks, as EventBridge runs them) then runs through the
real ``TimerService.release_due`` and ``DynamoTimerStore``. Items read are DynamoDB's own
``ScannedCount`` of every Query/Scan/Get the sweep makes, counted with a botocore event hook."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

SIZES = (10_000, 100_000)
STORE_ZONE = "Asia/Shanghai"
ZONES = ("Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "Asia/Taipei", "America/Los_Angeles", "Europe/London")


def _environment() -> None:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "TIMERS_TABLE": "bench-timers",
        }
    )
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        os.environ.pop(var, None)


def _members(count: int, today: date, rng: random.Random) -> list[Any]:
    from chalicelib.domain.model import Child, Consent, Member, PointsLot

    members = []
    for i in range(count):
        born = today - timedelta(days=rng.randint(365, 365 * 10))
        bought = datetime.combine(today - timedelta(days=rng.randint(0, 120)), datetime.min.time(), tzinfo=UTC)
        lots = [PointsLot(f"t{i}", rng.randint(10, 500), today + timedelta(days=rng.randint(1, 365)))]
        members.append(
            Member(
                member_id=f"m{i:07d}",
                timezone=rng.choice(ZONES),
                consent=Consent(marketing=True),
                children=[Child(f"c{i}", born, rng.choice(("boy", "girl")))],
                points_lots=lots,
                last_purchase_at=bought,
            )
        )
    return members


class _Counter:
    """Items DynamoDB reports reading: index queries (what grows with members) apart from the
    sweep's own bookkeeping (one watermark read per tick, whatever the table size)."""

    def __init__(self) -> None:
        self.items_read = 0
        self.queries = 0
        self.bookkeeping_reads = 0

    def __call__(self, http_response: Any, parsed: Any, model: Any, **kwargs: Any) -> None:
        if model.name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", 0))
            self.queries += 1
        elif model.name == "GetItem":
            self.bookkeeping_reads += 1 if parsed.get("Item") else 0


class _NullQueue:
    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []

    def enqueue(self, at: datetime, keys: list[tuple[str, str]]) -> int:
        self.keys.extend(keys)
        return -(-len(keys) // 500)


def measure(count: int) -> dict[str, float]:
    _environment()
    import boto3
    from moto import mock_aws

    with mock_aws():
        from chalicelib import bootstrap
        from chalicelib.adapters.models import TimerModel
        from chalicelib.adapters.timer_store import DynamoTimerStore
        from chalicelib.domain.rulebook import load_rule_book
        from chalicelib.domain.scheduling import member_dates
        from chalicelib.ports import StoredTimer
        from chalicelib.services.timers import TimerService

        bootstrap.reset()
        TimerModel.Meta.table_name = "bench-timers"
        TimerModel._connection = None
        TimerModel.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        rng = random.Random(count)
        today = date(2027, 3, 1)
        created = datetime(2027, 2, 28, 0, 0, tzinfo=UTC)
        book = load_rule_book()
        store = DynamoTimerStore()
        started = time.perf_counter()
        timers = []
        for member in _members(count, today, rng):
            timers.extend(StoredTimer(t, "pending") for t in member_dates(member, book, created, STORE_ZONE).values())
        for start in range(0, len(timers), 5000):
            store.put(timers[start : start + 5000], created)
        populate = time.perf_counter() - started
        store.set_watermark(datetime(2027, 3, 1, 0, 0, tzinfo=UTC))
        counter = _Counter()
        client = TimerModel._get_connection().connection.client
        client.meta.events.register("after-call.dynamodb", counter)
        queue = _NullQueue()
        service = TimerService(book, store, None, None, queue, None, STORE_ZONE)  # type: ignore[arg-type]
        day_start = datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
        for hour in range(24):  # one day of hourly ticks
            service.release_due(day_start + timedelta(hours=hour))
        matching = len({member_id for member_id, _ in queue.keys})
        boto3.DEFAULT_SESSION = None
    return {
        "members": count,
        "timers": len(timers),
        "due_timers": len(queue.keys),
        "matching_members": matching,
        "items_read": counter.items_read,
        "queries": counter.queries,
        "bookkeeping_reads": counter.bookkeeping_reads,
        "items_read_per_matching_member": counter.items_read / max(matching, 1),
        "populate_s": populate,
    }


def run() -> dict[int, dict[str, float]]:
    print("Sweep cost (one day of hourly ticks over the timers index; items read = DynamoDB ScannedCount)")
    results = {}
    for size in SIZES:
        r = measure(size)
        results[size] = r
        print(
            f"  {size:>7} members, {int(r['timers']):>7} timers: {int(r['matching_members']):>5} members due, "
            f"{int(r['items_read']):>5} index items read in {int(r['queries'])} queries → "
            f"{r['items_read_per_matching_member']:.3f} per matching member (goal ≤ 1.2); "
            f"+{int(r['bookkeeping_reads'])} watermark reads (one per tick)"
        )
    return results
