"""How many billed parts an SMS is, at each encoding's boundaries."""

from __future__ import annotations

import pytest

from chalicelib.domain.segments import count_parts, is_gsm7

SIGNATURE = "【乐乐玩具】"


@pytest.mark.parametrize(("length", "parts"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)])
def test_gsm7_single_part_is_160_then_153_per_part(length: int, parts: int) -> None:
    assert count_parts("a" * length) == parts


@pytest.mark.parametrize(("text", "parts"), [("€" * 80, 1), ("€" * 81, 2), ("a" * 159 + "€", 2), ("a" * 158 + "{", 1)])
def test_gsm7_extension_characters_count_twice(text: str, parts: int) -> None:
    assert is_gsm7(text)
    assert count_parts(text) == parts


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_single_part_is_70_then_67_per_part(length: int, parts: int) -> None:
    assert count_parts("中" * length) == parts


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2() -> None:
    assert count_parts("a" * 70) == 1
    assert count_parts("a" * 69 + "中") == 1
    assert count_parts("a" * 70 + "中") == 2
    assert count_parts("a" * 70 + "`") == 2  # backtick is not GSM-7


@pytest.mark.parametrize(
    ("text", "parts"), [("😀" * 35, 1), ("😀" * 36, 2), ("a" * 68 + "😀", 1), ("a" * 69 + "😀", 2)]
)
def test_emoji_outside_the_bmp_take_two_utf16_units(text: str, parts: int) -> None:
    assert not is_gsm7(text)
    assert count_parts(text) == parts


@pytest.mark.parametrize(("length", "parts"), [(64, 1), (65, 2), (128, 2), (129, 3)])
def test_china_counts_the_signature_in_70_then_67(length: int, parts: int) -> None:
    # Given the 6-character signature 【乐乐玩具】: 64 + 6 = 70 is one part, 71 two, 134 two, 135 three
    assert len(SIGNATURE) == 6
    assert count_parts("好" * length, china=True, signature=SIGNATURE) == parts


def test_china_counts_every_character_as_one_even_latin_and_emoji() -> None:
    assert count_parts("a" * 70, china=True) == 1
    assert count_parts("a" * 71, china=True) == 2
    assert count_parts("😀" * 70, china=True) == 1


def test_signature_does_not_count_outside_china() -> None:
    assert count_parts("a" * 160, signature=SIGNATURE) == 1
