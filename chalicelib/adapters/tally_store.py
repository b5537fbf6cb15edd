"""``Tallies`` on DynamoDB (the counters table): a feed adds its deltas to every counter it names
and writes its marker (``fed#<message>#<event>``, kept 14 days: longer than a stream keeps a
record) in one transaction conditional on the marker being new, so a replayed stream record
counts nothing."""

from __future__ import annotations

import time

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..domain.tallies import FIELDS
from .models import CounterModel, TallyModel
from .pynamo import shared_connection

MARKER_DAYS = 14


class DynamoTallies:
    def feed(self, message_id: str, event: str, keys: list[str], deltas: dict[str, float]) -> bool:
        marker = CounterModel(f"fed#{message_id}#{event}", expires=int(time.time()) + MARKER_DAYS * 86400)
        actions: list[Action] = [getattr(TallyModel, name).add(delta) for name, delta in sorted(deltas.items())]
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                tx.save(marker, condition=CounterModel.counter_id.does_not_exist())
                for key in keys:
                    tx.update(TallyModel(key), actions=actions)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and reasons[0] is not None and getattr(reasons[0], "code", None) == "ConditionalCheckFailed":
                return False
            raise
        return True

    def read(self, keys: list[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for item in TallyModel.batch_get(keys):
            out[item.counter_id] = {name: float(getattr(item, name) or 0) for name in FIELDS}
        return out
