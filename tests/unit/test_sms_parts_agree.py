"""Planning, the sandbox and every SMS provider adapter count the same text to the same number the
same way (one decision: ``domain/sms_parts.py``), at the China 70/67 and the UCS-2/GSM-7 boundaries.

The store is 乐乐玩具, so a China number's text carries the 6-character 【乐乐玩具】 the platform adds:
a 64-character text is 70 signed characters (one part), 65 is 71 (two), 128 is 134 (two), 129 is
135 (three). Abroad the same texts are UCS-2 (70/67, no signature) or GSM-7 (160/153).
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.providers import aliyun, tencent, twilio
from chalicelib.adapters.providers.aws_sms import AwsSmsAdapter
from chalicelib.adapters.providers.sandbox import SandboxProvider
from chalicelib.domain.planning import sms_text
from chalicelib.domain.rulebook import parse_rule_book
from chalicelib.ports import OutboundMessage
from tests.fakes import NOW, RULES_TOML, FakeOutbox

BOOK = parse_rule_book(RULES_TOML)
STORE = BOOK.store.name
CHINA, HONG_KONG, US = "+8613800138000", "+85251234567", "+14155550123"


class AwsClient:
    """Just enough of the pinpoint-sms-voice-v2 client for a send."""

    def send_text_message(self, **params: Any) -> dict[str, str]:
        return {"MessageId": "aws-1"}


def outbound(to: str, text: str) -> OutboundMessage:
    return OutboundMessage("m-agree", "sms", to, text, "transactional", trigger="welcome")


def every_path(to: str, text: str) -> dict[str, int]:
    """Parts of ``text`` to ``to`` as each sender counts them (the China platforms signed with the
    store's name, as a store configures them)."""
    rule = BOOK.rules["welcome"]  # transactional: the text goes out as written
    assert rule.rule_class == "transactional"
    aws = AwsSmsAdapter(client=AwsClient(), region="us-east-1")
    return {
        "planning": sms_text(text, rule, "zh-CN", to, BOOK)[1],
        "sandbox": SandboxProvider(FakeOutbox(), sign_name=STORE).send(outbound(to, text), NOW).parts,
        "aliyun": aliyun._parts(to, text, STORE),
        "tencent": tencent._parts(to, text, STORE),
        # Twilio reports num_segments; a Messaging Service send reports 0 until a sender is picked
        "twilio": twilio._segments("0", to, text),
        "aws_sms": aws.send(outbound(to, text), NOW).parts,
    }


CHINA_TABLE = [(64, 1), (65, 2), (128, 2), (129, 3)]  # + 6 signature characters: 70, 71, 134, 135


@pytest.mark.parametrize(("length", "parts"), CHINA_TABLE)
@pytest.mark.parametrize("char", ["好", "a", "😀"])
def test_a_china_number_is_counted_alike_by_every_path(length: int, parts: int, char: str) -> None:
    counts = every_path(CHINA, char * length)
    # Twilio and AWS add no platform signature of their own: only the China platforms (and the
    # sandbox standing in for them) and planning count it.
    signed = {k: v for k, v in counts.items() if k not in ("twilio", "aws_sms")}
    assert set(signed.values()) == {parts}, counts


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
@pytest.mark.parametrize("to", [HONG_KONG, US])
def test_a_ucs2_text_abroad_is_counted_alike_by_every_path(length: int, parts: int, to: str) -> None:
    counts = every_path(to, "好" * length)
    assert set(counts.values()) == {parts}, counts


@pytest.mark.parametrize(
    ("text", "parts"),
    [("a" * 160, 1), ("a" * 161, 2), ("a" * 152 + "€" + "a" * 152, 3), ("中" * 66 + "😀" + "中" * 66, 3)],
)
def test_boundaries_abroad_are_counted_alike_by_every_path(text: str, parts: int) -> None:
    counts = every_path(US, text)
    assert set(counts.values()) == {parts}, counts


def test_without_a_platform_signature_a_china_number_counts_the_text_alone() -> None:
    # 70 characters to a China number through Twilio or AWS: one part under China counting (GSM-7
    # would also say one, so use 71 Latin letters: two China parts, one GSM-7 part)
    counts = every_path(CHINA, "a" * 71)
    assert counts["twilio"] == counts["aws_sms"] == 2
