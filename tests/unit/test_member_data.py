"""Consent changes recorded where they happen, and the timeline's paging (domain/timeline.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import timeline
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.inbound import InboundEvent, InboundKind
from chalicelib.domain.model import Channel
from tests.fakes import FakeAdapters, fake_app

T0 = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def test_given_profile_writes_when_consent_changes_then_each_change_is_recorded_once_with_its_source() -> None:
    fakes = FakeAdapters()
    app = fake_app(fakes)

    app.members.upsert("m-1", {"phone": "+8613800138000"}, T0)
    app.members.upsert("m-1", {"name": "王小明"}, T0 + timedelta(minutes=1))  # no consent change
    app.members.upsert("m-1", {"consent": {"marketing": True}}, T0 + timedelta(minutes=2))
    reply = InboundEvent("sandbox", InboundKind.REPLY, "r-1", T0, Channel.SMS, sender="+8613800138000", text="T")
    app.inbound.handle(reply, T0 + timedelta(minutes=3))

    changes = [(c.changes, c.source) for c in fakes.members.consent_changes("m-1")]
    assert changes == [
        ({"sms": True, "im": True, "marketing": False}, "api"),
        ({"marketing": True}, "api"),
        ({"sms": False}, "reply"),
    ]
    page, _ = app.member_data.timeline("m-1", {})
    assert [e["kind"] for e in page if e["kind"] == "consent"] == ["consent"] * 3


def entry(i: int, second: int, kind: str) -> timeline.Entry:
    return timeline.Entry(T0 + timedelta(seconds=second), kind, f"id-{i:03d}", {})


@given(
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["order", "message", "reply"])), max_size=60),
    st.integers(1, 7),
)
def test_given_any_entries_when_paged_then_each_once_newest_first(items: list[tuple[int, str]], limit: int) -> None:
    entries = [entry(i, second, kind) for i, (second, kind) in enumerate(items)]
    messages = sorted((e for e in entries if e.kind == "message"), key=lambda e: e.at, reverse=True)
    others = sorted((e for e in entries if e.kind != "message"), key=lambda e: e.key, reverse=True)

    seen: list[timeline.Entry] = []
    cursor = None
    while True:
        after = timeline.decode_cursor(cursor) if cursor else None
        page, cursor = timeline.page([others, messages], limit, after)
        assert len(page) <= limit
        seen += page
        if cursor is None:
            break
    assert [e.key for e in seen] == sorted((e.key for e in entries), reverse=True)


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"cursor": "%%%"}, "cursor")]
)
def test_given_a_bad_page_when_parsed_then_the_field_is_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        timeline.parse_page(params)
    assert field in caught.value.fields
