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
