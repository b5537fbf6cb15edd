"""The receipt reconciler's scheduled function on moto: a sandbox SMS to a number that never gets a
receipt (``…0000004``, CONTRACT §10) is sent, found through the sparse ``awaiting_receipt`` index
(no scan), asked about (the sandbox's status query knows no more) and marked ``unknown`` once its
window closes; the index then no longer holds it."""

from __future__ import annotations

from datetime import timedelta

from chalicelib import bootstrap
from chalicelib.adapters.member_store import DynamoMemberStore
from chalicelib.adapters.message_store import DynamoMessageStore
from chalicelib.domain.isotime import to_iso
from chalicelib.domain.model import Channel, MessageStatus
from chalicelib.domain.planning import plan_message
from chalicelib.domain.triggers import Trigger
from chalicelib.handlers import schedule
from tests.fakes import NOW, member


def sent_sms(phone: str) -> str:
    """A welcome SMS to a member with only a phone, sent through the real sender and the sandbox."""
    app = bootstrap.app()
    someone = member("m-7", phone=phone, im_user_id=None)
    DynamoMemberStore().save(someone)
    message = plan_message(
        someone,
        Trigger("welcome", "m-7", "join", NOW),
        app.policy,
        {Channel.SMS: "sandbox", Channel.IM: "sandbox"},
        NOW,
    )
    assert message.channel is Channel.SMS
    assert DynamoMessageStore().create(message)
    assert app.sender.deliver(message.message_id, NOW) is MessageStatus.SENT
    return message.message_id


def run_at(minutes: int, context) -> dict:
    return schedule.reconcile({"time": to_iso(NOW + timedelta(minutes=minutes))}, context)


def test_a_message_whose_receipt_never_comes_becomes_unknown_after_the_window(aws, lambda_context) -> None:
    mid = sent_sms("+8613800000004")
    store = DynamoMessageStore()
    assert store.awaiting_receipt("sandbox", NOW + timedelta(minutes=1), 10) == [mid]

    assert run_at(5, lambda_context) == {"at": to_iso(NOW + timedelta(minutes=5))}  # nothing due yet
    result = run_at(20, lambda_context)
    assert (result["looked_at"], result["queried"], result["still_waiting"]) == (1, 1, 1)
    assert store.get(mid).status is MessageStatus.SENT

    result = run_at(24 * 60, lambda_context)
    assert (result["looked_at"], result["unknown"]) == (1, 1)
    message = store.get(mid)
    assert message.status is MessageStatus.UNKNOWN
    assert message.reason == "no receipt within 24 h; the provider's status query knows no more"
    assert [h.status for h in message.history][-2:] == [MessageStatus.SENT, MessageStatus.UNKNOWN]
    assert store.awaiting_receipt("sandbox", NOW + timedelta(days=2), 10) == []
    assert run_at(25 * 60, lambda_context) == {"at": to_iso(NOW + timedelta(minutes=25 * 60))}


def test_a_message_whose_receipt_came_is_no_longer_awaited(aws, lambda_context) -> None:
    app = bootstrap.app()
    someone = member("m-8", im_user_id=None)
    DynamoMemberStore().save(someone)
    message = plan_message(
        someone,
        Trigger("welcome", "m-8", "join", NOW),
        app.policy,
        {Channel.SMS: "sandbox", Channel.IM: "sandbox"},
        NOW,
    )
    DynamoMessageStore().create(message)
    app.sender.deliver(message.message_id, NOW)
    assert DynamoMessageStore().get(message.message_id).status is MessageStatus.DELIVERED  # its receipt came at once
    assert DynamoMessageStore().awaiting_receipt("sandbox", NOW + timedelta(days=2), 10) == []
