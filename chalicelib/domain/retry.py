"""How long a failed send waits before SQS offers it again: exponential backoff with jitter. Pure.

``attempt`` is SQS's ApproximateReceiveCount (1 on the first delivery). The wait doubles from
``base`` up to ``cap`` and a random share of it ("equal jitter": half fixed, half random) spreads
retries so a provider's 429 is not answered by a synchronized stampede. A provider's own
Retry-After is a floor. SQS caps a visibility timeout at 12 hours.
"""

from __future__ import annotations

import random
from collections.abc import Callable

SQS_MAX_VISIBILITY = 43_200


def backoff_seconds(
    attempt: int,
    *,
    base: float = 5.0,
    cap: float = 900.0,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> int:
    exp = min(cap, base * 2 ** max(attempt - 1, 0))
    wait = exp / 2 + rand() * exp / 2
    if retry_after is not None:
        wait = max(wait, retry_after)
    return int(min(max(wait, 1.0), SQS_MAX_VISIBILITY))
