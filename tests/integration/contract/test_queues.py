"""``SendQueue``, ``TimerQueue`` and ``ErasureQueue`` contracts: what is queued arrives once, with when
it was decided; inside a handler's ``batched`` block intents arrive together at its end, and not at
all if it fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .conftest import Kind

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_queued_ids_arrive_once_with_their_decision_time(kind: Kind) -> None:
    queue = kind.adapters.send_queue
    queue.enqueue([f"m-{n:02d}" for n in range(12)], T0)
    queue.enqueue(["m-x"])
    arrived = kind.arrived()
    assert sorted(arrived) == sorted([*((f"m-{n:02d}", T0) for n in range(12)), ("m-x", None)])


def test_intents_held_in_a_batch_arrive_at_its_end(kind: Kind) -> None:
    queue = kind.adapters.send_queue
    with queue.batched():
        queue.enqueue(["m-a"], T0)
        queue.enqueue(["m-b"], T0.replace(minute=1))
        assert kind.arrived() == []
    assert sorted(kind.arrived()) == [("m-a", T0), ("m-b", T0.replace(minute=1))]


def test_nothing_of_a_failed_batch_arrives_and_the_queue_holds_no_more(kind: Kind) -> None:
    queue = kind.adapters.send_queue
    with pytest.raises(RuntimeError), queue.batched():
        queue.enqueue(["m-a"], T0)
        raise RuntimeError("the batch failed: its replay queues again")
    queue.enqueue(["m-b"], T0)
    assert kind.arrived() == [("m-b", T0)]


def test_released_timers_arrive_in_batches_of_fifty_with_the_release_time(kind: Kind) -> None:
    keys = [(f"m-{n:03d}", "dormant_45d#last_purchase") for n in range(120)]
    requests = kind.adapters.timer_queue.enqueue(T0, keys)
    assert requests == 1  # three messages: one request
    released = kind.released()
    assert sorted(len(batch) for _, batch in released) == [20, 50, 50]
    assert {at for at, _ in released} == {T0}
    assert sorted(k for _, batch in released for k in batch) == keys


def test_a_purge_requested_arrives_once_with_its_member_time_and_round(kind: Kind) -> None:
    kind.adapters.erasure_queue.request("m-1", T0, 1)
    kind.adapters.erasure_queue.request("m-2", T0.replace(minute=5), 1)
    assert sorted(kind.erasures()) == [("m-1", T0, 1), ("m-2", T0.replace(minute=5), 1)]
    assert kind.erasures() == []
