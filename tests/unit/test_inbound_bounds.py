"""The normalised inbound event bounds what it carries, by UTF-8 bytes, with a marker where cut."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.inbound import (
    CUT_MARKER,
    RAW_MAX_BYTES,
    TEXT_MAX_BYTES,
    InboundEvent,
    InboundKind,
    cut_utf8,
)
from chalicelib.domain.inbound_codec import event_from_data, event_to_data
from chalicelib.domain.model import Channel

AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def reply(text: str, raw: str = "") -> InboundEvent:
    return InboundEvent(
        "sandbox", InboundKind.REPLY, "e-1", AT, Channel.SMS, sender="+8613800138000", text=text, raw=raw
    )


def test_given_a_short_reply_when_normalised_then_kept_whole() -> None:
    event = reply("T", raw='{"text": "T"}')
    assert (event.text, event.raw, event.cut) == ("T", '{"text": "T"}', False)


def test_given_a_reply_of_80000_chinese_characters_when_normalised_then_cut_by_bytes_with_the_marker() -> None:
    event = reply("好" * 80_000, raw="好" * 80_000)
    assert event.text is not None and event.text.endswith(CUT_MARKER) and event.text.startswith("好好")
    assert len(event.text.encode()) <= TEXT_MAX_BYTES and len(event.raw.encode()) <= RAW_MAX_BYTES
    assert event.cut
    assert event_from_data(event_to_data(event)) == event  # a cut event passes the queue unchanged


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=8, max_value=2000))
def test_cut_utf8_never_exceeds_the_bytes_nor_splits_a_character(text: str, limit: int) -> None:
    out = cut_utf8(text, limit)
    assert len(out.encode("utf-8")) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert out == text
    else:
        assert out.endswith(CUT_MARKER) and text.startswith(out.removesuffix(CUT_MARKER))


def test_given_a_reply_when_kept_then_ids_stay_and_the_number_is_masked_the_words_and_raw_left_out() -> None:
    from chalicelib.domain.inbound_codec import kept_record

    kept = kept_record(reply("我家住在幸福路8号", raw='{"from": "+8613800138000", "text": "我家住在幸福路8号"}'))

    assert kept["event_id"] == "e-1" and kept["sender"] == "+86*******8000"
    assert "text" not in kept and "raw" not in kept and kept["text_bytes"] == len("我家住在幸福路8号".encode())


def test_given_a_receipt_naming_a_number_when_kept_then_every_number_in_raw_and_reason_is_masked() -> None:
    from chalicelib.domain.inbound_codec import kept_record
    from chalicelib.domain.model import MessageStatus

    event = InboundEvent(
        "aliyun",
        InboundKind.RECEIPT,
        "biz-1:FAILED",
        AT,
        Channel.SMS,
        message_id="m-1",
        status=MessageStatus.FAILED,
        reason="bad number 13800138000",
        raw='{"phone_number": "13800138000", "biz_id": "biz-1"}',
    )
    kept = kept_record(event)

    assert "13800138000" not in str(kept) and '"biz_id": "biz-1"' in kept["raw"]


def test_given_an_im_user_id_when_masked_then_only_its_ends_show() -> None:
    from chalicelib.domain.phones import mask_id

    assert mask_id("agora_u123456") == "ag*********56" and mask_id("u1") == "**"
