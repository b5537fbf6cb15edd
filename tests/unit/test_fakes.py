"""The fakes keep the adapters' promises (versioned saves, conditional creates and transitions), so a
service that passes against them relies only on what the real stores guarantee."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from pytest_socket import SocketBlockedError

from chalicelib.domain.eligibility import Policy
from chalicelib.domain.model import Channel, MessageStatus, Order, OrderItem, PointsTxn
from chalicelib.domain.planning import plan_message
from chalicelib.domain.triggers import Trigger
from chalicelib.ports import OutboundMessage, ProviderError, VersionConflict
from tests.fakes import NOW, FakeMemberStore, FakeMessageStore, FakeProvider, FakeSendQueue, member, rule_book


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_network_is_off_in_unit_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_save_of_a_new_member_requires_that_it_does_not_exist() -> None:
    store = FakeMemberStore()
    first = member()
    store.save(first)
    assert first.version == 1
    with pytest.raises(VersionConflict):
        store.save(member())


def test_save_requires_the_stored_version_and_bumps_it() -> None:
    store = FakeMemberStore()
    store.save(member())
    a, b = store.get("m-1"), store.get("m-1")
    assert a is not None and b is not None
    store.save(a)
    assert a.version == 2 == store.members["m-1"].version
    with pytest.raises(VersionConflict):
        store.save(b)  # stale: read at version 1
    assert b.version == 1


def test_save_of_a_versioned_member_that_does_not_exist_conflicts() -> None:
    with pytest.raises(VersionConflict):
        FakeMemberStore().save(member(version=3))


def test_reads_are_copies() -> None:
    store = FakeMemberStore()
    store.save(member(tags=["a"]))
    got = store.get("m-1")
    assert got is not None
    got.tags.append("b")
    assert store.members["m-1"].tags == ["a"]


def test_add_order_is_once_per_key_and_versioned() -> None:
    store = FakeMemberStore()
    m = member()
    store.save(m)
    order = Order("m-1", "o-1", NOW, (OrderItem("a", 1, 1.0),), 1.0)
    assert store.add_order(order, m) is True
    assert m.version == 2
    # the activity key is checked first: a replay answers False even with a stale member
    assert store.add_order(order, member(version=1)) is False
    with pytest.raises(VersionConflict):
        store.add_order(Order("m-1", "o-2", NOW, (), 1.0), member(version=1))
    assert store.get_order("m-1", "o-1") == order and store.get_order("m-1", "o-2") is None


def test_add_points_is_once_per_txn_id() -> None:
    store = FakeMemberStore()
    m = member()
    store.save(m)
    txn = PointsTxn("m-1", "t-1", 5, "", None, NOW)
    assert store.add_points(txn, m) is True
    assert store.add_points(txn, m) is False
    assert store.points_txns("m-1") == [txn]


def test_message_store_create_is_conditional_and_transition_honours_expect() -> None:
    messages = FakeMessageStore()
    providers = {Channel.SMS: "p", Channel.IM: "p"}
    planned = plan_message(
        member(), Trigger("welcome", "m-1", "join", NOW), Policy(rule_book(), "Asia/Shanghai"), providers, NOW
    )
    assert messages.create(planned) is True
    assert messages.create(planned) is False
    later = NOW + timedelta(minutes=1)
    sent = frozenset({MessageStatus.SENT})
    assert messages.transition(planned.message_id, MessageStatus.DELIVERED, later, expect=sent) is False
    assert messages.transition(planned.message_id, MessageStatus.SENT, later, expect=frozenset()) is False
    assert messages.transition(
        planned.message_id,
        MessageStatus.SENT,
        later,
        expect=frozenset({MessageStatus.QUEUED}),
        provider_message_id="p-1",
        parts=2,
    )
    stored = messages.get(planned.message_id)
    assert stored is not None
    assert (stored.status, stored.sent_at, stored.provider_message_id, stored.parts) == (
        MessageStatus.SENT,
        later,
        "p-1",
        2,
    )
    assert [h.status for h in stored.history] == [MessageStatus.QUEUED, MessageStatus.SENT]
    assert messages.transition("missing", MessageStatus.SENT, later, expect=frozenset({MessageStatus.QUEUED})) is False


def test_fake_provider_fails_as_told_then_recovers() -> None:
    provider = FakeProvider()
    outbound = OutboundMessage("m1", "sms", "+8613800138000", "hi", "transactional")
    provider.fail_with(retryable=True, times=2)
    for _ in range(2):
        with pytest.raises(ProviderError):
            provider.send(outbound, NOW)
    assert provider.send(outbound, NOW).provider_message_id == "fake-m1"
    assert (provider.attempts, len(provider.sends)) == (3, 1)


def test_fake_queue_can_refuse_once() -> None:
    queue = FakeSendQueue()
    queue.fail_next = True
    with pytest.raises(RuntimeError):
        queue.enqueue(["a"])
    queue.enqueue(["a"], NOW)
    assert (queue.ids, queue.decided_at) == (["a"], [NOW])
