"""DynamoSendGate on moto, what is its own: one transaction per round, cap counters that hold under
parallel senders, and a provider rate schedule that two gates share without ever booking more than
the rate in any second. (Claims, caps and rates as every gate keeps them: tests/integration/contract.)"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.adapters.models import CounterModel
from chalicelib.adapters.providers.registry import schedule_margins
from chalicelib.adapters.send_gate import DynamoSendGate
from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.domain.ratelimit import DEFAULT_MARGIN_MS, LATE_ALLOWANCE_MS, largest_window_count
from chalicelib.ports import ClaimRequest, ClaimResult
from tests.integration.contract.test_send_gate import request

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
WALL = NOW.timestamp()
WEEK = "cap#m-1#week#2026-W47"
MONTH = "cap#m-1#month#2026-11"
CAPS = ((WEEK, 2), (MONTH, 6))


def stored(message_id: str, member_id: str = "m-1", status: MessageStatus = MessageStatus.QUEUED) -> str:
    message = Message(
        message_id, member_id, "new_arrivals", message_id, Channel.SMS, "sandbox", "新品到店啦", status, NOW,
        rule_class="marketing",
    )  # fmt: skip
    assert DynamoMessageStore().create(message)
    return message_id


def counter(key: str) -> tuple[int, set[str]]:
    try:
        item = CounterModel.get(key, consistent_read=True)
    except CounterModel.DoesNotExist:
        return 0, set()
    return int(item.n), set(item.ids or ())


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of items of every TransactWriteItems call made (successful or cancelled)."""
    from pynamodb.connection.base import Connection

    calls: list[int] = []
    real: Callable[..., Any] = Connection.transact_write_items

    def counting(self: Connection, *args: Any, **kwargs: Any) -> Any:
        items = sum(
            len(kwargs.get(k) or ()) for k in ("condition_check_items", "delete_items", "put_items", "update_items")
        )
        calls.append(items)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", counting)
    yield calls


# -- DynamoDB's own: transactions, rounds, races (the behaviour itself: tests/integration/contract) --


def test_two_members_messages_go_in_one_transaction(transactions: list[int]) -> None:
    a, b = stored("m-a", "m-1"), stored("m-b", "m-2")
    caps_2 = (("cap#m-2#week#2026-W47", 2), ("cap#m-2#month#2026-11", 6))
    result = DynamoSendGate({"sandbox": 20}, lead_ms=0, follow_clock=False).claim(
        [request(a, "c1", periods=CAPS), request(b, "c2", periods=caps_2)], NOW, WALL
    )
    assert set(result.slots) == {a, b}
    assert transactions == [2 + 2 + 2 + 1]  # two claims, four counters, one rate schedule


