"""``TimerStore`` contract: one slot per member and key; a write makes the slot pending at its
firing time (its due time, or a minute after the write when later); finishing needs the slot
pending with that occurrence and remembers it; the ``due`` index lists pending slots firing in
(after, until] at second precision; the sweep's watermark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.timers import Timer
from chalicelib.ports import StoredTimer

from .conftest import Kind

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
FACTS = {
    "child": {"name": "乐乐", "age": 6, "birthday": "2026-12-04", "gender": "boy"},
    "picks": ["积木", "拼图"],
    "order": {"id": "o-1", "products": []},
    "points": {"delta": -30, "balance": 120},
    "none": None,
}


def timer(
    key: str = "child_birthday#child0", occurrence: str = "0:乐乐:2026", due: datetime = T0, **facts: Any
) -> Timer:
    return Timer("m-1", key, key.split("#")[0], occurrence, due, facts or FACTS)


def pending(t: Timer, fired: tuple[str, ...] = ()) -> StoredTimer:
    return StoredTimer(t, "pending", fired=fired)


def due(store: Any, after: datetime, until: datetime) -> list[tuple[str, str]]:
    return list(store.due(after, until))


class TestSlots:
    def test_a_written_timer_reads_back_equal(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer(), fired=("0:乐乐:2025",))], T0 - timedelta(days=3))
        assert store.get("m-1", "child_birthday#child0") == StoredTimer(timer(), "pending", None, ("0:乐乐:2025",))
        assert store.get("m-1", "none") is None

    def test_for_member_lists_the_members_slots_in_key_order(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer("points_expiring#t-2")), pending(timer("dormant_45d#last_purchase"))], T0)
        store.put([pending(Timer("m-2", "dormant_45d#last_purchase", "dormant_45d", "x", T0))], T0)
        assert [t.timer.key for t in store.for_member("m-1")] == ["dormant_45d#last_purchase", "points_expiring#t-2"]
        assert store.for_member("m-none") == []

    def test_a_write_replaces_what_held_the_slot(self, kind: Kind) -> None:
        store = kind.timer_store()
        key = "dormant_45d#last_purchase"
        store.put([pending(timer(key, "2026-10-01"))], T0)
        store.finish("m-1", key, "2026-10-01", "dropped", "bought again", T0)
        moved = timer(key, "2026-11-20", T0 + timedelta(days=45), days=45)
        store.put([pending(moved, fired=("2026-10-01",))], T0)
        assert store.get("m-1", key) == StoredTimer(moved, "pending", None, ("2026-10-01",))

    def test_the_due_time_is_kept_at_second_precision(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer(due=T0 + timedelta(seconds=5, microseconds=700_000)))], T0)
        assert store.get("m-1", "child_birthday#child0").timer.due_at == T0 + timedelta(seconds=5)

    def test_reads_are_copies(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer())], T0)
        got = store.get("m-1", "child_birthday#child0")
        got.timer.facts["child"]["name"] = "changed"
        got.timer.facts["picks"].append("changed")
        assert store.get("m-1", "child_birthday#child0").timer.facts == FACTS

    def test_delete_empties_the_slots(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer("a#1")), pending(timer("b#1"))], T0)
        store.delete("m-1", ["a#1", "missing#1"])
        assert [t.timer.key for t in store.for_member("m-1")] == ["b#1"]
        assert due(store, T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == [("m-1", "b#1")]


class TestFinish:
    def test_finish_marks_the_slot_and_remembers_the_occurrence(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer(), fired=("0:乐乐:2025",))], T0 - timedelta(days=1))
        assert store.finish("m-1", "child_birthday#child0", "0:乐乐:2026", "fired", None, T0) is True
        got = store.get("m-1", "child_birthday#child0")
        assert (got.status, got.reason, got.fired) == ("fired", None, ("0:乐乐:2025", "0:乐乐:2026"))

    def test_a_dropped_timer_keeps_its_reason(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer())], T0)
        assert store.finish(
            "m-1", "child_birthday#child0", "0:乐乐:2026", "dropped", "child no longer on the profile", T0
        )
        got = store.get("m-1", "child_birthday#child0")
        assert (got.status, got.reason) == ("dropped", "child no longer on the profile")

    def test_finish_needs_the_occurrence_and_a_pending_slot(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put([pending(timer())], T0)
        assert store.finish("m-1", "child_birthday#child0", "0:乐乐:2027", "fired", None, T0) is False
        assert store.finish("m-1", "child_birthday#child0", "0:乐乐:2026", "fired", None, T0) is True
        assert store.finish("m-1", "child_birthday#child0", "0:乐乐:2026", "fired", None, T0) is False
        assert store.finish("m-1", "missing#1", "x", "fired", None, T0) is False
        assert store.get("m-1", "child_birthday#child0").fired == ("0:乐乐:2026",)


class TestDueIndex:
    def test_a_pending_timer_is_due_in_the_sweep_that_reaches_its_time(self, kind: Kind) -> None:
        store = kind.timer_store()
        at = T0 + timedelta(hours=3, minutes=30)
        store.put([pending(timer(due=at))], T0)
        assert due(store, T0, at - timedelta(seconds=1)) == []
        assert due(store, at - timedelta(seconds=1), at) == [("m-1", "child_birthday#child0")]
        assert due(store, at, at + timedelta(hours=1)) == []  # (after, until]: swept once

    def test_sweeps_read_at_second_precision(self, kind: Kind) -> None:
        store = kind.timer_store()
        at = T0 + timedelta(minutes=5, seconds=7)
        store.put([pending(timer(due=at + timedelta(microseconds=600_000)))], T0)
        assert due(store, T0, at - timedelta(microseconds=1)) == []
        assert due(store, T0, at) == [("m-1", "child_birthday#child0")]
        assert due(store, at + timedelta(microseconds=900_000), T0 + timedelta(hours=1)) == []

    def test_a_sweep_over_many_hours_lists_in_firing_order(self, kind: Kind) -> None:
        store = kind.timer_store()
        times = [T0 + timedelta(hours=h, minutes=m) for h, m in ((5, 0), (1, 30), (26, 10), (1, 5))]
        store.put([pending(timer(f"r#{i}", due=at)) for i, at in enumerate(times)], T0)
        assert due(store, T0, T0 + timedelta(days=2)) == [("m-1", k) for k in ("r#3", "r#1", "r#0", "r#2")]
        assert due(store, T0 + timedelta(hours=1, minutes=5), T0 + timedelta(hours=5)) == [
            ("m-1", "r#1"),
            ("m-1", "r#0"),
        ]

    def test_a_timer_already_due_when_written_fires_a_minute_after_the_write(self, kind: Kind) -> None:
        store = kind.timer_store()
        written = T0 + timedelta(hours=2)
        store.put([pending(timer(due=T0))], written)
        assert due(store, T0 - timedelta(hours=1), written) == []
        assert due(store, written, written + timedelta(minutes=1)) == [("m-1", "child_birthday#child0")]

    def test_finished_deleted_and_replaced_timers_leave_the_index(self, kind: Kind) -> None:
        store = kind.timer_store()
        store.put(
            [pending(timer("a#1")), pending(timer("b#1")), pending(timer("c#1", due=T0 + timedelta(hours=1)))], T0
        )
        store.finish("m-1", "a#1", "0:乐乐:2026", "fired", None, T0)
        store.delete("m-1", ["b#1"])
        store.put([pending(timer("c#1", due=T0 + timedelta(days=3)))], T0)
        assert due(store, T0 - timedelta(hours=1), T0 + timedelta(days=1)) == []
        assert due(store, T0 + timedelta(days=1), T0 + timedelta(days=4)) == [("m-1", "c#1")]

    def test_a_timer_written_after_the_sweep_passed_its_time_is_found_by_the_next(self, kind: Kind) -> None:
        # A stream record created at 10:50 but handled at 11:05, after the 11:00 sweep, carries a
        # timer that was already due: it must fire after the write, not at the record's 10:51,
        # behind the watermark where no sweep would ever read it again.
        handled = datetime(2026, 11, 22, 11, 5, tzinfo=UTC)
        store = kind.timer_store(wall=lambda: handled)
        sweep = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
        store.set_watermark(sweep)
        store.put(
            [pending(timer(due=datetime(2026, 11, 21, 2, 0, tzinfo=UTC)))], datetime(2026, 11, 22, 10, 50, tzinfo=UTC)
        )
        assert due(store, sweep, datetime(2026, 11, 22, 12, 0, tzinfo=UTC)) == [("m-1", "child_birthday#child0")]


class TestWatermark:
    def test_none_until_set_then_the_last_one_at_second_precision(self, kind: Kind) -> None:
        store = kind.timer_store()
        assert store.watermark() is None
        store.set_watermark(T0)
        store.set_watermark(T0 + timedelta(minutes=1, microseconds=250_000))
        assert store.watermark() == T0 + timedelta(minutes=1)
