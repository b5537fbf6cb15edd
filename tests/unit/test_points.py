"""Points in lots: credits open lots; debits spend the soonest-expiring first, then the non-expiring."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.model import PointsLot, PointsTxn
from chalicelib.domain.points import apply_txn, expiring
from tests.fakes import NOW


def txn(txn_id: str, delta: int, expires_on: date | None = None) -> PointsTxn:
    return PointsTxn("m-1", txn_id, delta, "test", expires_on, NOW)


def test_credit_opens_a_lot_with_its_own_expiry() -> None:
    lots = apply_txn([], txn("t1", 100, date(2027, 6, 30)))
    assert lots == [PointsLot("t1", 100, date(2027, 6, 30))]
    lots = apply_txn(lots, txn("t2", 5))
    assert lots == [PointsLot("t1", 100, date(2027, 6, 30)), PointsLot("t2", 5, None)]


def test_debit_spends_the_earliest_expiry_first_then_the_non_expiring() -> None:
    # Given a non-expiring lot and two expiring lots, added out of expiry order
    lots = [
        PointsLot("never", 50, None),
        PointsLot("late", 30, date(2027, 12, 31)),
        PointsLot("soon", 20, date(2027, 1, 31)),
    ]
    # When 60 points are spent
    after = apply_txn(lots, txn("d1", -60))
    # Then "soon" (20) and "late" (30) are used up first, then 10 of "never"
    assert after == [PointsLot("never", 40, None)]


def test_debit_partially_uses_the_soonest_lot() -> None:
    lots = [PointsLot("late", 30, date(2027, 12, 31)), PointsLot("soon", 20, date(2027, 1, 31))]
    assert apply_txn(lots, txn("d1", -5)) == [
        PointsLot("soon", 15, date(2027, 1, 31)),
        PointsLot("late", 30, date(2027, 12, 31)),
    ]


def test_debit_of_exactly_the_balance_empties_every_lot() -> None:
    lots = [PointsLot("a", 30, None), PointsLot("b", 20, date(2027, 1, 31))]
    assert apply_txn(lots, txn("d1", -50)) == []


def test_over_debit_raises_naming_delta() -> None:
    lots = [PointsLot("a", 30, None)]
    with pytest.raises(ValidationFailed) as info:
        apply_txn(lots, txn("d1", -31))
    assert set(info.value.fields) == {"delta"}
    with pytest.raises(ValidationFailed):
        apply_txn([], txn("d1", -1))


def test_expiring_lists_only_dated_lots_with_points_soonest_first() -> None:
    lots = [
        PointsLot("never", 50, None),
        PointsLot("late", 30, date(2027, 12, 31)),
        PointsLot("soon", 20, date(2027, 1, 31)),
        PointsLot("empty", 0, date(2026, 12, 1)),
    ]
    assert [lot.txn_id for lot in expiring(lots)] == ["soon", "late"]


_expiry = st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)))


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(min_value=-500, max_value=500).filter(bool), _expiry), max_size=30))
def test_balance_is_the_sum_of_the_accepted_deltas_and_never_negative(steps: list[tuple[int, date | None]]) -> None:
    # Given any sequence of credits and debits (debits larger than the balance are refused)
    lots: list[PointsLot] = []
    accepted = 0
    for i, (delta, expires_on) in enumerate(steps):
        t = txn(f"t{i}", delta, expires_on if delta > 0 else None)
        balance = sum(lot.remaining for lot in lots)
        if delta < 0 and -delta > balance:
            with pytest.raises(ValidationFailed):
                apply_txn(lots, t)
            continue
        lots = apply_txn(lots, t)
        accepted += delta
        # Then after every step the balance equals the sum of accepted deltas, with no empty or negative lot
        assert sum(lot.remaining for lot in lots) == accepted
        assert all(lot.remaining > 0 for lot in lots)
    assert accepted >= 0
