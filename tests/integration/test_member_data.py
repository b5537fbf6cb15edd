"""Member data on the real adapters (moto): the export and the timeline through the API, and erasure
end to end — the tombstone, the on_erasure worker's purge across every table, and the paths that
could bring the member back (a replayed stream record, a replayed receipt, a reply) leaving no trace."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.adapters.link_store import DynamoLinkStore
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.activities import Feedback
from chalicelib.domain.ids import message_id
from chalicelib.domain.links import Link
from chalicelib.handlers import erasure, inbound, streams

from .conftest import ROOT, SENDER_NOON, load_event

KEY = "mp_it-key-0123456789abcdefghijklmnopqrstuvwxyz"
WELCOME_ID = message_id("m-1001", "welcome", "join")
TRACES = ("13800138000", "王小明", "乐乐", "agora_u1001", "幸福路", "shop.example")


@pytest.fixture
def api(aws):
    from app import app
    from chalicelib.domain.api_keys import hash_key

    bootstrap.app().adapters.api_keys.put(hash_key(KEY), "k1", "it", SENDER_NOON)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    with Client(app, project_dir=str(ROOT)) as client:

        def call(method: str, path: str, body: Any = None) -> Any:
            raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
            return client.http.request(method, path, headers=headers, body=raw)

        call.webhook = lambda body: client.http.post(  # type: ignore[attr-defined]
            f"/webhooks/sandbox/{aws.webhook_token}",
            headers={"Content-Type": "application/json"},
            body=json.dumps(body, ensure_ascii=False).encode(),
        )
        yield call


def member_joins(aws, lambda_context) -> dict[str, Any]:
    """m-1001 joins (the stream record of events/member_insert.json): welcome, timers, audience."""
    event = load_event("member_insert.json")
    aws.put_image("MembersTable", event["Records"][0]["dynamodb"]["NewImage"])
    assert streams.member_changed(copy.deepcopy(event), lambda_context) == {"batchItemFailures": []}
    return event


def work_inbound(aws, lambda_context) -> None:
    messages = aws.drain_queue(aws.queues["InboundQueue"])
    if messages:
        assert inbound.handle_batch(aws.sqs_event(messages), lambda_context) == {"batchItemFailures": []}


def with_history(aws, api, lambda_context) -> dict[str, Any]:
    event = member_joins(aws, lambda_context)
    order = {
        "order_id": "o-1",
        "purchased_at": "2026-11-20T03:15:00Z",
        "items": [{"sku": "PZ-1", "qty": 1, "price": 59}],
        "total": 59,
    }
    assert api("POST", "/v1/members/m-1001/orders", order).status_code == 201
    assert (
        api("POST", "/v1/members/m-1001/points", {"txn_id": "p-1", "delta": 50, "reason": "order"}).status_code == 201
    )
    assert api("PUT", "/v1/members/m-1001", {"consent": {"marketing": False}}).status_code == 200
    assert bootstrap.app().sender.deliver(WELCOME_ID, SENDER_NOON) is not None  # sandbox: outbox row, delivered
    DynamoLinkStore().put([Link("tok-welcome-1", WELCOME_ID, "https://shop.example/u/m-1001")], SENDER_NOON)
    for i, text in enumerate(["售后", "我家住在幸福路8号"]):
        reply = {
            "type": "reply",
            "from": "+8613800138000",
            "text": text,
            "id": f"r-{i}",
            "at": f"2026-11-20T0{4 + i}:00:00Z",
        }
        assert api.webhook(reply).status_code == 200
    work_inbound(aws, lambda_context)
    aws.drain_queue()  # the send queue: not under test here
    return event


def every_table(aws) -> str:
    return json.dumps({logical: aws.scan(logical) for logical in aws.tables}, ensure_ascii=False)


def purge(aws, lambda_context, rounds: int = 2) -> None:
    """Run the on_erasure worker over what the erasure queue holds (the delayed second round too)."""
    for _ in range(rounds):
        url = aws.queues["ErasureQueue"]
        messages = aws.drain_queue(url)
        if not messages:
            bodies = [{"member_id": "m-1001", "at": "2026-11-20T08:00:00Z", "round": 2}]
            messages = [
                {"MessageId": "delayed", "ReceiptHandle": "h", "Body": json.dumps(b), "MD5OfBody": ""} for b in bodies
            ]
        assert erasure.purge_batch(aws.sqs_event(messages), lambda_context) == {"batchItemFailures": []}


class TestExportAndTimeline:
    def test_given_a_member_with_a_history_when_exported_then_everything_stored_about_them(
        self, aws, api, lambda_context
    ):
        with_history(aws, api, lambda_context)

        body = api("GET", "/v1/members/m-1001/export").json_body

        assert body["profile"]["phone"] == "+8613800138000" and body["profile"]["children"][0]["name"] == "乐乐"
        assert [o["order_id"] for o in body["orders"]] == ["o-1"] and body["points"][0]["txn_id"] == "p-1"
        welcome = next(m for m in body["messages"] if m["message_id"] == WELCOME_ID)
        assert [h["status"] for h in welcome["history"]][:2] == ["queued", "sent"]
        assert {r["text"] for r in body["replies"]} == {"售后", "我家住在幸福路8号"}
        assert [h["text"] for h in body["handoffs"]] == ["售后"]
        assert any(t["rule"] == "child_birthday" for t in body["timers_pending"])
        assert body["consent"]["current"]["marketing"] is False
        assert [c["changes"] for c in body["consent"]["changes"]] == [{"marketing": False}]

    def test_given_a_member_with_a_history_when_the_timeline_is_paged_then_all_of_it_newest_first_once(
        self, aws, api, lambda_context
    ):
        with_history(aws, api, lambda_context)

        entries, cursor, pages = [], None, 0
        while True:
            response = api("GET", "/v1/members/m-1001/timeline?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            assert response.status_code == 200
            entries += response.json_body
            pages += 1
            cursor = {k.lower(): v for k, v in response.headers.items()}.get("x-next-cursor")
            if not cursor:
                break

        kinds = [e["kind"] for e in entries]
        assert pages > 2 and {"joined", "order", "points", "message", "reply", "consent"} <= set(kinds)
        assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
        ids = [(e["at"], e["kind"], e.get("message_id") or e.get("order_id") or e.get("text")) for e in entries]
        assert len(ids) == len(set(ids))
        welcome = next(e for e in entries if e.get("message_id") == WELCOME_ID)
        assert [t["status"] for t in welcome["trail"]][:2] == ["queued", "sent"]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("limit=201", "limit"),
            ("cursor=!!", "cursor"),
            ("cursor=WzFd", "cursor"),
        ],
    )
    def test_given_a_bad_page_when_asked_then_400_naming_the_field(self, aws, api, lambda_context, query, field):
        member_joins(aws, lambda_context)
        response = api("GET", f"/v1/members/m-1001/timeline?{query}")
        assert response.status_code == 400 and field in response.json_body["error"]["fields"]


class TestErasure:
    def test_given_a_member_with_a_history_when_erased_then_no_table_holds_their_phone_name_or_words(
        self, aws, api, lambda_context
    ):
        with_history(aws, api, lambda_context)
        before = every_table(aws)
        assert all(trace in before for trace in TRACES)

        assert api("DELETE", "/v1/members/m-1001").status_code == 204
        assert api("GET", "/v1/members/m-1001").status_code == 404  # at once, before the purge
        purge(aws, lambda_context)

        after = every_table(aws)
        for trace in TRACES:
            assert trace not in after, trace
        welcome = DynamoMessageStore().get(WELCOME_ID)
        assert welcome is not None and welcome.text == "" and welcome.status.value == "delivered"

    def test_given_an_erased_member_when_their_old_records_and_receipts_are_replayed_then_nothing_comes_back(
        self, aws, api, lambda_context
    ):
        event = with_history(aws, api, lambda_context)
        api("DELETE", "/v1/members/m-1001")
        purge(aws, lambda_context)

        # An old INSERT and MODIFY of the member arriving after the erasure (a stream replay).
        assert streams.member_changed(copy.deepcopy(event), lambda_context) == {"batchItemFailures": []}
        modify = copy.deepcopy(event)
        modify["Records"][0]["eventName"] = "MODIFY"
        modify["Records"][0]["dynamodb"]["OldImage"] = modify["Records"][0]["dynamodb"]["NewImage"]
        assert streams.member_changed(modify, lambda_context) == {"batchItemFailures": []}
        # A late receipt for the welcome, and a reply from the member's phone.
        assert (
            api.webhook({"message_id": WELCOME_ID, "status": "read", "at": "2026-11-21T00:00:00Z"}).status_code == 200
        )
        assert (
            api.webhook({"type": "reply", "from": "+8613800138000", "text": "3岁男孩", "id": "r-late"}).status_code
            == 200
        )
        work_inbound(aws, lambda_context)

        after = every_table(aws)
        for trace in TRACES:
            assert trace not in after, trace
        assert aws.drain_queue() == []  # nothing queued for sending
        assert api("PUT", "/v1/members/m-1001", {"name": "王小明"}).status_code == 409
        assert DynamoMessageStore().get(WELCOME_ID).status.value == "delivered"  # the receipt changed nothing

    def test_given_a_member_who_took_part_in_campaigns_when_erased_then_their_votes_claims_facts_and_conversion_go(
        self, aws, api, lambda_context
    ):
        with_history(aws, api, lambda_context)
        a = bootstrap.app().adapters
        order = a.members.get_order("m-1001", "o-1")
        assert order is not None and bootstrap.app().facts.order_placed(order, SENDER_NOON) is True
        assert a.attendance.attended("m-1001", "story-hour", SENDER_NOON) is True
        a.polls.vote("c1", "m-1001", "2", SENDER_NOON)
        a.polls.vote("c1", "m-2002", "1", SENDER_NOON)
        a.campaigns.claim_keyword("c1", "m-1001", SENDER_NOON)
        a.campaigns.claim_keyword("c1", "m-2002", SENDER_NOON)
        assert a.messages.convert(WELCOME_ID, "m-1001", "o-1", 59.0, SENDER_NOON) is True
        export = api("GET", "/v1/members/m-1001/export").json_body
        assert export["purchases"]["orders_count"] == 1 and export["purchases"]["attended"] == {
            "story-hour": "2026-11-20T04:00:00Z"
        }
        assert export["campaigns"]["votes"] == [{"campaign_id": "c1", "option": "2", "at": "2026-11-20T04:00:00Z"}]

        assert api("DELETE", "/v1/members/m-1001").status_code == 204
        purge(aws, lambda_context)

        (tombstone,) = [i for i in aws.scan("MembersTable") if i["member_id"]["S"] == "m-1001"]
        assert not {"orders_count", "total_spent", "bought", "attended"} & set(tombstone)
        assert set(tombstone) <= {"member_id", "erased_at", "version", "locale", "points_balance"}  # model defaults
        campaigns = aws.scan("CampaignsTable")
        assert "m-1001" not in json.dumps(campaigns)
        kept = {i["sk"]["S"]: i.get("n", {}).get("N") for i in campaigns}
        assert kept == {"vote#m-2002": None, "keyword#m-2002": None, "poll#1": "1", "poll#2": "1", "poll#voters": "2"}
        welcome = DynamoMessageStore().get(WELCOME_ID)
        assert welcome is not None and (welcome.converted_at, welcome.revenue, welcome.last_order) == (None, 0.0, None)
        assert a.attendance.attended("m-1001", "lego-day", SENDER_NOON) is False
        assert [i for i in aws.scan("MembersTable") if i["member_id"]["S"] == "m-1001"] == [tombstone]

    def test_given_a_member_holding_a_seat_when_erased_then_the_next_in_line_gets_it_and_no_registration_stays(
        self, aws, api, lambda_context
    ):
        member_joins(aws, lambda_context)
        assert api("PUT", "/v1/members/m-2002", {"name": "李四", "phone": "+8613800138002"}).status_code in (200, 201)
        contest = {
            "title": "周六积木大赛",
            "starts_at": "2031-11-29T14:00:00+08:00",
            "ends_at": "2031-11-29T16:00:00+08:00",
            "location": "万象城店",
            "capacity": 1,
            "invite": ["m-1001"],
        }
        assert api("PUT", "/v1/activities/sat-lego", contest).status_code in (200, 201)
        for member_id in ("m-1001", "m-2002"):
            assert api("POST", "/v1/activities/sat-lego/registrations", {"member_id": member_id}).status_code == 201
        bootstrap.app().registrations.add_feedback(
            "sat-lego", "m-1001", Feedback(rating=5, text="乐乐玩得很开心"), ("wx-media-9",), SENDER_NOON
        )
        export = api("GET", "/v1/members/m-1001/export").json_body["activities"]
        assert [(r["activity_id"], r["status"], r["feedback"]["text"]) for r in export["registrations"]] == [
            ("sat-lego", "confirmed", "乐乐玩得很开心")
        ]
        assert [i["activity_id"] for i in export["invitations"]] == ["sat-lego"]

        assert api("DELETE", "/v1/members/m-1001").status_code == 204
        purge(aws, lambda_context)

        items = aws.scan("ActivitiesTable")
        assert sorted(i["sk"]["S"] for i in items) == ["#activity", "REG#m-2002"]  # no registration, no invitation
        (activity,) = [i for i in items if i["sk"]["S"] == "#activity"]
        assert "m-1001" not in json.dumps([activity["seats"], activity["waiting"]])
        assert "乐乐玩得很开心" not in json.dumps(items, ensure_ascii=False)
        # the store's own definition keeps its invite list (ids only, as the tombstone keeps the id)
        listed = api("GET", "/v1/activities/sat-lego/registrations").json_body
        assert [(r["member_id"], r["status"]) for r in listed] == [("m-2002", "confirmed")]
        assert api("GET", "/v1/activities/sat-lego").json_body["counts"]["confirmed"] == 1

    def test_given_a_purge_out_of_time_when_handled_then_it_is_queued_again_and_finishes(
        self, aws, api, lambda_context, monkeypatch
    ):
        with_history(aws, api, lambda_context)
        api("DELETE", "/v1/members/m-1001")
        monkeypatch.setattr(lambda_context, "get_remaining_time_in_millis", lambda: 1_000, raising=False)

        first = aws.drain_queue(aws.queues["ErasureQueue"])
        assert erasure.purge_batch(aws.sqs_event(first), lambda_context) == {"batchItemFailures": []}

        again = aws.drain_queue(aws.queues["ErasureQueue"])
        assert [json.loads(m["Body"])["round"] for m in again] == [1]  # handed back, same round
        monkeypatch.setattr(lambda_context, "get_remaining_time_in_millis", lambda: 300_000, raising=False)
        assert erasure.purge_batch(aws.sqs_event(again), lambda_context) == {"batchItemFailures": []}
        assert "王小明" not in json.dumps(aws.scan("MessagesTable"), ensure_ascii=False)


def test_unknown_member_erasure_is_a_404_and_queues_nothing(aws, api):
    assert api("DELETE", "/v1/members/nobody").status_code == 404
    assert aws.drain_queue(aws.queues["ErasureQueue"]) == []
