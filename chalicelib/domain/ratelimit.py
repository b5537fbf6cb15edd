"""Provider throughput: a sliding-window schedule in message PARTS per second. Pure.

Every sender Lambda books its sends on one shared schedule per provider (kept in DynamoDB by the
send gate, updated with a conditional write): each send gets a moment ``at`` (integer ms) such that
the parts booked in the window ``(at - window, at]`` plus its own never exceed the rate, and sends
are spaced by the time their parts take at the rate (no bursts). Because a window of
``1 s + margin`` holds at most ``rate`` parts, every one-second window does too, even when a send
leaves up to ``margin`` late; a sender that would be later than that books again
(services/sending.py). A send of more parts than the whole rate goes alone in its window.

The schedule keeps only the bookings of the last window, so it stays small (≤ rate entries).
"""

from __future__ import annotations

from collections.abc import Sequence

Booking = tuple[int, int]  # (at ms since the epoch, parts)

DEFAULT_MARGIN_MS = 100


def book(
    history: Sequence[Booking],
    parts: Sequence[int],
    now_ms: int,
    rate: int,
    margin_ms: int = DEFAULT_MARGIN_MS,
) -> tuple[list[int], list[Booking]]:
    """Book one send per entry of ``parts`` after everything already booked. Returns the send
    moments (ms, non-decreasing, none before ``now_ms``) and the history to store (the bookings
    still inside the window of the last moment)."""
    if rate < 1:
        raise ValueError("rate must be at least 1 part per second")
    window = 1000 + margin_ms
    booked = sorted(history)
    at = now_ms
    times: list[int] = []
    for p in parts:
        need = min(max(p, 1), rate)  # an over-long send goes alone in its window
        if booked:
            # Spaced, not bursts: after the last booking, the time its parts take at the rate.
            last_at, last_parts = booked[-1]
            at = max(at, last_at + (last_parts * 1000) // rate)
        while True:
            inside = [b for b in booked if b[0] > at - window]
            if sum(b[1] for b in inside) + need <= rate:
                break
            # Wait until the oldest booking inside the window leaves it.
            at = inside[0][0] + window
        booked.append((at, need))
        times.append(at)
    keep = [b for b in booked if b[0] > at - window]
    return times, keep


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
