"""The sender's pace on a provider: how far apart its slots are booked."""

from __future__ import annotations

from chalicelib.services.pacing import Pacer
from tests.fakes import FakeMessageStore, FakeSendGate


def pacer(max_wait: float = 15.0) -> Pacer:
    gate = FakeSendGate(FakeMessageStore(), {"p": 10})
    return Pacer(
        gate, log=lambda *a, **k: None, wall=lambda: 0.0, sleep=lambda s: None, max_wait=max_wait, late_margin=0.09
    )


def test_no_pace_before_enough_sends_for_a_median_then_the_median_with_headroom() -> None:
    p = pacer()
    assert p.pace_ms("p") == 0
    p.took("p", 2.0)  # a container's first call, loading the provider
    p.took("p", 0.3)
    assert p.pace_ms("p") == 0
    p.took("p", 0.25)
    assert p.pace_ms("p") == 360  # median 0.3 × 1.2
    for _ in range(5):
        p.took("p", 0.1)
    assert p.pace_ms("p") == 120  # the last five only


def test_never_so_slow_that_a_batch_of_ten_outlives_the_wait() -> None:
    p = pacer(max_wait=15.0)
    for _ in range(3):
        p.took("p", 4.0)
    assert p.pace_ms("p") == 1500
