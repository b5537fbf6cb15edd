"""The inbound side's DynamoDB/SQS/SNS adapters against moto, with the tables of infra/template.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib.adapters.conversation_log import DynamoConversationLog
from chalicelib.adapters.cursors import DynamoCursors
from chalicelib.adapters.handoff_store import DynamoHandoffStore
from chalicelib.adapters.inbound_log import DynamoInboundStore
from chalicelib.adapters.inbound_queue import SqsInboundQueue
from chalicelib.adapters.link_store import DynamoLinkStore
from chalicelib.adapters.member_directory import DynamoMemberDirectory
from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.message_index import DynamoMessageIndex
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.adapters.staff_notifier import SnsStaffNotifier
from chalicelib.domain.links import Link
from chalicelib.domain.model import PENDING_STATUSES, Channel, Member, Message, MessageStatus, StatusChange
from chalicelib.domain.planning import describe
from chalicelib.domain.replies import HandoffTicket

from .conftest import REGION

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class TestInboundLog:
    def test_given_a_new_event_when_claimed_then_true_and_after_finishing_a_replay_is_refused(self, aws) -> None:
        store = DynamoInboundStore()

        assert store.claim("aliyun", "biz-1:DELIVERED", "receipt", T0, T0)
        assert store.claim("aliyun", "biz-1:DELIVERED", "receipt", T0, T0)  # died half-way: claimable again
        store.finish("aliyun", "biz-1:DELIVERED", "receipt applied", T0, {"raw": "{}", "sender": "+86138"})

        assert not store.claim("aliyun", "biz-1:DELIVERED", "receipt", T0, T0 + timedelta(minutes=5))
        row = store.get("aliyun", "biz-1:DELIVERED")
        assert row is not None
        assert row["status"] == "done" and row["outcome"] == "receipt applied" and row["record"]["raw"] == "{}"
        assert row["expires"] > (T0 + timedelta(days=179)).timestamp()

    def test_given_no_record_when_finished_then_only_non_personal_fields_are_stored(self, aws) -> None:
        store = DynamoInboundStore()
        store.claim("tencent", "sid-9:SUCCESS", "receipt", T0, T0)

        store.finish("tencent", "sid-9:SUCCESS", "receipt for no message", T0)

        [item] = aws.scan("InboundTable")
        assert set(item) == {
            "event_key",
            "provider",
            "event_id",
            "kind",
            "at",
            "status",
            "outcome",
            "updated_at",
            "expires",
        }


class TestLookups:
    def test_given_members_when_looked_up_by_phone_or_im_user_then_their_ids(self, aws) -> None:
        members = DynamoMemberStore()
        members.save(Member("m-1", phone="+8613800138000", im_user_id="agora_u1"))
        members.save(Member("m-2", phone="+14155550132"))
        directory = DynamoMemberDirectory()

        assert directory.by_phone("+8613800138000") == "m-1"
        assert directory.by_phone("+14155550132") == "m-2"
        assert directory.by_im_user("agora_u1") == "m-1"
        assert directory.by_phone("+8613900000000") is None
        assert directory.by_im_user("nobody") is None

    def test_given_a_sent_message_when_looked_up_by_provider_id_then_ours(self, aws) -> None:
        store = DynamoMessageStore()
        message = Message(
            "m-abc", "m-1", "welcome", "join", Channel.SMS, "aliyun", "欢迎", MessageStatus.QUEUED, T0,
            history=[StatusChange(MessageStatus.QUEUED, T0)],
        )  # fmt: skip
        store.create(message)
        assert DynamoMessageIndex().by_provider_id("biz-1") is None  # sparse: not sent yet

        store.transition("m-abc", MessageStatus.SENT, T0, expect=PENDING_STATUSES, provider_message_id="biz-1")

        assert DynamoMessageIndex().by_provider_id("biz-1") == "m-abc"


class TestConversation:
    def test_given_a_reply_when_appended_twice_then_one_chat_item_under_the_member(self, aws) -> None:
        log = DynamoConversationLog()
        log.append("m-1", T0, "e-1", {"direction": "in", "text": "谢谢"})
        log.append("m-1", T0, "e-1", {"direction": "in", "text": "谢谢"})

        [item] = aws.scan("ActivityTable")
        assert item["sk"]["S"] == "CHAT#2026-11-20T02:00:00Z#e-1"
        assert item["kind"]["S"] == "chat"


class TestHandoffs:
    def test_given_a_ticket_when_opened_twice_then_once_and_listed_by_status_newest_first(self, aws) -> None:
        store = DynamoHandoffStore()
        first = HandoffTicket("h-1", "m-1", Channel.SMS, "售后", "open", T0, "sandbox", "e-1")
        second = HandoffTicket("h-2", "m-2", Channel.IM, "客服", "open", T0 + timedelta(hours=1))

        assert store.open(first)
        assert not store.open(first)
        assert store.open(second)
        store.mark_notified("h-1")

        assert [t.ticket_id for t in store.list("open")] == ["h-2", "h-1"]
        assert store.get("h-1") == HandoffTicket("h-1", "m-1", Channel.SMS, "售后", "open", T0, "sandbox", "e-1", True)
        assert store.list("closed") == []


class TestLinks:
    def test_given_a_link_when_clicked_twice_then_counted_and_the_message_keeps_the_first_click(self, aws) -> None:
        messages = DynamoMessageStore()
        messages.create(
            Message("m-abc", "m-1", "new_arrivals", "x", Channel.SMS, "sandbox", "t", MessageStatus.QUEUED, T0)
        )
        store = DynamoLinkStore()
        link = Link("tok123", "m-abc", "https://shop.example.com/x")
        store.put([link], T0)
        store.put([Link("tok123", "m-abc", "https://shop.example.com/x")], T0 + timedelta(days=1))

        store.record_click(link, T0 + timedelta(hours=1))
        store.record_click(link, T0 + timedelta(hours=2))

        assert store.get("tok123") == link
        [item] = aws.scan("LinksTable")
        assert item["clicks"]["N"] == "2"
        assert item["first_clicked_at"]["S"] == "2026-11-20T03:00:00Z"
        assert item["last_clicked_at"]["S"] == "2026-11-20T04:00:00Z"
        [message] = aws.scan("MessagesTable")
        assert message["clicked_at"]["S"] == "2026-11-20T03:00:00Z"
        stored = messages.get("m-abc")
        assert stored is not None and stored.clicked_at == T0 + timedelta(hours=1)
        assert describe(stored)["clicked_at"] == "2026-11-20T03:00:00Z"  # in the messages API

    def test_given_an_erased_message_when_its_link_is_clicked_then_counted_and_nothing_recreated(self, aws) -> None:
        store = DynamoLinkStore()
        link = Link("tok9", "m-gone", "https://shop.example.com/x")
        store.put([link], T0)

        store.record_click(link, T0)

        assert aws.scan("MessagesTable") == []
        assert store.get("nope") is None


class TestCursors:
    def test_given_a_cursor_when_put_then_read_back(self, aws) -> None:
        cursors = DynamoCursors()
        assert cursors.get("wecom:kf1") is None

        cursors.put("wecom:kf1", "c-2")

        assert cursors.get("wecom:kf1") == "c-2"


class TestQueueAndTopic:
    def test_given_25_events_when_put_then_three_batches_land_on_the_inbound_queue(self, aws) -> None:
        client = boto3.client("sqs", region_name=REGION)
        queue = SqsInboundQueue(client, aws.queues["InboundQueue"])

        queue.put([{"provider": "sandbox", "event_id": str(i), "raw": "x" * 1000} for i in range(25)])

        received = aws.drain_queue(aws.queues["InboundQueue"])
        assert sorted(int(json.loads(m["Body"])["event_id"]) for m in received) == list(range(25))

    def test_given_large_events_when_put_then_batches_stay_under_the_sqs_limit(self, aws) -> None:
        client = boto3.client("sqs", region_name=REGION)
        queue = SqsInboundQueue(client, aws.queues["InboundQueue"])

        queue.put([{"event_id": str(i), "raw": "x" * 60_000} for i in range(10)])

        assert len(aws.drain_queue(aws.queues["InboundQueue"])) == 10

    def test_given_a_topic_when_staff_are_notified_then_one_message_is_published(self, aws) -> None:
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="staff")["TopicArn"]
        inbox = sqs.create_queue(QueueName="staff-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

        SnsStaffNotifier(sns, topic).notify("MemberPulse handoff h-1 售后", {"ticket_id": "h-1", "text": "售后"})

        [message] = aws.drain_queue(inbox)
        envelope = json.loads(message["Body"])
        assert json.loads(envelope["Message"]) == {"ticket_id": "h-1", "text": "售后"}
        assert envelope["Subject"].startswith("MemberPulse handoff h-1")

    def test_given_no_topic_when_staff_are_notified_then_nothing_happens(self, aws) -> None:
        SnsStaffNotifier(boto3.client("sns", region_name=REGION), "").notify("s", {})


class TestCli:
    def test_given_tickets_when_memberpulse_handoffs_lists_them_then_open_ones_newest_first(self, aws) -> None:
        from memberpulse_cli.aws import Aws
        from memberpulse_cli.inbound import list_handoffs

        store = DynamoHandoffStore()
        store.open(HandoffTicket("h-1", "m-1", Channel.SMS, "售后", "open", T0))
        store.open(HandoffTicket("h-2", "m-2", Channel.IM, "客服", "open", T0 + timedelta(hours=1)))
        store.open(HandoffTicket("h-3", "m-3", Channel.IM, "人工", "closed", T0))

        rows = list_handoffs(Aws(None, REGION), aws.tables["HandoffsTable"], "open")

        assert [r["ticket_id"] for r in rows] == ["h-2", "h-1"]
        assert rows[1] == {
            "channel": "sms",
            "created_at": "2026-11-20T02:00:00Z",
            "member_id": "m-1",
            "notified": False,
            "status": "open",
            "text": "售后",
            "ticket_id": "h-1",
        }

    def test_given_an_erased_members_ticket_not_yet_purged_when_listed_then_it_is_left_out(self, aws) -> None:
        from memberpulse_cli.aws import Aws
        from memberpulse_cli.inbound import list_handoffs

        members = DynamoMemberStore()
        for member_id in ("m-1", "m-2"):
            members.save(Member(member_id, name="王小明"))
        store = DynamoHandoffStore()
        store.open(HandoffTicket("h-1", "m-1", Channel.SMS, "售后", "open", T0))
        store.open(HandoffTicket("h-2", "m-2", Channel.IM, "客服", "open", T0 + timedelta(hours=1)))
        members.erase("m-2", T0)

        rows = list_handoffs(
            Aws(None, REGION), aws.tables["HandoffsTable"], "open", members_table=aws.tables["MembersTable"]
        )

        assert [r["ticket_id"] for r in rows] == ["h-1"]
