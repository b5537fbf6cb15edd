"""The sandbox provider records an outbox and answers with an immediate delivered receipt."""

from __future__ import annotations

from chalicelib.adapters.providers.sandbox import SandboxProvider
from chalicelib.domain.model import MessageStatus
from chalicelib.ports import OutboundMessage
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
