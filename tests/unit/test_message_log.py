"""The message log's query, cursor and rows (domain/message_log.py): pure."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.message_log import (
    CSV_COLUMNS,
    LogPosition,
    LogQuery,
    decode_cursor,
    encode_cursor,
    parse_request,
    row,
    to_csv,
)
from chalicelib.domain.model import Channel, Message, MessageStatus

NOW = datetime(2026, 11, 22, 8, 30, 15, 123456, tzinfo=UTC)
ZONE = "Asia/Shanghai"


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return set(exc.value.fields)


def a_message(**fields: object) -> Message:
    values: dict[str, object] = {
        "message_id": "msg-1",
        "member_id": "m-1",
        "trigger": "welcome",
        "occurrence": "join",
        "channel": Channel.SMS,
        "provider": "sandbox",
        "text": "王小明，欢迎加入乐乐玩具！",
        "status": MessageStatus.DELIVERED,
        "created_at": datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
    }
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


class TestTheQuery:
    def test_by_default_the_last_seven_days_up_to_the_request_to_the_second(self) -> None:
        request = parse_request({}, NOW, ZONE, csv_export=False)
        assert request.query.until == datetime(2026, 11, 22, 8, 30, 15, tzinfo=UTC)
        assert request.query.since == datetime(2026, 11, 15, 8, 30, 15, tzinfo=UTC)
        assert (request.limit, request.after) == (50, None)

    def test_days_are_the_stores_both_ends_included(self) -> None:
        # Given days in the store's zone (UTC+8)
        request = parse_request({"from": "2026-11-20", "to": "2026-11-21"}, NOW, ZONE, csv_export=False)
        # Then from is 00:00:00 local on the first, to 23:59:59 local on the last
        assert request.query.since == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
        assert request.query.until == datetime(2026, 11, 21, 15, 59, 59, tzinfo=UTC)
        # And the UTC days read are those the range touches, newest first
        assert request.query.days() == ["2026-11-21", "2026-11-20", "2026-11-19"]

    def test_instants_with_an_offset_are_taken_as_they_are(self) -> None:
        request = parse_request(
            {"from": "2026-11-20T10:00:00+08:00", "to": "2026-11-20T03:00:00Z"}, NOW, ZONE, csv_export=False
        )
        assert (request.query.since, request.query.until) == (
            datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
        )

    def test_filters_take_comma_separated_values(self) -> None:
        request = parse_request(
            {"trigger": "welcome, campaign", "status": "sent,delivered", "campaign": "spring-1", "channel": "im"},
            NOW,
            ZONE,
            csv_export=False,
        )
        q = request.query
        assert q.triggers == {"welcome", "campaign"} and q.statuses == {"sent", "delivered"}
        assert (q.campaign, q.channel) == ("spring-1", "im")

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"from": "yesterday"}, "from"),
            ({"to": "2026-11-31"}, "to"),
            ({"to": "2026-11-20T10:00:00"}, "to"),  # no offset
            ({"from": "2026-11-21", "to": "2026-11-20"}, "to"),
            ({"from": "2024-01-01", "to": "2026-11-20"}, "from"),  # more than 366 days
            ({"from": "2026-12-01"}, "from"),  # after now, to not given
            ({"trigger": "Welcome!"}, "trigger"),
            ({"trigger": ","}, "trigger"),
            ({"trigger": ",".join(f"r{i}" for i in range(21))}, "trigger"),
            ({"status": "lost"}, "status"),
            ({"channel": "email"}, "channel"),
            ({"campaign": "a/b"}, "campaign"),
            ({"limit": "0"}, "limit"),
            ({"limit": "201"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"triger": "welcome"}, "triger"),  # a typo is not silently ignored
            ({"cursor": "not-a-cursor"}, "cursor"),
        ],
    )
    def test_bad_parameters_are_a_400_naming_the_field(self, params: dict[str, str], field: str) -> None:
        with pytest.raises(ValidationFailed) as exc:
            parse_request(params, NOW, ZONE, csv_export=False)
        assert fields_of(exc) == {field}

    def test_every_bad_parameter_is_named_at_once(self) -> None:
        with pytest.raises(ValidationFailed) as exc:
            parse_request({"status": "x", "channel": "fax", "limit": "-1"}, NOW, ZONE, csv_export=False)
        assert fields_of(exc) == {"status", "channel", "limit"}

    def test_a_csv_export_takes_larger_pages(self) -> None:
        assert parse_request({}, NOW, ZONE, csv_export=True).limit == 1000
        assert parse_request({"limit": "2000"}, NOW, ZONE, csv_export=True).limit == 2000
        with pytest.raises(ValidationFailed) as exc:
            parse_request({"limit": "2001"}, NOW, ZONE, csv_export=True)
        assert fields_of(exc) == {"limit"}

    def test_the_query_admits_what_its_key_and_filters_let_through(self) -> None:
        q = LogQuery(
            datetime(2026, 11, 21, tzinfo=UTC),
            datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC),
            triggers=frozenset({"welcome"}),
            statuses=frozenset({"delivered"}),
            channel="sms",
        )
        assert q.admits(a_message())
        assert not q.admits(a_message(trigger="coupon_issued"))
        assert not q.admits(a_message(status=MessageStatus.FAILED))
        assert not q.admits(a_message(channel=Channel.IM))
        assert not q.admits(a_message(created_at=datetime(2026, 11, 22, tzinfo=UTC)))
        assert not LogQuery(q.since, q.until, campaign="c1").admits(a_message())
        assert LogQuery(q.since, q.until, campaign="c1").admits(a_message(campaign_id="c1"))


class TestTheCursor:
    QUERY = LogQuery(
        datetime(2026, 11, 20, tzinfo=UTC),
        datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC),
        triggers=frozenset({"welcome"}),
        channel="sms",
    )

    def test_it_carries_its_query_and_position(self) -> None:
        position = LogPosition("2026-11-21", "2026-11-21T02:00:00Z", "msg-9")
        cursor = encode_cursor(self.QUERY, position)
        assert decode_cursor(cursor) == (self.QUERY, position)
        assert decode_cursor(encode_cursor(self.QUERY, LogPosition("2026-11-20"))) == (
            self.QUERY,
            LogPosition("2026-11-20"),
        )

    def test_a_next_page_needs_only_the_cursor(self) -> None:
        cursor = encode_cursor(self.QUERY, LogPosition("2026-11-21", "2026-11-21T02:00:00Z", "msg-9"))
        request = parse_request({"cursor": cursor, "limit": "10"}, NOW, ZONE, csv_export=False)
        assert request.query == self.QUERY and request.limit == 10
        assert request.after == LogPosition("2026-11-21", "2026-11-21T02:00:00Z", "msg-9")

    def test_parameters_given_with_it_must_say_what_it_says(self) -> None:
        cursor = encode_cursor(self.QUERY, LogPosition("2026-11-21"))
        same = {"cursor": cursor, "trigger": "welcome", "channel": "sms", "from": "2026-11-20T00:00:00Z"}
        assert parse_request(same, NOW, ZONE, csv_export=False).query == self.QUERY
        with pytest.raises(ValidationFailed) as exc:
            parse_request({"cursor": cursor, "trigger": "coupon_issued"}, NOW, ZONE, csv_export=False)
        assert fields_of(exc) == {"cursor"}

    @pytest.mark.parametrize(
        "data",
        [
            {"q": {}, "p": ["2026-11-21", None, None]},
            {"q": "x", "p": []},
            [1, 2],
            "text",
        ],
    )
    def test_a_forged_cursor_is_a_400_naming_it(self, data: object) -> None:
        text = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
        with pytest.raises(ValidationFailed) as exc:
            decode_cursor(text)
        assert fields_of(exc) == {"cursor"}

    @pytest.mark.parametrize(
        "change",
        [
            {"p": ["2026-11-25", None, None]},  # a day outside its own range
            {"p": ["2026-11-21", "2026-11-21T02:00:00Z", None]},
            {"p": ["2026-11-21", "yesterday", "m"]},
            {"q": {"triggers": ["Bad Value"]}},
            {"q": {"campaign": "../../etc"}},
            {"q": {"since": "2026-11-20"}},
        ],
    )
    def test_a_tampered_cursor_is_a_400_naming_it(self, change: dict[str, object]) -> None:
        data = json.loads(base64.urlsafe_b64decode(encode_cursor(self.QUERY, LogPosition("2026-11-21")) + "=="))
        for key, value in change.items():
            if isinstance(value, dict):
                data[key].update(value)
            else:
                data[key] = value
        with pytest.raises(ValidationFailed) as exc:
            decode_cursor(base64.urlsafe_b64encode(json.dumps(data).encode()).decode())
        assert fields_of(exc) == {"cursor"}


class TestRows:
    def test_a_row_is_the_messages_public_shape_with_its_member_and_masked_phone(self) -> None:
        message = a_message(campaign_id="spring", variant="A", sent_at=datetime(2026, 11, 21, 2, 1, tzinfo=UTC))
        out = row(message, "+8613800138000")
        assert out["message_id"] == "msg-1" and out["member_id"] == "m-1"
        assert out["phone"] == "+86*******8000"
        assert (out["campaign_id"], out["variant"], out["sent_at"]) == ("spring", "A", "2026-11-21T02:01:00Z")

    def test_phone_numbers_in_the_text_and_reason_are_masked(self) -> None:
        message = a_message(text="请致电 138 0013 8000 或 +14155550003", reason="invalid number +8613900139000")
        out = row(message, None)
        assert out["text"] == "请致电 +86*******8000 或 +1******0003"
        assert out["reason"] == "invalid number +86*******9000"
        assert out["phone"] is None

    def test_csv_has_a_header_a_line_per_row_and_opens_as_utf8(self) -> None:
        rows = [row(a_message(), "+8613800138000"), row(a_message(message_id="msg-2", text='a,b\n"c"'), None)]
        text = to_csv(rows)
        assert text.startswith("\ufeff")
        parsed = list(csv.reader(io.StringIO(text[1:])))
        assert parsed[0] == list(CSV_COLUMNS)
        assert [r[1] for r in parsed[1:]] == ["msg-1", "msg-2"]
        assert parsed[2][CSV_COLUMNS.index("text")] == 'a,b\n"c"'
        assert parsed[1][CSV_COLUMNS.index("phone")] == "'+86*******8000"  # never a formula

    @pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)"])
    def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(self, text: str) -> None:
        parsed = list(csv.reader(io.StringIO(to_csv([row(a_message(text=text), None)])[1:])))
        assert parsed[1][CSV_COLUMNS.index("text")] == "'" + text
