"""`memberpulse run-schedule --wait` (memberpulse_cli/waiting.py) against moto: which timers a tick
released, when they count as fired, and the queues it waits on. Timers are written by the real
timer store, so the wait reads what the functions write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.timer_store import DynamoTimerStore
from chalicelib.domain.timers import Timer
from chalicelib.ports import StoredTimer
from memberpulse_cli.waiting import Backlog, wait_for_tick

from .conftest import REGION, AwsStack

SWEPT_FROM = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
AT = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
WRITTEN = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # long before: fire_at = due_at


def _target(aws: AwsStack) -> dict[str, Any]:
    return {
        "endpoint_url": None,
        "region": REGION,
        "tables": {"timers": aws.tables["TimersTable"]},
        "queues": {
            "timers": aws.queues["TimerQueue"],
            "send": aws.queues["SendQueue"],
            "inbound": aws.queues["InboundQueue"],
        },
    }


def _timer(member_id: str, due_at: datetime, key: str = "dormant_45d#last_purchase") -> StoredTimer:
    return StoredTimer(Timer(member_id, key, "dormant_45d", f"{due_at:%Y-%m-%d}", due_at), "pending")


def _tick_result(due: int) -> dict[str, Any]:
    return {"at": "2026-12-02T02:00:00Z", "swept_from": int(SWEPT_FROM.timestamp()), "due": due, "sqs_requests": 1}


def _wait(aws: AwsStack, due: int = 1) -> Backlog:
    """One look (no time to wait): what is still outstanding now."""
    return wait_for_tick(_target(aws), _tick_result(due), AT, timeout=0, sleep=lambda _: None)


def test_given_a_released_timer_when_it_is_still_pending_then_the_tick_has_not_landed(aws: AwsStack) -> None:
    DynamoTimerStore().put([_timer("m-1", AT - timedelta(hours=2))], WRITTEN)

    left = _wait(aws)

    assert left and left.timers == 1
    assert "1 released timers not fired" in str(left)


def test_given_the_released_timer_fired_and_the_queues_empty_then_landed(aws: AwsStack) -> None:
    store = DynamoTimerStore()
    due = AT - timedelta(hours=2)
    store.put([_timer("m-1", due)], WRITTEN)
    store.finish("m-1", "dormant_45d#last_purchase", f"{due:%Y-%m-%d}", "fired", None, AT)

    assert not _wait(aws)


def test_pending_timers_the_tick_did_not_release_are_not_waited_for(aws: AwsStack) -> None:
    store = DynamoTimerStore()
    store.put(
        [
            _timer("before", SWEPT_FROM - timedelta(hours=1)),  # before the swept window: not released
            _timer("after", AT + timedelta(minutes=1)),  # due after the tick
            _timer("edge", SWEPT_FROM),  # the window is (swept_from, at]
        ],
        WRITTEN,
    )

    assert not _wait(aws)


def test_a_slot_rewritten_for_a_later_time_is_not_this_ticks_timer(aws: AwsStack) -> None:
    store = DynamoTimerStore()
    store.put([_timer("m-1", AT - timedelta(hours=2))], WRITTEN)
    target = _target(aws)
    pending: list[Backlog] = []

    def fire_and_reschedule(_: float) -> None:
        # between two looks, the timer fires and its slot is written again for next year
        pending.append(Backlog())
        store.put([_timer("m-1", AT + timedelta(days=365))], AT)

    left = wait_for_tick(target, _tick_result(1), AT, timeout=60, sleep=fire_and_reschedule)

    assert not left and pending  # it waited once, then saw the slot's new timer as not this tick's


def test_messages_on_the_send_or_timer_queue_keep_the_tick_open(aws: AwsStack) -> None:
    aws.sqs.send_message(QueueUrl=aws.queues["SendQueue"], MessageBody="{}")
    aws.sqs.send_message(QueueUrl=aws.queues["TimerQueue"], MessageBody="{}")
    aws.sqs.receive_message(QueueUrl=aws.queues["TimerQueue"], VisibilityTimeout=60)

    left = _wait(aws)

    assert left and left.timers == 0
    assert left.queues["send"]["waiting"] == 1
    assert left.queues["timers"]["in flight"] == 1
    assert "send queue: 1 waiting" in str(left) and "timers queue: 1 in flight" in str(left)


def test_the_inbound_queue_is_not_the_ticks_work(aws: AwsStack) -> None:
    aws.sqs.send_message(QueueUrl=aws.queues["InboundQueue"], MessageBody="{}")

    assert not _wait(aws)


def test_a_tick_that_released_nothing_returns_at_once(aws: AwsStack) -> None:
    aws.sqs.send_message(QueueUrl=aws.queues["SendQueue"], MessageBody="{}")

    def never(_: float) -> None:
        raise AssertionError("waited")

    assert not wait_for_tick(_target(aws), _tick_result(0), AT, timeout=60, sleep=never)


def test_it_waits_until_two_looks_in_a_row_find_nothing(aws: AwsStack) -> None:
    looks: list[int] = []

    def count(_: float) -> None:
        looks.append(1)

    assert not wait_for_tick(_target(aws), _tick_result(1), AT, timeout=60, sleep=count)
    assert len(looks) == 1  # idle, look again, idle: landed
