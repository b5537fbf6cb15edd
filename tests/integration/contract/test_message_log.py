"""``MessageLog`` contract (the message log's store: ``domain/message_log.py``): a query's messages
newest first across its UTC days, each once, whatever the page size; the time range inclusive to
the second; filters within the range; a page that spends its read budget goes on where it stopped.
And handoff tickets paged newest first (``HandoffStore.page``), each once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.message_log import LogPosition, LogQuery
from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.domain.replies import HandoffTicket

DAY = datetime(2026, 11, 20, tzinfo=UTC)
WHOLE = LogQuery(DAY - timedelta(days=2), DAY + timedelta(days=2, seconds=-1))


@dataclass
class Log:
    create: Any
    log: Any


@pytest.fixture
def store(adapters: Any) -> Log:
    return Log(adapters.messages.create, adapters.message_log)


def a_message(n: int, at: datetime, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "message_id": f"msg-{n:04d}",
        "member_id": f"m-{n % 4}",
        "trigger": "welcome",
        "occurrence": f"o{n}",
        "channel": Channel.SMS,
        "provider": "sandbox",
        "text": "欢迎",
        "status": MessageStatus.DELIVERED,
        "created_at": at,
    }
    values.update(fields)
    return Message(**values)


def read_all(
    store: Log, query: LogQuery, limit: int, budget: int = 1000
) -> tuple[list[Message], list[LogPosition | None]]:
    taken: list[Message] = []
    positions: list[LogPosition | None] = []
    after: LogPosition | None = None
    for _ in range(200):
        page = store.log.page(query, after, limit, budget)
        assert len(page.messages) <= limit
        taken += page.messages
        positions.append(page.next)
        if page.next is None:
            return taken, positions
        after = page.next
    raise AssertionError("the pages never ended")


def test_pages_run_newest_first_across_days_each_message_once(store: Log) -> None:
    made = [a_message(n, DAY - timedelta(days=1) + timedelta(hours=5 * n)) for n in range(12)]
    for m in made:
        store.create(m)
    taken, positions = read_all(store, WHOLE, limit=5)
    assert [m.message_id for m in taken] == [m.message_id for m in reversed(made)]
    assert taken[0] == made[-1]  # read back whole
    assert len(positions) in (3, 4)  # 12 messages, 5 a page (a last empty page is allowed)


def test_the_time_range_is_inclusive_to_the_second_and_reads_only_its_days(store: Log) -> None:
    times = [DAY - timedelta(seconds=1), DAY, DAY + timedelta(hours=3), DAY + timedelta(hours=3, seconds=1)]
    for n, at in enumerate(times):
        store.create(a_message(n, at))
    query = LogQuery(DAY, DAY + timedelta(hours=3))
    taken, _ = read_all(store, query, limit=10)
    assert [m.message_id for m in taken] == ["msg-0002", "msg-0001"]


def test_filters_apply_within_the_range(store: Log) -> None:
    store.create(a_message(1, DAY, trigger="welcome"))
    store.create(a_message(2, DAY + timedelta(hours=1), trigger="campaign", campaign_id="spring"))
    failed = MessageStatus.FAILED
    store.create(a_message(3, DAY + timedelta(hours=2), trigger="campaign", campaign_id="autumn", status=failed))
    store.create(a_message(4, DAY + timedelta(hours=3), channel=Channel.IM, status=MessageStatus.SUPPRESSED))

    def ids(**filters: Any) -> list[str]:
        query = LogQuery(WHOLE.since, WHOLE.until, **filters)
        return [m.message_id for m in read_all(store, query, limit=2)[0]]

    assert ids(triggers=frozenset({"campaign"})) == ["msg-0003", "msg-0002"]
    assert ids(campaign="spring") == ["msg-0002"]
    assert ids(statuses=frozenset({"failed", "suppressed"})) == ["msg-0004", "msg-0003"]
    assert ids(channel="im") == ["msg-0004"]
    assert ids(triggers=frozenset({"welcome"}), channel="sms") == ["msg-0001"]


def test_messages_of_the_same_second_are_each_listed_once(store: Log) -> None:
    for n in range(7):
        store.create(a_message(n, DAY + timedelta(hours=1)))
    taken, _ = read_all(store, WHOLE, limit=3)
    assert sorted(m.message_id for m in taken) == [f"msg-{n:04d}" for n in range(7)]


def test_a_page_stops_at_its_read_budget_and_the_rest_follows(store: Log) -> None:
    for n in range(30):
        store.create(a_message(n, DAY + timedelta(minutes=n), trigger="welcome" if n not in (3, 27) else "winback_90d"))
    query = LogQuery(WHOLE.since, WHOLE.until, triggers=frozenset({"winback_90d"}))
    first = store.log.page(query, None, 10, 12)
    # Then at most the budget was read: the newest rare one (27) is there, the old one (3) not yet
    assert [m.message_id for m in first.messages] == ["msg-0027"]
    assert first.next is not None
    taken, _ = read_all(store, query, limit=10, budget=12)
    assert [m.message_id for m in taken] == ["msg-0027", "msg-0003"]


def test_a_budget_spent_between_days_goes_on_from_the_next_day(store: Log) -> None:
    store.create(a_message(1, DAY - timedelta(days=2)))
    for n in range(2, 6):
        store.create(a_message(n, DAY + timedelta(hours=n)))
    taken, _ = read_all(store, WHOLE, limit=10, budget=4)
    assert [m.message_id for m in taken] == ["msg-0005", "msg-0004", "msg-0003", "msg-0002", "msg-0001"]


# -- handoff pages -------------------------------------------------------------------------------------


def test_handoff_pages_run_newest_first_each_ticket_once(adapters: Any) -> None:
    handoffs = adapters.handoffs
    for n in range(7):
        at = DAY + timedelta(minutes=n // 2)  # pairs in the same second
        handoffs.open(HandoffTicket(f"h{n}", f"m-{n}", Channel.SMS, "售后", "open", at))
    handoffs.open(HandoffTicket("closed", "m-9", Channel.SMS, "售后", "closed", DAY))
    seen: list[str] = []
    after = None
    for _ in range(10):
        tickets, after = handoffs.page("open", 3, after)
        seen += [t.ticket_id for t in tickets]
        if after is None:
            break
    assert sorted(seen) == [f"h{n}" for n in range(7)] and len(seen) == 7
    assert seen[0] == "h6"


def test_the_last_handoff_page_says_so_and_a_position_resumes_after_its_ticket(adapters: Any) -> None:
    handoffs = adapters.handoffs
    for n in range(6):
        handoffs.open(HandoffTicket(f"h{n}", "m-1", Channel.SMS, "售后", "open", DAY + timedelta(minutes=n)))
    first, after = handoffs.page("open", 3)
    assert [t.ticket_id for t in first] == ["h5", "h4", "h3"]
    assert after is not None
    second, last = handoffs.page("open", 3, after)
    assert [t.ticket_id for t in second] == ["h2", "h1", "h0"]
    assert last is None
    assert handoffs.page("closed", 3) == ([], None)
