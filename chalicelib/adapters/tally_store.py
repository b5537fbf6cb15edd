"""``Tallies`` on DynamoDB (the counters table): a feed adds its deltas to every counter it names
and writes its marker (``fed#<message>#<event>``, kept 14 days: longer than a stream keeps a
record) in one transaction conditional on the marker being new, so a replayed stream record
counts nothing. A funnel counter also carries its day (``funnel_day``, the sparse ``by_funnel_day``
index): a funnel query reads each day's counters, never the messages.

A stream batch's records are fed together (``feed_many``): as many as fit in one transaction
(DynamoDB's 100 items: a marker per feed, each counter once with the batch's deltas summed). A
campaign's messages share their counters (its arm, its day's funnel), so a batch of a hundred
records is two transactions, not a hundred, and each counter is written once per transaction, not
once per message. A transaction that finds a marker already there (a replayed record) or fails
goes record by record, each with its own outcome, so what is new still counts, once."""

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
MAX_ITEMS = 100  # DynamoDB's limit on one transaction

Change = tuple[str, list[tuple[str, dict[str, float]]], list[str]]  # (message id, its feeds, its counters)


class DynamoTallies:
    def feed(self, message_id: str, event: str, keys: list[str], deltas: dict[str, float]) -> bool:
        return self._apply_group([(message_id, [(event, deltas)], keys)])

    def feed_all(self, message_id: str, events: list[tuple[str, dict[str, float]]], keys: list[str]) -> int:
        """One stream record's feeds in one transaction (a marker each, their deltas summed on each
        counter); if one of the markers exists already (a replay, or a record half-applied before),
        feed by feed, so what is new still counts and what is not does not."""
        if len(events) > 1 and self._apply_group([(message_id, events, keys)]):
            return len(events)
        return sum(self.feed(message_id, event, keys, deltas) for event, deltas in events)

    def feed_many(self, changes: list[Change]) -> list[int | Exception]:
        """Many messages' feeds (a stream batch, in order) in as few transactions as fit; per change,
        how many of its feeds were new, or what kept it from being counted."""
        results: list[int | Exception] = [0] * len(changes)
        for group in _groups(changes):
            try:
                if self._apply_group([changes[i] for i in group]):
                    for i in group:
                        results[i] = len(changes[i][1])
                    continue
            except TransactWriteError:
                pass  # a conflict or a throttle: record by record below, each with its own outcome
            for i in group:
                message_id, events, keys = changes[i]
                try:
                    results[i] = self.feed_all(message_id, events, keys)
                except Exception as exc:
                    results[i] = exc
        return results

    def _apply_group(self, changes: list[Change]) -> bool:
        """One transaction: every feed's marker, each counter once with its summed deltas. False
        when a marker was there already."""
        expires = int(time.time()) + MARKER_DAYS * 86400
        summed: dict[str, dict[str, float]] = {}
        markers = 0
        for _, events, keys in changes:
            for key in keys:
                counter = summed.setdefault(key, {})
                for _, deltas in events:
                    for name, delta in deltas.items():
                        counter[name] = counter.get(name, 0) + delta
        try:
            with TransactWrite(connection=shared_connection()) as tx:
                for message_id, events, _ in changes:
                    for event, _ in events:
                        marker = CounterModel(f"fed#{message_id}#{event}", expires=expires)
                        tx.save(marker, condition=CounterModel.counter_id.does_not_exist())
                        markers += 1
                for key, deltas in summed.items():
                    actions: list[Action] = [
                        getattr(TallyModel, name).add(delta) for name, delta in sorted(deltas.items())
                    ]
                    day = [TallyModel.funnel_day.set(parse_key(key).day.isoformat())] if is_funnel_key(key) else []
                    tx.update(TallyModel(key), actions=[*actions, *day])
        except TransactWriteError as exc:
            reasons = (exc.cancellation_reasons or [])[:markers]
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


def _groups(changes: list[Change]) -> list[list[int]]:
    """The changes with feeds, in order, in groups that fit one transaction: a marker per feed
    and each counter once, no marker twice (a message's event seen twice in one batch)."""
    groups: list[list[int]] = []
    group: list[int] = []
    markers: set[str] = set()
    keys: set[str] = set()
    for i, (message_id, events, change_keys) in enumerate(changes):
        if not events:
            continue
        mine = {f"{message_id}#{event}" for event, _ in events}
        items = len(markers) + len(mine) + len(keys | set(change_keys))
        if group and (items > MAX_ITEMS or markers & mine):
            groups.append(group)
            group, markers, keys = [], set(), set()
        group.append(i)
        markers |= mine
        keys |= set(change_keys)
    if group:
        groups.append(group)
    return groups


def _counts(item: TallyModel) -> dict[str, float]:
    return {name: float(getattr(item, name) or 0) for name in FIELDS}