def test_one_members_two_marketing_messages_go_in_successive_rounds(transactions: list[int]) -> None:
    a, b = stored("m-a"), stored("m-b")
    result = DynamoSendGate({}).claim([request(a, "c1", periods=CAPS), request(b, "c2", periods=CAPS)], NOW, WALL)
    assert set(result.slots) == {a, b}
    assert transactions == [3, 3]
    assert counter(WEEK) == (2, {a, b})


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto is not safe under threads: its TransactWriteItems checks conditions and writes without a
    lock, and rolls a cancelled one back by restoring a deep copy of the whole table (wiping what
    another thread wrote meanwhile). DynamoDB executes each request atomically; so do we here, by
    serializing each request. Everything between requests (reads, rounds, retries) stays concurrent."""
    from pynamodb.connection.base import Connection

    lock = threading.Lock()
    real: Callable[..., Any] = Connection._make_api_call

    def one_at_a_time(self: Connection, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", one_at_a_time)


def race(workers: list[Callable[[], ClaimResult]]) -> list[ClaimResult]:
    """Run the claims in parallel threads, released together."""
    start = threading.Barrier(len(workers))
    results: list[ClaimResult | BaseException] = [RuntimeError("not run")] * len(workers)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = workers[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return [r for r in results if isinstance(r, ClaimResult)]


@pytest.mark.usefixtures("atomic_requests")
def test_parallel_senders_racing_on_one_members_cap_claim_exactly_the_cap() -> None:
    ids = [stored(f"m-{i}") for i in range(8)]

    def sender(i: int) -> Callable[[], ClaimResult]:
        gate = DynamoSendGate({})
        return lambda: gate.claim([request(ids[i], f"c{i}", periods=CAPS)], NOW, WALL)

    results = race([sender(i) for i in range(8)])
    claimed = [mid for r in results for mid in r.slots]
    full = {mid: key for r in results for mid, key in r.full.items()}
    assert len(claimed) == 2
    assert set(full) == set(ids) - set(claimed) and set(full.values()) == {WEEK}
    assert counter(WEEK) == (2, set(claimed))
    assert counter(MONTH) == (2, set(claimed))
    store = DynamoMessageStore()
    holders = {mid for mid in ids if (m := store.get(mid)) is not None and m.claim is not None}
    assert holders == set(claimed)


@pytest.mark.usefixtures("atomic_requests")
def test_parallel_senders_racing_on_a_cap_and_a_rate_schedule() -> None:
    """The same race through a rate-limited provider: each loser re-reads the schedule and tries again."""
    ids = [stored(f"m-{i}") for i in range(6)]

    def sender(i: int) -> Callable[[], ClaimResult]:
        gate = DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False)
        return lambda: gate.claim([request(ids[i], f"c{i}", periods=CAPS)], NOW, WALL)

    results = race([sender(i) for i in range(6)])
    claimed = [mid for r in results for mid in r.slots]
    assert len(claimed) == 2
    assert counter(WEEK) == (2, set(claimed))


# -- the rate schedule ---------------------------------------------------------------------------------


def slots_ms(results: list[ClaimResult]) -> list[tuple[int, int]]:
    return [(round(t * 1000), 1) for r in results for t in r.slots.values()]


def test_two_gates_booking_one_provider_one_after_the_other_never_exceed_the_rate() -> None:
    a = [stored(f"a-{i}", f"ma-{i}") for i in range(10)]
    b = [stored(f"b-{i}", f"mb-{i}") for i in range(10)]
    first = DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False).claim(
        [request(mid, f"ca{i}") for i, mid in enumerate(a)], NOW, WALL
    )
    second = DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False).claim(
        [request(mid, f"cb{i}") for i, mid in enumerate(b)], NOW, WALL
    )
    sends = slots_ms([first, second])
    assert len(sends) == 20
    assert largest_window_count(sends) <= 5
    assert min(second.slots.values()) >= max(first.slots.values())
    assert min(t for t, _ in sends) == round(WALL * 1000)
    # Four windows of 1 s + the 100 ms margin, five sends 200 ms apart in each: the last one
    # 3 × 1.1 + 0.8 s after the first.
    assert (max(t for t, _ in sends) - min(t for t, _ in sends)) / 1000 <= 3 * 1.1 + 0.8 + 0.01


@pytest.mark.usefixtures("atomic_requests")
def test_two_gates_booking_one_provider_concurrently_never_exceed_the_rate() -> None:
    a = [stored(f"a-{i}", f"ma-{i}") for i in range(10)]
    b = [stored(f"b-{i}", f"mb-{i}") for i in range(10)]

    def sender(ids: list[str], prefix: str) -> Callable[[], ClaimResult]:
        gate = DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False)
        return lambda: gate.claim([request(mid, f"{prefix}{i}") for i, mid in enumerate(ids)], NOW, WALL)

    results = race([sender(a, "ca"), sender(b, "cb")])
    sends = slots_ms(results)
    assert len(sends) == 20
    assert largest_window_count(sends) <= 5


def test_the_schedule_counts_parts() -> None:
    ids = [stored(f"p-{i}", f"mp-{i}") for i in range(6)]
    gate = DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False)
    result = gate.claim([request(mid, f"c{i}", parts=3) for i, mid in enumerate(ids)], NOW, WALL)
    sends = [(round(result.slots[mid] * 1000), 3) for mid in ids]
    assert largest_window_count(sends) <= 5
    schedule = CounterModel.get("rate#sandbox", consistent_read=True)
    # What lies ahead is kept (a later sender may book between), each send with its parts
    assert sorted((int(t), int(p)) for t, p in schedule.bookings) == sorted(sends)


def test_a_gate_whose_schedule_moved_between_its_read_and_its_write_reads_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deterministic interleaving of the race: gate A reads the schedule, gate B books ten sends and
    commits, then A writes on the schedule it read. A's write must fail and A must book after B."""
    from chalicelib.adapters import send_gate

    a = [stored(f"a-{i}", f"ma-{i}") for i in range(5)]
    b = [stored(f"b-{i}", f"mb-{i}") for i in range(10)]
    gate_a, gate_b = (
        DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False),
        DynamoSendGate({"sandbox": 5}, lead_ms=0, follow_clock=False),
    )
    real = send_gate._read_schedule
    reads: list[int | None] = []
    b_result: list[ClaimResult] = []

    def interleaved(provider: str) -> tuple[int | None, list[tuple[int, int]]]:
        seen = real(provider)
        reads.append(seen[0])
        if len(reads) == 1:  # A has read; B gets in first
            monkeypatch.setattr(send_gate, "_read_schedule", real)
            b_result.append(gate_b.claim([request(mid, f"cb{i}") for i, mid in enumerate(b)], NOW, WALL))
            monkeypatch.setattr(send_gate, "_read_schedule", interleaved)
        return seen

    monkeypatch.setattr(send_gate, "_read_schedule", interleaved)
    a_result = gate_a.claim([request(mid, f"ca{i}") for i, mid in enumerate(a)], NOW, WALL)
    assert reads[0] is None and reads[-1] == 1  # A read again after B's booking
    sends = slots_ms([a_result, *b_result])
    assert len(sends) == 15
    assert largest_window_count(sends) <= 5
    assert min(a_result.slots.values()) >= max(b_result[0].slots.values())


