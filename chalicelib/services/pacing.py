"""Taking turns on a provider's rate: when each claimed send of a batch may go to its provider.

Without a rate for the provider a send has no slot: it goes as soon as the one before it is done,
so a slow provider is never "late". With one, the send gate booked the batch's slots (shared by
all senders, ``domain/ratelimit.py``) no closer together than a send to that provider has been
taking this sender — its PACE, the median of its last few sends, with headroom — so that it can
keep them; the other senders book into the gaps. A send that could not keep its slot all the same
(a slower answer, a pause) books a new one from when the sender is ready, giving the old slot back:
a send that left late could crowd a later one-second window. So do the batch's later sends that
the sender can no longer reach at its pace; the ones it can still reach keep their slots and go
first (slots given back that close ahead are too near for another sender to take: each would be a
slot of the rate lost).

A send that must wait longer than the sender may live (the rate booked far ahead, the sender's
time up) is handed back — with the rest of the batch for that provider, their slots given back —
for the send queue to bring again when its turn comes (services/sending.py: as a fresh message,
so that waiting never spends one of the queue's receives).
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ..ports import SendGate

Log = Callable[..., None]

MAX_REBOOKS = 3  # new slots a send may book before it is handed back
PACE_HEADROOM = 1.2  # slots are booked this much further apart than a send took so far
PACE_SAMPLES = 5  # the last sends whose median is the sender's pace


@dataclass
class Turn:
    """A claimed send waiting for its turn."""

    message_id: str
    provider: str
    parts: int
    slot: float | None  # when it may go (epoch seconds); None: no rate for its provider
    back_in: int | None = None  # handed back: seconds until the queue should bring it again
    reason: str = ""  # why it was handed back
    booked_again: int = 0  # new slots it has booked after missing one


class Step(Enum):
    """What became of a turn the sender waited for."""

    GO = "go"  # its slot has come: send it now
    LATER = "later"  # booked again behind some of the batch's other turns: take it up in slot order
    BACK = "back"  # handed back (``back_in`` set)


class Pacer:
    def __init__(
        self,
        gate: SendGate,
        *,
        log: Log,
        wall: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait: float,
        late_margin: float,
    ) -> None:
        self.gate = gate
        self.log = log
        self.wall = wall
        self.sleep = sleep
        self.max_wait = max_wait  # the longest a sender waits for a slot
        self.late_margin = late_margin  # ratelimit.LATE_ALLOWANCE_MS: within every schedule's margin
        self._took: dict[str, deque[float]] = {}  # provider → how long this sender's last sends took (s)
        self._booking = 0.05  # how long booking again took this sender last time (s)

    def pace_ms(self, provider: str) -> int:
        """How far apart this sender's slots at ``provider`` are booked with its claims: the median
        of its last sends there, with headroom, once it has made enough for a median (before that,
        the rate's own spacing: a container's first calls pay for loading the provider, and a
        missed slot costs one new booking, for what the sender cannot reach any more)."""
        took = self._took.get(provider)
        if not took or len(took) < PACE_SAMPLES // 2 + 1:
            return 0
        return self._capped(statistics.median(took))

    def _pace_again_ms(self, provider: str) -> int:
        """The spacing for sends booking again because one was late: the sender IS slower than
        the rate's spacing, so at least its quickest recent send, with headroom."""
        took = self._took.get(provider)
        return max(self.pace_ms(provider), self._capped(min(took)) if took else 0)

    def _capped(self, seconds: float) -> int:
        """With headroom; never so far apart that a batch of ten outlives ``max_wait``."""
        return int(min(seconds * PACE_HEADROOM, self.max_wait / 10) * 1000)

    def took(self, provider: str, seconds: float) -> None:
        """A send to ``provider`` took this sender ``seconds`` (from its turn to its outcome)."""
        self._took.setdefault(provider, deque(maxlen=PACE_SAMPLES)).append(seconds)

    def wait(self, turn: Turn, deadline: float, later: list[Turn]) -> Step:
        """Wait for ``turn``'s slot (``later``: the batch's turns after it, in slot order). Handing
        back sets ``back_in`` on the turns handed back, some of ``later`` perhaps among them."""
        if self.wall() > deadline:
            self._hand_back([turn, *later], "the sender's time was up", 1)
            return Step.BACK
        while turn.slot is not None:
            wait = turn.slot - self.wall()
            if turn.slot > deadline or wait > self.max_wait:
                same = [t for t in later if t.provider == turn.provider]
                self._hand_back([turn, *same], "waiting for the provider's rate", wait)
                return Step.BACK
            if wait > 0:
                self.sleep(wait)
            late = self.wall() - turn.slot
            if late <= self.late_margin:
                break
            if turn.booked_again >= MAX_REBOOKS:
                self._hand_back([turn], "missed its rate slot", 1)
                return Step.BACK
            self.log("missed its rate slot", message_id=turn.message_id, late_ms=int(late * 1000))
            self._book_again(turn, [t for t in later if t.provider == turn.provider and t.back_in is None])
            if any(t.slot is not None and t.back_in is None and t.slot < turn.slot for t in later):
                return Step.LATER
        if self.wall() > deadline:
            self._hand_back([turn, *later], "the sender's time was up", 1)
            return Step.BACK
        return Step.GO

    def _book_again(self, turn: Turn, after: list[Turn]) -> None:
        """A new slot for ``turn``, and for each of ``after`` (the batch's later turns at the same
        provider, in slot order) that the sender cannot reach any more at its pace; the others keep
        theirs, and the new slots are booked from when the sender is done with them."""
        provider = turn.provider
        pace = self._pace_again_ms(provider) / 1000
        ready = self.wall() + self._booking
        again = [turn]
        for t in after:
            if t.slot is not None and t.slot + self.late_margin >= ready:
                ready = t.slot + pace  # kept: the sender is busy with it until then
            else:
                again.append(t)
        started = self.wall()
        slots = self.gate.book(
            provider,
            [t.parts for t in again],
            started,
            pace_ms=int(pace * 1000),
            release=[(t.slot, t.parts) for t in again if t.slot is not None],
            ready=ready,
        )
        self._booking = self.wall() - started
        for t, slot in zip(again, slots, strict=True):
            t.slot = slot
            t.booked_again += 1

    def _hand_back(self, turns: list[Turn], reason: str, wait: float) -> None:
        """Hand ``turns`` back, their slots given back in one write per provider."""
        for provider in sorted({t.provider for t in turns if t.slot is not None}):
            given = [(t.slot, t.parts) for t in turns if t.provider == provider and t.slot is not None]
            self.gate.book(provider, [], self.wall(), release=given)
        for t in turns:
            t.back_in = max(int(max((t.slot or 0.0) - self.wall(), wait)) + 1, 1)
            t.reason = reason
