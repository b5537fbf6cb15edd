"""The sandbox provider records an outbox and answers with an immediate delivered receipt, except
for its magic numbers (CONTRACT §10)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.providers.sandbox import FaultPlan, SandboxProvider
from chalicelib.domain.model import MessageStatus
from chalicelib.ports import OutboundMessage, ProviderError
from tests.fakes import NOW, FakeOutbox


def outbound(channel: str, to: str, text: str) -> OutboundMessage:
    return OutboundMessage("m" + "1" * 25, channel, to, text, "transactional")


def test_send_records_the_outbox_and_returns_a_delivered_receipt() -> None:
    outbox = FakeOutbox()
    result = SandboxProvider(outbox).send(outbound("sms", "+8613800138000", "hi"), NOW)
    assert result.provider_message_id == "sbx-m" + "1" * 25
    assert [(r.message_id, r.status, r.at) for r in result.receipts] == [("m" + "1" * 25, MessageStatus.DELIVERED, NOW)]
    assert [(e.provider_message_id, e.parts, e.at) for e in outbox.entries] == [(result.provider_message_id, 1, NOW)]


def test_chinese_numbers_are_counted_the_china_way() -> None:
    # 71 Latin characters: one GSM-7 part abroad, two parts under China's 70-character counting
    provider = SandboxProvider(FakeOutbox())
    assert provider.send(outbound("sms", "+8613800138000", "a" * 71), NOW).parts == 2
    assert provider.send(outbound("sms", "+16502530000", "a" * 71), NOW).parts == 1


def test_im_is_always_one_part() -> None:
    assert SandboxProvider(FakeOutbox()).send(outbound("im", "agora_u1", "中" * 500), NOW).parts == 1


# --- magic numbers (CONTRACT §10) ---------------------------------------------------------------


def magic(last_seven: str, attempt: int = 1, channel: str = "sms") -> OutboundMessage:
    return OutboundMessage("m" + "2" * 25, channel, "+86138" + last_seven, "hi", "transactional", attempt=attempt)


@pytest.mark.parametrize(("last_seven", "code"), [("0000001", "invalid_address"), ("0000002", "opted_out")])
def test_magic_numbers_that_fail_for_good(last_seven: str, code: str) -> None:
    outbox = FakeOutbox()
    with pytest.raises(ProviderError) as caught:
        SandboxProvider(outbox).send(magic(last_seven), NOW)
    assert (caught.value.code, caught.value.retryable, caught.value.marks_channel) == (code, False, True)
    assert outbox.entries == []


def test_the_throttled_magic_number_is_refused_once_then_delivered() -> None:
    provider = SandboxProvider(FakeOutbox())
    with pytest.raises(ProviderError) as caught:
        provider.send(magic("0000003"), NOW)
    assert (caught.value.code, caught.value.retryable) == ("throttled", True)
    assert caught.value.retry_after and caught.value.retry_after > 0
    result = provider.send(magic("0000003", attempt=2), NOW)
    assert [r.status for r in result.receipts] == [MessageStatus.DELIVERED]


def test_the_silent_magic_number_is_accepted_and_never_gets_a_receipt() -> None:
    outbox = FakeOutbox()
    provider = SandboxProvider(outbox)
    result = provider.send(magic("0000004"), NOW)
    assert result.receipts == ()
    assert [e.provider_message_id for e in outbox.entries] == [result.provider_message_id]
    found = provider.lookup(magic("0000004"), NOW)
    assert found is not None and found.provider_message_id == result.provider_message_id
    assert found.receipts == ()  # accepted, still waiting for a receipt


def test_magic_numbers_win_over_the_fault_plan_and_other_numbers_keep_it() -> None:
    provider = SandboxProvider(FakeOutbox(), FaultPlan({"error": 1.0}))
    assert provider.send(magic("0000004"), NOW).receipts == ()
    assert provider.send(magic("0000003", attempt=2), NOW).receipts
    with pytest.raises(ProviderError) as caught:
        provider.send(magic("0000005"), NOW)
    assert caught.value.code == "unavailable"


def test_only_phone_numbers_are_magic() -> None:
    message = OutboundMessage("m" + "3" * 25, "im", "member0000001", "hi", "transactional")
    assert SandboxProvider(FakeOutbox()).send(message, NOW).receipts


def test_status_query_answers_from_the_outbox() -> None:
    provider = SandboxProvider(FakeOutbox())
    sent = provider.send(magic("0000005"), NOW)
    receipt = provider.query_status("m" + "2" * 25, sent.provider_message_id, "+8613800000005", NOW, NOW)
    assert receipt is not None and (receipt.status, receipt.at) == (MessageStatus.DELIVERED, NOW)
    assert provider.query_status("m" + "9" * 25, "sbx-m" + "9" * 25, "+8613800000005", NOW, NOW) is None


def test_status_query_of_the_silent_magic_number_stays_unknown() -> None:
    provider = SandboxProvider(FakeOutbox())
    sent = provider.send(magic("0000004"), NOW)
    assert provider.can_query_status
    assert provider.query_status("m" + "2" * 25, sent.provider_message_id, "+8613800000004", NOW, NOW) is None
