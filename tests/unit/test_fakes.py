"""The test doubles' own additions. That the stores under them keep the DynamoDB adapters' promises
is the store contracts' business (tests/integration/contract: the same tests against both)."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError

from chalicelib.ports import OutboundMessage, ProviderError
from tests.fakes import NOW, FakeProvider, FakeSendQueue


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_network_is_off_in_unit_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


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
