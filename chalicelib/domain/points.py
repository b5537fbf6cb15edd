"""Points accounting in lots: a credit opens a lot with its own expiry; a debit uses the lots that
expire first (then the ones that never expire), so members lose as few points as possible."""

from __future__ import annotations

from datetime import date

from .errors import ValidationFailed
from .model import PointsLot, PointsTxn

_NEVER = date.max


def apply_txn(lots: list[PointsLot], txn: PointsTxn) -> list[PointsLot]:
    """The lots after ``txn``. Raises ``ValidationFailed`` on a debit larger than the balance."""
    if txn.delta > 0:
        return [*lots, PointsLot(txn.txn_id, txn.delta, txn.expires_on)]
    owed = -txn.delta
    balance = sum(lot.remaining for lot in lots)
    if owed > balance:
        raise ValidationFailed({"delta": f"debit of {owed} exceeds the balance of {balance}"})
    result: list[PointsLot] = []
    for lot in sorted(lots, key=lambda lot: (lot.expires_on or _NEVER, lot.txn_id)):
        take = min(owed, lot.remaining)
        owed -= take
        if lot.remaining - take > 0:
            result.append(PointsLot(lot.txn_id, lot.remaining - take, lot.expires_on))
    return result


def expiring(lots: list[PointsLot]) -> list[PointsLot]:
    """Lots with points left and an expiry date, soonest first."""
    live = (lot for lot in lots if lot.expires_on and lot.remaining > 0)
    return sorted(live, key=lambda lot: lot.expires_on or _NEVER)
