"""``SendGate`` contract: a claim is exclusive (taken over only with the old token, never on a
finished or unknown message); marketing messages count against their cap periods once per message
id, in the order given; slots keep each provider's rate in parts per second."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.domain.ratelimit import largest_window_count
from chalicelib.ports import ClaimRequest

from .conftest import Kind

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
WALL = NOW.timestamp()
WEEK = "cap#m-1#week#2026-W47"
MONTH = "cap#m-1#month#2026-11"
CAPS = ((WEEK, 2), (MONTH, 6))


def stored(adapters: Any, message_id: str, member_id: str = "m-1", status: MessageStatus = MessageStatus.QUEUED) -> str:
    message = Message(
        message_id, member_id, "new_arrivals", message_id, Channel.SMS, "sandbox", "新品到店啦", status, NOW,
        rule_class="marketing",
    )  # fmt: skip
    assert adapters.messages.create(message)
    return message_id


def request(
    message_id: str,
    claim: str,
    *,
    periods: tuple[tuple[str, int], ...] = (),
    parts: int = 1,
    takeover: str | None = None,
    provider: str = "sandbox",
) -> ClaimRequest:
    return ClaimRequest(message_id, claim, provider, parts, periods, takeover)


# -- claims --------------------------------------------------------------------------------------------


def test_a_claim_is_exclusive(kind: Kind) -> None:
    store, gate = kind.adapters.messages, kind.send_gate({})
    mid = stored(kind.adapters, "m-a")
    first = gate.claim([request(mid, "c1")], NOW, WALL)
    assert mid in first.slots and not first.lost and not first.full
    message = store.get(mid)
    assert (message.claim, message.attempts, message.claimed_at) == ("c1", 1, NOW)
    second = gate.claim([request(mid, "c2")], NOW, WALL + 1)
    assert second.lost == {mid} and second.slots == {}
    assert store.get(mid).claim == "c1"


def test_a_takeover_needs_the_old_token(kind: Kind) -> None:
    gate = kind.send_gate({})
    mid = stored(kind.adapters, "m-a")
    gate.claim([request(mid, "c1")], NOW, WALL)
    assert gate.claim([request(mid, "c2", takeover="c-wrong")], NOW, WALL + 200).lost == {mid}
    assert mid in gate.claim([request(mid, "c3", takeover="c1")], NOW, WALL + 200).slots
    message = kind.adapters.messages.get(mid)
    assert (message.claim, message.attempts) == ("c3", 2)


def test_a_finished_or_unknown_message_cannot_be_claimed(kind: Kind) -> None:
    sent = stored(kind.adapters, "m-sent", status=MessageStatus.SENT)
    result = kind.send_gate({}).claim([request(sent, "c1"), request("m-missing", "c2")], NOW, WALL)
    assert result.lost == {sent, "m-missing"} and result.slots == {}


def test_a_lost_claim_does_not_stop_the_rest_of_the_batch(kind: Kind) -> None:
    gate = kind.send_gate({})
    taken, free = stored(kind.adapters, "m-taken"), stored(kind.adapters, "m-free", "m-2")
    gate.claim([request(taken, "c0")], NOW, WALL)
    result = gate.claim([request(taken, "c1"), request(free, "c2")], NOW, WALL)
    assert result.lost == {taken} and set(result.slots) == {free}


# -- caps ----------------------------------------------------------------------------------------------


def test_caps_count_each_message_once_and_report_the_full_period(kind: Kind) -> None:
    store, gate = kind.adapters.messages, kind.send_gate({})
    a, b, c = (stored(kind.adapters, mid) for mid in ("m-a", "m-b", "m-c"))
    assert a in gate.claim([request(a, "c1", periods=CAPS)], NOW, WALL).slots
    # A retry of the same message (its claim given up after a 429) counts no second time
    assert store.unclaim(a, "c1", "retrying")
    assert a in gate.claim([request(a, "c2", periods=CAPS)], NOW, WALL).slots
    assert b in gate.claim([request(b, "c3", periods=CAPS)], NOW, WALL).slots
    full = gate.claim([request(c, "c4", periods=CAPS)], NOW, WALL)
    assert full.full == {c: WEEK} and full.slots == {} and not full.lost
    assert store.get(c).claim is None  # not claimed
    # A message already counted still gets through a full period (its retry)
    assert store.unclaim(b, "c3", "retrying")
    assert b in gate.claim([request(b, "c5", periods=CAPS)], NOW, WALL).slots


def test_the_month_can_be_the_full_period(kind: Kind) -> None:
    gate = kind.send_gate({})
    ids = [stored(kind.adapters, f"m-{i}") for i in range(3)]
    for i, mid in enumerate(ids[:2]):
        week = (f"cap#m-1#week#2026-W{44 + i}", 2)
        assert mid in gate.claim([request(mid, f"c{i}", periods=(week, (MONTH, 2)))], NOW, WALL).slots
    result = gate.claim([request(ids[2], "c9", periods=((WEEK, 2), (MONTH, 2)))], NOW, WALL)
    assert result.full == {ids[2]: MONTH}


def test_the_earlier_request_wins_the_last_place(kind: Kind) -> None:
    """The sender orders a batch by rule priority; the gate keeps that order for one counter."""
    gate = kind.send_gate({})
    gate.claim([request(stored(kind.adapters, "m-0"), "c0", periods=CAPS)], NOW, WALL)
    high, low = stored(kind.adapters, "m-high"), stored(kind.adapters, "m-low")
    result = gate.claim([request(high, "c1", periods=CAPS), request(low, "c2", periods=CAPS)], NOW, WALL)
    assert set(result.slots) == {high} and result.full == {low: WEEK}


def test_ten_marketing_messages_for_one_member_in_one_batch_are_all_decided(kind: Kind) -> None:
    ids = [stored(kind.adapters, f"m-{i}") for i in range(10)]
    result = kind.send_gate({}).claim([request(mid, f"c{i}", periods=CAPS) for i, mid in enumerate(ids)], NOW, WALL)
    assert set(result.slots) == set(ids[:2])
    assert result.full == dict.fromkeys(ids[2:], WEEK)


def test_other_members_caps_are_their_own(kind: Kind) -> None:
    gate = kind.send_gate({})
    caps_2 = (("cap#m-2#week#2026-W47", 2), ("cap#m-2#month#2026-11", 6))
    ids = [stored(kind.adapters, f"m-{i}") for i in range(2)]
    gate.claim([request(mid, f"c{i}", periods=CAPS) for i, mid in enumerate(ids)], NOW, WALL)
    other = stored(kind.adapters, "m-other", "m-2")
    assert other in gate.claim([request(other, "c9", periods=caps_2)], NOW, WALL).slots


# -- the rate schedule ---------------------------------------------------------------------------------


def test_slots_keep_the_providers_rate_in_parts(kind: Kind) -> None:
    gate = kind.send_gate({"sandbox": 5})
    ids = [stored(kind.adapters, f"p-{i}", f"mp-{i}") for i in range(6)]
    result = gate.claim([request(mid, f"c{i}", parts=3) for i, mid in enumerate(ids)], NOW, WALL)
    assert set(result.slots) == set(ids)
    sends = [(round(result.slots[mid] * 1000), 3) for mid in ids]
    assert largest_window_count(sends) <= 5
    assert min(result.slots.values()) >= WALL
    # A later booking may go between (the gaps a batch's spacing leaves), within the rate
    later = gate.book("sandbox", [1, 1], WALL)
    assert all(t is not None and t >= WALL for t in later)
    assert largest_window_count([*sends, *((round(t * 1000), 1) for t in later)]) <= 5


def test_a_provider_without_a_configured_rate_gets_no_slot_so_it_is_never_late(kind: Kind) -> None:
    mid = stored(kind.adapters, "m-a")
    gate = kind.send_gate({"other": 5})
    assert gate.claim([request(mid, "c1")], NOW, WALL).slots == {mid: None}
    assert gate.book("sandbox", [1, 2], WALL) == [None, None]


def test_a_senders_slots_are_at_least_its_pace_apart(kind: Kind) -> None:
    gate = kind.send_gate({"sandbox": 20})
    ids = [stored(kind.adapters, f"p-{i}", f"mp-{i}") for i in range(4)]
    requests = [ClaimRequest(mid, f"c{i}", "sandbox", 1, pace_ms=250) for i, mid in enumerate(ids)]
    slots = sorted(s for s in gate.claim(requests, NOW, WALL).slots.values() if s is not None)
    assert len(slots) == 4
    assert all(later - earlier >= 0.25 - 1e-6 for earlier, later in itertools.pairwise(slots))
    again = gate.book("sandbox", [1, 1], WALL, pace_ms=400)
    assert again[1] is not None and again[0] is not None and again[1] - again[0] >= 0.4 - 1e-6


def test_slots_given_back_are_booked_again(kind: Kind) -> None:
    gate = kind.send_gate({"sandbox": 1})
    ids = [stored(kind.adapters, f"p-{i}", f"mp-{i}") for i in range(2)]
    first = gate.claim([request(mid, f"c{i}") for i, mid in enumerate(ids)], NOW, WALL)
    held = sorted((s, 1) for s in first.slots.values() if s is not None)
    # Both given back: at a rate of one a second, the first new slot comes before the last old one
    again = gate.book("sandbox", [1, 1], WALL, release=held)
    assert again[0] is not None and again[0] < held[-1][0]
    # Not given back, they stay booked: the next slot comes after them
    later = gate.book("sandbox", [1], WALL)
    assert later[0] is not None and later[0] > max(s for s in again if s is not None)


def test_a_sender_busy_until_later_books_from_then_and_the_bookings_before_stay(kind: Kind) -> None:
    """``ready`` 5 s ahead (a sender keeping its slots until then): the new slot is there, and what
    others booked between now and then is still booked — the next sender does not land on it."""
    gate = kind.send_gate({"sandbox": 10})
    others = [t for t in gate.book("sandbox", [1] * 40, WALL) if t is not None]  # the next 4 s
    busy = gate.book("sandbox", [1], WALL, ready=WALL + 5)
    assert busy[0] is not None and busy[0] >= WALL + 5
    nxt = gate.book("sandbox", [1] * 5, WALL)
    every = [*others, *busy, *nxt]
    assert all(t is not None for t in every)
    assert largest_window_count([(round(t * 1000), 1) for t in every if t is not None]) <= 10
