"""``Tallies`` on DynamoDB (the counters table): a feed adds its deltas to every counter it names
and writes its marker (``fed#<message>#<event>``, kept 14 days: longer than a stream keeps a
record) in one transaction conditional on the marker being new, so a replayed stream record
counts nothing. A funnel counter also carries its day (``funnel_day``, the sparse ``by_funnel_day``
index): a funnel query reads each day's counters, never the messages."""

from __future__ import annotations

import time
from datetime import date

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from ..domain.funnel import is_funnel_key, parse_key
from ..domain.tallies import FIELDS
from .models import CounterModel, TallyModel
from .pynamo import shared_connection

MARKER_DAYS = 14


class DynamoTallies:
    def feed(self, message_id: str, event: str, keys: list[str], deltas: dict[str, float]) -> bool:
        return self._apply(message_id, [event], keys, deltas)

    def feed_all(self, message_id: str, events: list[tuple[str, dict[str, float]]], keys: list[str]) -> int:
        """One stream record's feeds in one transaction (a marker each, their deltas summed on each
        counter); if one of the markers exists already (a replay, or a record half-applied before),
        feed by feed, so what is new still counts and what is not does not."""
        if len(events) > 1:
            summed: dict[str, float] = {}
            for _, deltas in events:
                for name, delta in deltas.items():
                    summed[name] = summed.get(name, 0) + delta
            if self._apply(message_id, [event for event, _ in events], keys, summed):
                return len(events)
        return sum(self._apply(message_id, [event], keys, deltas) for event, deltas in events)

    def _apply(self, message_id: str, events: list[str], keys: list[str], deltas: dict[str, float]) -> bool:
        expires = int(time.time()) + MARKER_DAYS * 86400
        actions: list[Action] = [getattr(TallyModel, name).add(delta) for name, delta in sorted(deltas.items())]
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                for event in events:
                    marker = CounterModel(f"fed#{message_id}#{event}", expires=expires)
                    tx.save(marker, condition=CounterModel.counter_id.does_not_exist())
                for key in keys:
                    day = [TallyModel.funnel_day.set(parse_key(key).day.isoformat())] if is_funnel_key(key) else []
                    tx.update(TallyModel(key), actions=[*actions, *day])
        except TransactWriteError as exc:
            reasons = (exc.cancellation_reasons or [])[: len(events)]
            if any(r is not None and getattr(r, "code", None) == "ConditionalCheckFailed" for r in reasons):
                return False
            raise
        return True

    def read(self, keys: list[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for item in TallyModel.batch_get(keys):
            out[item.counter_id] = _counts(item)
        return out

    def funnel_days(self, days: list[date]) -> list[tuple[str, dict[str, float]]]:
        out: list[tuple[str, dict[str, float]]] = []
        for day in days:
            for item in TallyModel.by_funnel_day.query(day.isoformat()):
                out.append((item.counter_id, _counts(item)))
        return out


def _counts(item: TallyModel) -> dict[str, float]:
    return {name: float(getattr(item, name) or 0) for name in FIELDS}
