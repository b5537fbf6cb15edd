"""Message ids derive from the business key (member, rule, occurrence)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.ids import business_key, message_id


def test_same_business_key_gives_the_same_id() -> None:
    assert message_id("m-1", "welcome", "join") == message_id("m-1", "welcome", "join")


def test_id_is_26_lowercase_characters_starting_with_m() -> None:
    mid = message_id("m-1", "welcome", "join")
    assert len(mid) == 26
    assert re.fullmatch(r"m[0-9a-f]{25}", mid)


def test_each_part_of_the_key_changes_the_id() -> None:
    base = message_id("m-1", "tier_upgraded", "tier:gold")
    assert message_id("m-1", "tier_upgraded", "tier:platinum") != base
    assert message_id("m-2", "tier_upgraded", "tier:gold") != base
    assert message_id("m-1", "welcome", "tier:gold") != base


def test_business_key_joins_with_hash() -> None:
    assert business_key("m-1", "welcome", "join") == "m-1#welcome#join"


_ident = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@settings(max_examples=100, deadline=None, database=None, derandomize=True)
@given(_ident, st.sampled_from(["welcome", "child_birthday", "tier_upgraded"]), st.text(min_size=1, max_size=40))
def test_ids_always_fit_provider_limits(member_id: str, rule: str, occurrence: str) -> None:
    mid = message_id(member_id, rule, occurrence)
    assert len(mid) == 26 and len(mid.encode()) <= 32
