from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.ratelimit import book, largest_window_count
from chalicelib.domain.retry import backoff_seconds


def test_one_part_sends_are_spaced_to_the_rate() -> None:
    times, _ = book([], [1] * 40, now_ms=0, rate=20, margin_ms=0)
    assert times[:20] == list(range(0, 1000, 50))  # spaced, not a burst
    assert times[20] == 1000
    assert largest_window_count([(t, 1) for t in times]) == 20


def test_the_margin_widens_the_window() -> None:
    times, _ = book([], [1] * 21, now_ms=0, rate=20, margin_ms=50)
    assert times[20] == 1050


def test_history_from_other_senders_counts() -> None:
    first, history = book([], [1] * 20, now_ms=0, rate=20)
    second, _ = book(history, [1], now_ms=10, rate=20)
    assert second[0] >= first[0] + 1000
    assert largest_window_count([(t, 1) for t in first + second]) <= 20


def test_multi_part_sends_take_their_parts_time() -> None:
    times, _ = book([], [3, 1], now_ms=0, rate=10, margin_ms=0)
    assert times == [0, 300]


def test_a_send_larger_than_the_rate_goes_alone() -> None:
    times, _ = book([], [1, 50, 1], now_ms=0, rate=10, margin_ms=0)
    assert times == [0, 1000, 2000]  # alone in its window, counted as the whole rate


def test_history_keeps_what_lies_ahead_and_drops_what_no_window_can_reach() -> None:
    _, history = book([], [1] * 30, now_ms=0, rate=10, margin_ms=100)
    assert len(history) == 30  # all still ahead: a later sender may book between them
    _, history = book(history, [1], now_ms=10_000, rate=10, margin_ms=100)
    assert [t for t, _ in history if t < 10_000 - 2 * 1100] == []


def test_a_sender_busy_until_later_books_from_then_and_keeps_what_others_booked_before() -> None:
    """Booking from 5 s ahead (a sender with slots it keeps until then) starts there, and the
    schedule it stores still holds the bookings from now to then: dropping them would let the
    next sender book on top of them."""
    _, history = book([], [1] * 40, now_ms=0, rate=10, margin_ms=25)  # others, 4 s ahead
    times, kept = book(history, [1] * 2, now_ms=0, rate=10, margin_ms=25, from_ms=5000)
    assert times[0] >= 5000
    assert sorted(history) == [b for b in kept if b[0] < 5000]
    later, _ = book(kept, [1] * 5, now_ms=0, rate=10, margin_ms=25)
    every = sorted([*(t for t, _ in history), *times, *later])
    assert largest_window_count([(t, 1) for t in every], window_ms=1025) <= 10


def test_a_sender_books_no_faster_than_it_can_send() -> None:
    times, _ = book([], [1] * 3, now_ms=0, rate=10, margin_ms=0, pace_ms=400)
    assert times == [0, 400, 800]


def test_another_sender_books_into_the_gaps_a_slow_sender_leaves() -> None:
    slow, history = book([], [1] * 5, now_ms=0, rate=10, margin_ms=0, pace_ms=400)
    fast, history = book(history, [1] * 5, now_ms=0, rate=10, margin_ms=0)
    assert slow == [0, 400, 800, 1200, 1600]
    assert fast == [100, 200, 300, 500, 600]
    assert largest_window_count([(t, 1) for t in slow + fast]) <= 10


@settings(max_examples=300, deadline=None)
@given(
    rate=st.integers(1, 30),
    senders=st.lists(
        st.tuples(
            st.integers(0, 1500),  # when it books, after the one before
            st.integers(0, 700),  # its pace: the time each of its sends takes
            st.lists(st.integers(1, 4), min_size=1, max_size=10),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_slow_and_fast_senders_sharing_a_schedule_keep_the_rate_the_spacing_and_their_pace(
    rate: int, senders: list[tuple[int, int, list[int]]]
) -> None:
    history: list[tuple[int, int]] = []
    sends: list[tuple[int, int]] = []
    now = 0
    for step, pace, parts in senders:
        now += step
        times, history = book(history, parts, now_ms=now, rate=rate, margin_ms=100, pace_ms=pace)
        assert times[0] >= now
        assert all(b - a >= pace for a, b in itertools.pairwise(times))
        sends += [(t, min(p, rate)) for t, p in zip(times, parts, strict=True)]
    assert largest_window_count(sends, window_ms=1100) <= rate
    ordered = sorted(sends)
    for (a, pa), (b, _) in itertools.pairwise(ordered):
        assert b - a >= pa * 1000 // rate  # spaced, not a burst


@settings(max_examples=200, deadline=None)
@given(
    rate=st.integers(1, 50),
    batches=st.lists(
        st.tuples(st.integers(0, 3000), st.lists(st.integers(1, 6), min_size=1, max_size=12)), min_size=1, max_size=8
    ),
    late=st.integers(0, 49),
)
def test_no_one_second_window_ever_exceeds_the_rate(rate: int, batches: list[tuple[int, list[int]]], late: int) -> None:
    """Many senders booking at different moments; each send may leave up to 49 ms late."""
    history: list[tuple[int, int]] = []
    sends: list[tuple[int, int]] = []
    now = 0
    for step, parts in batches:
        now += step
        times, history = book(history, parts, now_ms=now, rate=rate, margin_ms=50)
        for i, (t, p) in enumerate(zip(times, parts, strict=True)):
            assert t >= now
            sends.append((t + (late if i % 2 else 0), min(p, rate)))
    assert largest_window_count(sends) <= rate


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff_seconds(n, rand=lambda: 1.0) for n in range(1, 12)]
    assert waits[:4] == [5, 10, 20, 40]
    assert max(waits) == 900
    assert backoff_seconds(1, rand=lambda: 0.0) == 2  # half fixed, half random


def test_retry_after_is_a_floor() -> None:
    assert backoff_seconds(1, retry_after=30, rand=lambda: 0.0) == 30
