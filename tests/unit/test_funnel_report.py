"""``GET /v1/analytics/funnel`` over the counters the messages stream feeds (services/tallies.py →
services/funnel.py, on fakes): a message's life lands in its funnel once, a replay of every stream
record changes no count, bad parameters are 400s naming them; ``memberpulse report`` prints the
API's rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from chalicelib import bootstrap
from chalicelib.domain.model import Channel, Message, MessageStatus
from chalicelib.handlers import http
from memberpulse_cli.report import funnel_table, reasons
from tests.unit.test_http_api import Api, assert_error

T = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def api() -> Iterator[Api]:
    http._KEY_CACHE.clear()
    world = Api()
    with bootstrap.using(world.app):
        yield world
    http._KEY_CACHE.clear()


def lives() -> list[tuple[Message | None, Message]]:
    """Stream records (old image, new image) of four messages: delivered and bought, read,
    suppressed for consent, deferred then sent; and an SMS instead of an unacknowledged IM."""
    base = Message("w1", "a", "welcome", "o", Channel.IM, "agora", "hi", MessageStatus.QUEUED, T)
    w1 = [base, replace(base, status=MessageStatus.SENT, sent_at=T)]
    w1.append(replace(w1[-1], status=MessageStatus.DELIVERED, delivered_at=T + timedelta(minutes=1)))
    w1.append(replace(w1[-1], converted_at=T + timedelta(hours=3), revenue=199.0, last_order="o1"))
    w2 = [replace(base, message_id="w2", member_id="b")]
    w2.append(replace(w2[-1], status=MessageStatus.READ, sent_at=T, read_at=T + timedelta(minutes=5)))
    w3 = [replace(base, message_id="w3", member_id="c", status=MessageStatus.SUPPRESSED, reason="no im consent")]
    w4 = [replace(base, message_id="w4", member_id="d", status=MessageStatus.DEFERRED, reason="quiet hours")]
    w4.append(replace(w4[-1], status=MessageStatus.QUEUED))
    w4.append(replace(w4[-1], status=MessageStatus.UNDELIVERED, sent_at=T + timedelta(hours=1)))
    sms = replace(base, message_id="w4#sms", member_id="d", channel=Channel.SMS, fallback_of="w4")
    w5 = [sms, replace(sms, status=MessageStatus.SENT, sent_at=T + timedelta(hours=2))]
    records: list[tuple[Message | None, Message]] = []
    for life in (w1, w2, w3, w4, w5):
        records += list(zip([None, *life[:-1]], life, strict=True))
    return records


def feed_all(api: Api) -> None:
    for old, new in lives():
        api.app.tallies.message_changed(old, new)


def test_a_messages_life_is_counted_once_in_its_funnel_and_a_replay_changes_nothing(api: Api) -> None:
    feed_all(api)
    path = "/v1/analytics/funnel?from=2026-11-28&to=2026-11-28&group_by=channel"
    first = api.call("GET", path).json_body
    assert {row["key"]: (row["targeted"], row["sent"]) for row in first} == {"im": (4, 3), "sms": (0, 1)}
    [im] = [row for row in first if row["key"] == "im"]
    assert (im["delivered"], im["read"], im["converted"], im["revenue"], im["deferred"]) == (2, 1, 1, 199.0, 1)
    assert im["suppressed"] == {"no_consent": 1}
    feed_all(api)  # every stream record delivered again
    assert api.call("GET", path).json_body == first
    rules = api.call("GET", "/v1/analytics/funnel?from=2026-11-28&to=2026-11-28").json_body
    assert [(row["key"], row["targeted"], row["sent"]) for row in rules] == [("welcome", 4, 4)]
    assert api.call("GET", "/v1/analytics/funnel?from=2026-11-29&to=2026-11-30").json_body == []


def test_bad_parameters_are_400s_naming_them(api: Api) -> None:
    response = api.call("GET", "/v1/analytics/funnel?from=28-11-2026&group_by=store&limit=3")
    assert_error(response, 400, "from", "group_by", "limit")
    assert_error(api.call("GET", "/v1/analytics/funnel?from=2026-11-28&to=2026-11-01"), 400, "to")


def test_the_report_table_shows_the_rows_and_the_reasons() -> None:
    rows = [
        {"key": "生日祝福", "targeted": 3, "suppressed": {"no_consent": 1}, "sent": 2, "delivered": 2, "converted": 1},
        {"key": "welcome", "targeted": 4, "suppressed": {"no_address": 2, "no_consent": 1}, "revenue": 9.5},
    ]
    console = Console(record=True, width=200)
    console.print(funnel_table(rows, "rule", "funnel"))
    text = console.export_text()
    assert "生日祝福" in text and "50.0%" in text and "9.50" in text
    assert reasons(rows) == "no_consent 2, no_address 2"
