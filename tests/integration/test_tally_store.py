"""DynamoTallies on moto, what is its own: a stream batch's feeds go in as few transactions as fit.
(Each feed once, replays counting nothing: tests/integration/contract/test_campaign_stores.py.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.adapters.tally_store import MAX_ITEMS, DynamoTallies

pytestmark = pytest.mark.integration

KEYS = ["campaign#c1#a", "funnel#2026-11-22#campaign#c1#a#sms"]


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of items of every TransactWriteItems call made (successful or cancelled)."""
    from pynamodb.connection.base import Connection

    calls: list[int] = []
    real: Callable[..., Any] = Connection.transact_write_items

    def counting(self: Connection, *args: Any, **kwargs: Any) -> Any:
        calls.append(sum(len(kwargs.get(k) or ()) for k in ("condition_check_items", "put_items", "update_items")))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", counting)
    yield calls


@pytest.mark.usefixtures("aws")
def test_a_campaigns_stream_batch_is_two_transactions_not_a_hundred(transactions: list[int]) -> None:
    batch = [(f"msg-{i}", [("sent", {"sent": 1})], KEYS) for i in range(100)]
    assert DynamoTallies().feed_many(batch) == [1] * 100
    assert len(transactions) == 2  # 98 markers + the 2 counters, then the last 2 markers + the 2 counters
    assert all(items <= MAX_ITEMS for items in transactions)
    assert DynamoTallies().read(KEYS)[KEYS[0]]["sent"] == 100


@pytest.mark.usefixtures("aws")
def test_a_replayed_record_in_the_batch_sends_its_group_record_by_record(transactions: list[int]) -> None:
    tallies = DynamoTallies()
    assert tallies.feed_all("msg-3", [("sent", {"sent": 1})], KEYS) == 1
    transactions.clear()
    batch = [(f"msg-{i}", [("sent", {"sent": 1})], KEYS) for i in range(10)]
    assert tallies.feed_many(batch) == [1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
    assert len(transactions) == 1 + 10  # the group refused, then each record alone
    assert tallies.read(KEYS)[KEYS[1]]["sent"] == 10
