"""InboundService over fakes: receipts, replies (keyword router), consent, handoffs, dedupe, erasure."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import Channel, Consent, Message, MessageStatus, Product, StatusChange
from chalicelib.domain.rulebook import load_rule_book
from chalicelib.ports import VersionConflict
from tests.fakes import NOW, FakeAdapters, fake_app, member

PHONE = "+8613800138000"


class FakeAdapter:
    """A provider adapter as the worker sees it: the channels it sends on, and ``fetch``."""

    def __init__(self, channels: frozenset[Channel], fetched: list[InboundEvent] | None = None) -> None:
        self.channels = channels
        self.send_unavailable: str | None = None
        self.fetched = fetched or []
        self.fetch_calls = 0

    def fetch(self, event: InboundEvent, cursors: Any, now: Any) -> list[InboundEvent]:
        self.fetch_calls += 1
        cursors.put(f"{event.provider}:cursor", "next-1")
        return list(self.fetched)


class World:
    def __init__(self) -> None:
        self.book = load_rule_book()
        self.adapters: dict[str, Any] = {"sandbox": FakeAdapter(frozenset({Channel.SMS, Channel.IM}))}
        self.fakes = fakes = FakeAdapters(providers=self.adapters)
        self.members, self.messages, self.queue = fakes.members, fakes.messages, fakes.send_queue
        self.inbound, self.conversations, self.handoffs = fakes.inbound_log, fakes.conversations, fakes.handoffs
        self.staff, self.catalog, self.cursors = fakes.staff, fakes.catalog, fakes.cursors
        self.app = fake_app(fakes, self.book)
        self.lifecycle = self.app.lifecycle
        self.service = self.app.inbound

    def replies(self, member_id: str = "m-1") -> list[Message]:
        return [
            m for m in self.messages.messages.values() if m.member_id == member_id and m.trigger.startswith("reply_")
        ]


@pytest.fixture
def world() -> World:
    w = World()
    w.members.save(member("m-1", consent=Consent(sms=True, im=True, marketing=True)))
    return w


def reply(
    text: str, event_id: str = "e-1", sender: str = PHONE, channel: Channel = Channel.SMS, **kw: Any
) -> InboundEvent:
    return InboundEvent(
        provider=kw.pop("provider", "sandbox"),
        kind=kw.pop("kind", InboundKind.REPLY),
        event_id=event_id,
        at=NOW,
        channel=channel,
        sender=sender,
        text=text,
        raw=json.dumps({"from": sender, "text": text}),
        **kw,
    )


class TestOptOut:
    def test_given_a_member_when_they_reply_T_then_sms_consent_is_off_and_one_confirmation_goes_out_on_sms(
        self, world: World
    ) -> None:
        outcome = world.service.handle(reply("T"), NOW)

        assert outcome == "opt_out"
        stored = world.members.get("m-1")
        assert stored is not None and stored.consent.sms is False and stored.consent.im is True
        [confirmation] = world.replies()
        assert confirmation.trigger == "reply_optout"
        assert confirmation.channel is Channel.SMS
        assert confirmation.status is MessageStatus.QUEUED  # sent although SMS consent is now off
        assert world.queue.ids == [confirmation.message_id]

    def test_given_the_same_event_twice_when_handled_then_it_acts_once(self, world: World) -> None:
        world.service.handle(reply("T"), NOW)
        writes = world.members.writes

        assert world.service.handle(reply("T"), NOW + timedelta(minutes=1)) == "duplicate"

        assert world.members.writes == writes
        assert len(world.replies()) == 1
        assert len(world.queue.ids) == 1

    def test_given_a_run_that_died_after_the_consent_change_when_redelivered_then_the_confirmation_still_goes_once(
        self, world: World
    ) -> None:
        world.queue.fail_next = True
        with pytest.raises(RuntimeError):
            world.service.handle(reply("T"), NOW)

        assert world.service.handle(reply("T"), NOW) == "opt_out"

        assert len(world.replies()) == 1
        assert world.queue.ids == [world.replies()[0].message_id]

    @pytest.mark.parametrize("text", ["STOP", " stop！", "退订", "ＴＤ", "Unsubscribe"])
    def test_given_any_opt_out_word_when_replied_then_consent_is_off(self, world: World, text: str) -> None:
        assert world.service.handle(reply(text), NOW) == "opt_out"
        assert world.members.get("m-1").consent.sms is False  # type: ignore[union-attr]

    def test_given_an_im_opt_out_when_handled_then_only_im_consent_changes_and_the_confirmation_is_im(
        self, world: World
    ) -> None:
        world.service.handle(reply("退订", sender="agora_u1", channel=Channel.IM), NOW)

        stored = world.members.get("m-1")
        assert stored is not None and stored.consent.im is False and stored.consent.sms is True
        assert [m.channel for m in world.replies()] == [Channel.IM]

    def test_given_a_concurrent_writer_when_consent_changes_then_it_retries_on_the_new_version(
        self, world: World
    ) -> None:
        def rename() -> None:
            other = world.members.get("m-1")
            assert other is not None
            other.name = "王大明"
            world.members.save(other)

        world.members.before_next_write = rename

        world.service.handle(reply("T"), NOW)

        stored = world.members.get("m-1")
        assert stored is not None and stored.consent.sms is False and stored.name == "王大明"

    def test_given_endless_conflicts_when_consent_changes_then_it_raises_for_a_retry(self, world: World) -> None:
        world.members.always_conflict = True

        with pytest.raises(VersionConflict):
            world.service.handle(reply("T"), NOW)
        assert world.inbound.rows[("sandbox", "e-1")]["status"] == "processing"  # claimable again


class TestOptIn:
    def test_given_an_opted_out_member_when_they_reply_START_then_consent_is_back_on_with_a_confirmation(
        self, world: World
    ) -> None:
        world.service.handle(reply("T", "e-1"), NOW)

        assert world.service.handle(reply("START", "e-2"), NOW + timedelta(hours=1)) == "opt_in"

        assert world.members.get("m-1").consent.sms is True  # type: ignore[union-attr]
        assert sorted(m.trigger for m in world.replies()) == ["reply_optin", "reply_optout"]

    def test_given_a_provider_reported_opt_out_when_handled_then_consent_changes_without_a_reply(
        self, world: World
    ) -> None:
        event = reply("", kind=InboundKind.OPT_OUT)

        assert world.service.handle(event, NOW) == "opted out (provider)"

        assert world.members.get("m-1").consent.sms is False  # type: ignore[union-attr]
        assert world.replies() == []
        assert (
            world.service.handle(replace(event, kind=InboundKind.OPT_IN, event_id="e-2"), NOW) == "opted in (provider)"
        )
        assert world.members.get("m-1").consent.sms is True  # type: ignore[union-attr]


class TestAnswers:
    def test_given_HELP_when_replied_then_the_help_text_goes_out(self, world: World) -> None:
        assert world.service.handle(reply("HELP"), NOW) == "help"
        assert [m.trigger for m in world.replies()] == ["reply_help"]

    def test_given_a_member_who_opted_out_when_they_send_HELP_then_help_is_still_answered(self, world: World) -> None:
        """CTIA: HELP gets an answer even after STOP; nothing else does."""
        world.service.handle(reply("T", "e-0"), NOW)
        world.service.handle(reply("HELP", "e-1"), NOW)
        world.service.handle(reply("3岁男孩", "e-2"), NOW)
        statuses = {m.trigger: m.status for m in world.replies()}
        assert statuses["reply_help"] is MessageStatus.QUEUED
        assert statuses["reply_recommendation"] is MessageStatus.SUPPRESSED

    def test_given_an_age_and_gender_when_replied_then_age_and_gender_fit_in_stock_picks_are_named(
        self, world: World
    ) -> None:
        world.catalog.add(
            Product("P-FIT", "恐龙拼图", age_min_months=24, age_max_months=60),
            Product("P-GIRL", "公主裙", age_min_months=24, age_max_months=60, gender="girl"),
            Product("P-OLD", "航模", age_min_months=96),
            Product("P-OUT", "缺货积木", age_min_months=24, age_max_months=60, in_stock=False),
            Product("P-BOY", "小汽车", age_min_months=30, age_max_months=48, gender="boy"),
        )

        assert world.service.handle(reply("3岁男孩"), NOW) == "recommend"

        [answer] = world.replies()
        assert answer.trigger == "reply_recommendation"
        assert "恐龙拼图" in answer.text and "小汽车" in answer.text
        assert "公主裙" not in answer.text and "航模" not in answer.text and "缺货积木" not in answer.text

    def test_given_nothing_fits_when_an_age_is_asked_then_a_polite_no(self, world: World) -> None:
        world.catalog.add(Product("P-OLD", "航模", age_min_months=96))

        world.service.handle(reply("3岁男孩"), NOW)

        [answer] = world.replies()
        assert "抱歉" in answer.text

    def test_given_an_english_member_when_they_ask_then_the_answer_is_english(self, world: World) -> None:
        world.members.save(member("m-en", phone="+14155550132", im_user_id=None, locale="en"))
        world.catalog.add(Product("P-FIT", "Dino puzzle", age_min_months=24, age_max_months=60))

        world.service.handle(reply("3 year old boy", sender="+14155550132"), NOW)

        [answer] = world.replies("m-en")
        assert answer.text.startswith("Ideas for a 3-year-old boy: Dino puzzle")

    def test_given_new_toys_when_replied_then_this_weeks_in_stock_arrivals_are_named_newest_first(
        self, world: World
    ) -> None:
        today = NOW.date()
        world.catalog.add(
            Product("P-NEW", "恐龙拼图·第2辑", arrived_on=today - timedelta(days=1)),
            Product("P-TODAY", "百变积木桶", arrived_on=today),
            Product("P-WEEK", "小熊换装套", arrived_on=today - timedelta(days=6)),
            Product("P-OLD", "老款积木", arrived_on=today - timedelta(days=7)),
            Product("P-OUT", "缺货新品", arrived_on=today, in_stock=False),
            Product("P-SOON", "下周到货", arrived_on=today + timedelta(days=3)),
        )

        assert world.service.handle(reply("新玩具"), NOW) == "new_arrivals"

        [answer] = world.replies()
        assert answer.trigger == "reply_new_arrivals"
        assert "百变积木桶、恐龙拼图·第2辑、小熊换装套" in answer.text
        assert not any(name in answer.text for name in ("老款积木", "缺货新品", "下周到货"))

    def test_given_nothing_new_when_asked_then_a_graceful_answer(self, world: World) -> None:
        world.catalog.add(Product("P-OLD", "老款积木", arrived_on=NOW.date() - timedelta(days=30)))

        world.service.handle(reply("what's new?"), NOW)

        [answer] = world.replies()
        assert answer.trigger == "reply_new_arrivals" and "还没有新品" in answer.text

    def test_given_a_sender_without_country_code_when_replied_then_the_member_is_found_in_the_default_region(
        self, world: World
    ) -> None:
        assert world.service.handle(reply("HELP", sender="13800138000"), NOW) == "help"


class TestHandoff:
    def test_given_a_handoff_word_when_replied_then_a_ticket_staff_and_a_reply(self, world: World) -> None:
        assert world.service.handle(reply("我要售后"), NOW) == "handoff"

        [ticket] = world.handoffs.list("open")
        assert ticket.member_id == "m-1" and ticket.channel is Channel.SMS and ticket.text == "我要售后"
        assert ticket.notified
        [(subject, body)] = world.staff.sent
        assert ticket.ticket_id in subject and body["member_id"] == "m-1"
        assert PHONE not in str(body)
        [answer] = world.replies()
        assert answer.trigger == "reply_handoff" and ticket.ticket_id[:7] in answer.text

    def test_given_the_staff_topic_failed_when_redelivered_then_one_ticket_and_one_notice(self, world: World) -> None:
        world.staff.fail_next = True
        with pytest.raises(RuntimeError):
            world.service.handle(reply("客服"), NOW)

        world.service.handle(reply("客服"), NOW)
        world.service.handle(reply("客服"), NOW)

        assert len(world.handoffs.tickets) == 1
        assert len(world.staff.sent) == 1
        assert len(world.replies()) == 1


class TestHistory:
    def test_given_anything_else_when_replied_then_it_is_kept_as_history_with_no_reply(self, world: World) -> None:
        assert world.service.handle(reply("谢谢，玩具很好"), NOW) == "history"

        assert world.replies() == []
        [(key, entry)] = world.conversations.entries.items()
        assert key[0] == "m-1" and key[1].startswith("CHAT#") and entry["text"] == "谢谢，玩具很好"
        kept = world.inbound.rows[("sandbox", "e-1")]["record"]
        assert "text" not in kept and "raw" not in kept and kept["text_bytes"] == len("谢谢，玩具很好".encode())
        assert kept["sender"] == "+86*******8000"  # masked: the words live in the history, which erasure reaches

    def test_given_an_unknown_sender_when_they_write_then_it_is_recorded_and_nothing_else(self, world: World) -> None:
        outcome = world.service.handle(reply("T", sender="+8613900000000"), NOW)

        assert outcome == "unknown sender"
        assert world.inbound.rows[("sandbox", "e-1")]["record"]["sender"] == "+86*******0000"
        assert world.replies() == [] and world.members.writes == 1


def sent_message(world: World, message_id: str = "m-abc", provider_message_id: str = "biz-1") -> Message:
    message = Message(
        message_id,
        "m-1",
        "welcome",
        "join",
        Channel.SMS,
        "sandbox",
        "欢迎",
        MessageStatus.SENT,
        NOW,
        provider_message_id=provider_message_id,
        history=[StatusChange(MessageStatus.SENT, NOW)],
    )
    world.messages.create(message)
    return message


def receipt(status: MessageStatus, event_id: str, **kw: Any) -> InboundEvent:
    return InboundEvent(
        provider="sandbox",
        kind=InboundKind.RECEIPT,
        event_id=event_id,
        at=kw.pop("at", NOW + timedelta(seconds=5)),
        channel=Channel.SMS,
        status=status,
        raw='{"phone_number": "13800138000"}',
        **kw,
    )


class TestReceipts:
    def test_given_our_id_when_a_receipt_arrives_then_the_message_moves_forward(self, world: World) -> None:
        sent_message(world)

        assert (
            world.service.handle(receipt(MessageStatus.DELIVERED, "r-1", message_id="m-abc"), NOW) == "receipt applied"
        )

        assert world.messages.get("m-abc").status is MessageStatus.DELIVERED  # type: ignore[union-attr]

    def test_given_only_the_provider_id_when_a_receipt_arrives_then_the_index_finds_the_message(
        self, world: World
    ) -> None:
        sent_message(world)

        world.service.handle(receipt(MessageStatus.FAILED, "r-1", provider_message_id="biz-1", reason="E1"), NOW)

        stored = world.messages.get("m-abc")
        assert stored is not None and stored.status is MessageStatus.FAILED and stored.reason == "E1"

    def test_given_a_read_message_when_a_late_delivered_receipt_arrives_then_it_stays_read(self, world: World) -> None:
        sent_message(world)
        world.service.handle(receipt(MessageStatus.READ, "r-2", message_id="m-abc"), NOW)

        assert world.service.handle(receipt(MessageStatus.DELIVERED, "r-1", message_id="m-abc"), NOW) == "receipt stale"

        assert world.messages.get("m-abc").status is MessageStatus.READ  # type: ignore[union-attr]

    def test_given_an_erased_member_when_a_late_receipt_arrives_then_nothing_personal_kept(self, world: World) -> None:
        sent_message(world)
        world.members.delete("m-1")

        outcome = world.service.handle(receipt(MessageStatus.DELIVERED, "r-1", message_id="m-abc"), NOW)

        assert outcome == "receipt for no message"
        row = world.inbound.rows[("sandbox", "r-1")]
        assert row["record"] is None and row["status"] == "done"
        assert world.messages.get("m-abc").status is MessageStatus.SENT  # type: ignore[union-attr]

    def test_given_an_unknown_message_when_a_receipt_arrives_then_no_message_is_created(self, world: World) -> None:
        world.service.handle(receipt(MessageStatus.DELIVERED, "r-1", message_id="m-ghost"), NOW)

        assert world.messages.messages == {}
        assert world.inbound.rows[("sandbox", "r-1")]["record"] is None


class TestFetch:
    def test_given_a_fetch_notice_when_handled_then_the_pulled_events_are_handled_each_once(self, world: World) -> None:
        pulled = [reply("HELP", "w-1", sender="agora_u1", channel=Channel.IM, provider="wecom")]
        world.adapters["wecom"] = FakeAdapter(frozenset({Channel.IM}), pulled)
        notice = InboundEvent("wecom", InboundKind.FETCH, "n-1", NOW, Channel.IM)

        assert world.service.handle(notice, NOW) == "fetched 1"
        assert world.service.handle(replace(notice, event_id="n-2"), NOW) == "fetched 1"

        assert [m.trigger for m in world.replies()] == ["reply_help"]
        assert world.replies()[0].provider == "wecom"  # answered through the provider written to
        assert world.cursors.values == {"wecom:cursor": "next-1"}

    def test_given_a_webhook_only_provider_when_it_brings_a_reply_then_the_channel_provider_answers(
        self, world: World
    ) -> None:
        pulled = [reply("HELP", "w-1", sender="agora_u1", channel=Channel.IM, provider="wecom")]
        world.adapters["wecom"] = FakeAdapter(frozenset({Channel.IM}), pulled)
        world.adapters["wecom"].send_unavailable = "wecom: not configured for sending (missing secret or open_kfid)"

        world.service.handle(InboundEvent("wecom", InboundKind.FETCH, "n-1", NOW, Channel.IM), NOW)

        [answer] = world.replies()
        assert (answer.channel, answer.provider) == (Channel.IM, "sandbox")  # the IM channel's own provider

    def test_given_an_unconfigured_provider_when_a_fetch_notice_arrives_then_nothing(self, world: World) -> None:
        notice = InboundEvent("wecom", InboundKind.FETCH, "n-1", NOW, Channel.IM)

        assert world.service.handle(notice, NOW) == "fetch: provider not configured"