def test_a_sender_slower_than_the_rate_gets_slots_it_can_keep_and_another_uses_the_gaps() -> None:
    slow = [stored(f"s-{i}", f"ms-{i}") for i in range(3)]
    fast = [stored(f"f-{i}", f"mf-{i}") for i in range(3)]
    gate = DynamoSendGate({"sandbox": 10}, lead_ms=0, follow_clock=False)
    first = gate.claim(
        [ClaimRequest(mid, f"cs{i}", "sandbox", 1, pace_ms=400) for i, mid in enumerate(slow)], NOW, WALL
    )
    second = gate.claim([request(mid, f"cf{i}") for i, mid in enumerate(fast)], NOW, WALL)
    assert [round((first.slots[mid] or 0) - WALL, 3) for mid in slow] == [0.0, 0.4, 0.8]
    assert [round((second.slots[mid] or 0) - WALL, 3) for mid in fast] == [0.1, 0.2, 0.3]
    [again] = gate.book("sandbox", [1], WALL + 0.5)
    assert again is not None and again >= WALL + 0.5


def test_sends_booking_again_give_their_old_slots_back() -> None:
    ids = [stored(f"r-{i}", f"mr-{i}") for i in range(3)]
    gate = DynamoSendGate({"sandbox": 10}, lead_ms=0, ready_lead_ms=0, follow_clock=False)
    first = gate.claim([request(mid, f"c{i}") for i, mid in enumerate(ids)], NOW, WALL)
    old = [(first.slots[mid] or 0.0, 1) for mid in ids]
    again = gate.book("sandbox", [1, 1, 1], WALL + 2, pace_ms=300, release=old)
    assert [round((t or 0) - WALL, 3) for t in again] == [2.0, 2.3, 2.6]
    schedule = CounterModel.get("rate#sandbox", consistent_read=True)
    assert sorted(int(t) for t, _ in schedule.bookings) == [round((t or 0) * 1000) for t in again]


def test_slots_start_after_the_time_the_gates_own_writes_take() -> None:
    """Each look at the (fake) clock is 100 ms later: the first claim's slot starts after the 100 ms
    spent before booking; the second also leaves room for its write, learned from the first (×1.5)."""
    ticks = iter(i / 10 for i in range(100))
    gate = DynamoSendGate({"sandbox": 100}, lead_ms=0, clock=lambda: next(ticks))
    a, b = stored("m-a", "m-1"), stored("m-b", "m-2")
    first = gate.claim([request(a, "c1")], NOW, WALL)
    second = gate.claim([request(b, "c2")], NOW, WALL)
    assert round((first.slots[a] or 0) - WALL, 3) == 0.1
    assert round((second.slots[b] or 0) - WALL, 3) == 0.1 + 0.15


def test_the_sandbox_schedule_gives_up_only_what_can_make_its_sends_late() -> None:
    """The sandbox stamps a send's arrival in the sender's own process: its schedule's margin is the
    sender's late allowance and no network transit, so a long run books at least 0.97 × R (with the
    100 ms margin of a provider across the internet it was 1 / 1.1 ≈ 0.91 × R)."""
    margins = schedule_margins(["sandbox", "aliyun", "unknown"])
    assert margins == {"sandbox": LATE_ALLOWANCE_MS + 15, "aliyun": DEFAULT_MARGIN_MS, "unknown": DEFAULT_MARGIN_MS}
    ids = [stored(f"s-{i}", f"ms-{i}") for i in range(100)]
    gate = DynamoSendGate({"sandbox": 10}, margins, lead_ms=0, follow_clock=False)
    batches = [ids[i : i + 10] for i in range(0, len(ids), 10)]  # a sender's batches, one after another
    results = [gate.claim([request(mid, f"c-{mid}") for mid in batch], NOW, WALL) for batch in batches]
    sends = slots_ms(results)
    assert len(sends) == 100
    assert largest_window_count(sends, 1000 + LATE_ALLOWANCE_MS + 15) <= 10  # late sends included
    span = (sends[-1][0] - sends[0][0]) / 1000
    assert 99 / span >= 0.97 * 10
