"""Provider throughput: a sliding-window schedule in message PARTS per second. Pure.

Every sender Lambda books its sends on one shared schedule per provider (kept in DynamoDB by the
send gate, updated with a conditional write): each send gets a moment ``at`` (integer ms) such that
the parts booked in any window ``(x - window, x]`` never exceed the rate, and sends are spaced by
the time their parts take at the rate, on both sides (no bursts). Because a window of
``1 s + margin`` holds at most ``rate`` parts, every one-second window the PROVIDER sees does too,
as long as each send reaches it no more than ``margin`` after its moment. The margin is what can
make it later (``margin_ms``): the sender leaving late — up to ``LATE_ALLOWANCE_MS``, beyond which
it books again (services/pacing.py) — plus the spread of the provider's transit, which its adapter
declares. The margin is also what the rate gives up: the schedule sends at most
``rate × 1000 / (1000 + margin)`` parts a second, so it is no wider than that. A send of more parts
than the whole rate goes alone in its window.

A sender books from when it will be READY for each send: no earlier than ``pace_ms`` after its own
previous one (the time a send of its takes: a provider answering in 250 ms cannot use slots 100 ms
apart). The gaps that leaves are booked by the other senders: each send takes the earliest moment
that keeps the rate and the spacing, between bookings already made if there is room.

The schedule keeps what lies ahead and what a window (twice, for senders' clocks) can still reach.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from itertools import accumulate

Booking = tuple[int, int]  # (at ms since the epoch, parts)

# How late after its moment a send may still leave: a sender's timer, a scheduling hiccup. A
# sender any later books again (``services/pacing.py``).
LATE_ALLOWANCE_MS = 10
# A provider's transit when its adapter says nothing: the spread of an HTTPS call's arrival.
DEFAULT_ARRIVAL_SPREAD_MS = 80


def margin_ms(arrival_spread_ms: int) -> int:
    """The schedule's margin for a provider whose sends reach it within ``arrival_spread_ms`` of
    one another's transit: a send leaves at most the allowance late and arrives at most the
    spread later still."""
    return LATE_ALLOWANCE_MS + max(0, arrival_spread_ms)


DEFAULT_MARGIN_MS = margin_ms(DEFAULT_ARRIVAL_SPREAD_MS)
_AFTER = 1 << 62  # sorts after any parts count at the same moment


def book(
    history: Sequence[Booking],
    parts: Sequence[int],
    now_ms: int,
    rate: int,
    margin_ms: int = DEFAULT_MARGIN_MS,
    pace_ms: int = 0,
    from_ms: int | None = None,
) -> tuple[list[int], list[Booking]]:
    """Book one send per entry of ``parts``, in order, each at least ``pace_ms`` after the one
    before, the first no earlier than ``from_ms`` (when the sender will be ready; ``now_ms`` by
    default). Returns the send moments (ms, increasing, none before ``now_ms``) and the history to
    store: what ``now_ms`` (the time it is) can still need."""
    if rate < 1:
        raise ValueError("rate must be at least 1 part per second")
    window = 1000 + margin_ms
    booked = sorted(history)
    ready = now_ms if from_ms is None else max(now_ms, from_ms)
    times: list[int] = []
    for p in parts:
        need = min(max(p, 1), rate)  # an over-long send goes alone in its window
        at = _earliest(booked, ready, need, rate, window)
        insort(booked, (at, need))
        times.append(at)
        ready = at + max(pace_ms, 1)
    keep = [b for b in booked if b[0] > now_ms - 2 * window]
    return times, keep


def without(history: Sequence[Booking], given_back: Sequence[tuple[float, int]]) -> list[Booking]:
    """The schedule less the bookings a sender gives back ((at in epoch seconds, parts), each once)."""
    left = list(history)
    for at, parts in given_back:
        booking = (round(at * 1000), parts)
        if booking in left:
            left.remove(booking)
    return left


def _earliest(booked: list[Booking], ready: int, need: int, rate: int, window: int) -> int:
    """The first moment from ``ready`` on where a send of ``need`` parts keeps the spacing to its
    neighbours and every window it falls in within the rate."""
    totals = [0, *accumulate(p for _, p in booked)]  # totals[i]: parts of booked[:i]

    def in_window(end: int, upto: int) -> int:
        """Parts booked in (end - window, end], of booked[:upto]."""
        return totals[upto] - totals[bisect_right(booked, (end - window, _AFTER))]

    at = ready
    while True:
        i = bisect_right(booked, (at, _AFTER))  # booked[:i] are at or before ``at``
        if i and at < booked[i - 1][0] + booked[i - 1][1] * 1000 // rate:
            at = booked[i - 1][0] + booked[i - 1][1] * 1000 // rate  # after the one before, spaced
            continue
        if i < len(booked) and booked[i][0] < at + need * 1000 // rate:
            at = booked[i][0] + booked[i][1] * 1000 // rate  # no room before the next: past it
            continue
        if in_window(at, i) + need > rate:
            # Wait until the oldest booking inside this window leaves it.
            at = booked[bisect_right(booked, (at - window, _AFTER))][0] + window
            continue
        # The windows ending at later bookings that this send would fall in.
        crowded = next(
            (
                k
                for k in range(i, bisect_left(booked, (at + window, 0)))
                if in_window(booked[k][0], k + 1) + need > rate
            ),
            None,
        )
        if crowded is not None:
            at = booked[crowded][0] + booked[crowded][1] * 1000 // rate
            continue
        return at


def largest_window_count(sends: Sequence[Booking], window_ms: int = 1000) -> int:
    """The most parts seen in any window ``[a, a + window)`` (benchmarks and tests)."""
    ordered = sorted(sends)
    best = total = 0
    start = 0
    for at, parts in ordered:
        total += parts
        while ordered[start][0] <= at - window_ms:
            total -= ordered[start][1]
            start += 1
        best = max(best, total)
    return best
