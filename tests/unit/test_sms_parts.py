"""How many billed parts an SMS is, at each encoding's boundaries, and which regime a number is under.

Expected counts for the international regime follow Twilio's message segment calculator
(github.com/TwilioDevEd/message-segment-calculator, ``src/libs/SegmentedMessage.ts`` and
``Segment.ts``): a part holds 1,120 bits; a message that does not fit one part puts a 48-bit user
data header in every part (1,072 bits: 153 GSM-7 septets or 67 UCS-2 units), and a grapheme
cluster that does not fit the current part whole moves to the next one.
"""

from __future__ import annotations

import pytest

from chalicelib.domain.sms_parts import (
    CHINA_DOMESTIC,
    INTERNATIONAL,
    count_parts,
    fits,
    is_gsm7,
    parts_to,
    sms_regime,
    split_parts,
)

SIGNATURE = "【乐乐玩具】"


def intl(text: str) -> int:
    return count_parts(text, INTERNATIONAL)


# -- which regime --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "regime"),
    [
        ("+8613800138000", CHINA_DOMESTIC),
        ("+8675512345678", CHINA_DOMESTIC),
        ("+85251234567", INTERNATIONAL),  # Hong Kong
        ("+85366123456", INTERNATIONAL),  # Macau
        ("+886912345678", INTERNATIONAL),  # Taiwan
        ("+14155550123", INTERNATIONAL),
        ("+447700900123", INTERNATIONAL),
        (None, CHINA_DOMESTIC),  # no number: the stores' default region
    ],
)
def test_the_destination_decides_the_regime(phone: str | None, regime: object) -> None:
    assert sms_regime(phone) is regime


# -- GSM-7 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "parts"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)])
def test_gsm7_single_part_is_160_then_153_per_part(length: int, parts: int) -> None:
    assert intl("a" * length) == parts


@pytest.mark.parametrize(("text", "parts"), [("€" * 80, 1), ("€" * 81, 2), ("a" * 159 + "€", 2), ("a" * 158 + "{", 1)])
def test_gsm7_extension_characters_count_twice(text: str, parts: int) -> None:
    assert is_gsm7(text)
    assert intl(text) == parts


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets = 2 × 153, but part 1 has room for 1 septet when € comes: € moves
    # whole to part 2, which then fills up one "a" early; the last "a" makes part 3.
    text = "a" * 152 + "€" + "a" * 152
    parts = split_parts(text, INTERNATIONAL)
    assert [len(p) for p in parts] == [152, 152, 1]
    assert parts[1].startswith("€")
    assert intl(text) == 3
    # In 153rd position exactly (152 before it) the pair moves; in 152nd (151 before) it fits.
    assert [len(p) for p in split_parts("a" * 151 + "€" + "a" * 20, INTERNATIONAL)] == [152, 20]


def test_twilio_calculator_gsm7_examples() -> None:
    # tests/index.test.js of the calculator: 160 digits are 1 segment, 161 are 2, 307 are 3, and in
    # the 307-character message the third segment holds exactly one character (153 + 153 + 1).
    digits = "1234567890" * 31
    assert intl(digits[:160]) == 1
    assert intl(digits[:161]) == 2
    parts = split_parts(digits[:307], INTERNATIONAL)
    assert [len(p) for p in parts] == [153, 153, 1] and parts[2] == "7"


# -- UCS-2 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_single_part_is_70_then_67_per_part(length: int, parts: int) -> None:
    assert intl("中" * length) == parts


def test_one_non_gsm_character_switches_the_whole_text_to_ucs2() -> None:
    assert intl("a" * 70) == 1
    assert intl("a" * 69 + "中") == 1
    assert intl("a" * 70 + "中") == 2
    assert intl("a" * 70 + "`") == 2  # backtick is not GSM-7


@pytest.mark.parametrize(
    ("text", "parts"), [("😀" * 35, 1), ("😀" * 36, 2), ("a" * 68 + "😀", 1), ("a" * 69 + "😀", 2)]
)
def test_emoji_outside_the_bmp_take_two_utf16_units(text: str, parts: int) -> None:
    assert not is_gsm7(text)
    assert intl(text) == parts


def test_a_surrogate_pair_at_the_ucs2_boundary_moves_whole() -> None:
    # 66 + 2 + 66 = 134 units = 2 × 67, but 😀 needs 2 units where part 1 has 1 left: it moves to
    # part 2, which ends one character early; the last 中 makes part 3.
    text = "中" * 66 + "😀" + "中" * 66
    parts = split_parts(text, INTERNATIONAL)
    assert [len(p.encode("utf-16-le")) // 2 for p in parts] == [66, 67, 1]
    assert parts[1].startswith("😀")
    assert intl(text) == 3


def test_an_emoji_cluster_moves_whole() -> None:
    # 👍🏽 is one grapheme of 4 UTF-16 units (thumbs up + skin tone): 64 + 4 does not fit 67.
    text = "中" * 64 + "👍🏽" + "中" * 66
    parts = split_parts(text, INTERNATIONAL)
    assert parts[0] == "中" * 64 and parts[1].startswith("👍🏽")
    assert intl(text) == 3


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        # The calculator's own UCS-2 cases (tests/index.test.js), with why:
        ("😜" + "23456789012345678901234567890123456789012345678901234567890123456789", 1),  # 2 + 68 = 70 units
        ("😜" + "234567890123456789012345678901234567890123456789012345678901234567890", 2),  # 2 + 69 = 71
        ("🇮🇹" + "234567890123456789012345678901234567890123456789012345678901234567", 1),  # flag 4 + 66 = 70
        ("🇮🇹" + "2345678901234567890123456789012345678901234567890123456789012345678", 2),  # 4 + 67 = 71
        ("🏳️‍🌈" + "2345678901234567890123456789012345678901234567890123456789012345", 1),  # ZWJ flag 6 + 64 = 70
        ("🏳️‍🌈" + "23456789012345678901234567890123456789012345678901234567890123456", 2),  # 6 + 65 = 71
    ],
)
def test_twilio_calculator_ucs2_examples(text: str, parts: int) -> None:
    assert intl(text) == parts


def test_twilio_calculator_three_ucs2_segments_end_with_one_character() -> None:
    # tests/segments.test.js: 😜 + 133 digits = 135 UTF-16 units: part 1 holds the emoji and 65
    # digits (67 units), part 2 67 digits, and the last digit "4" is alone in part 3.
    text = "😜" + "23456789" + "0123456789" * 12 + "01234"
    assert len(text) == 134
    parts = split_parts(text, INTERNATIONAL)
    assert [len(p) for p in parts] == [66, 67, 1] and parts[2] == "4"


def test_crlf_counts_as_two_characters() -> None:
    assert intl("a" * 158 + "\r\n") == 1
    assert intl("a" * 159 + "\r\n") == 2


def test_a_cluster_longer_than_a_part_is_cut_between_code_points() -> None:
    zalgo = "a" + "\u0301" * 100  # one grapheme of 101 UTF-16 units
    parts = split_parts(zalgo, INTERNATIONAL)
    assert "".join(parts) == zalgo
    assert len(parts) == 2


# -- China domestic --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "parts"), [(64, 1), (65, 2), (128, 2), (129, 3)])
def test_china_counts_the_signature_in_70_then_67(length: int, parts: int) -> None:
    # Given the 6-character signature 【乐乐玩具】: 64 + 6 = 70 is one part, 71 two, 134 two, 135 three
    assert len(SIGNATURE) == 6
    assert count_parts("好" * length, CHINA_DOMESTIC, SIGNATURE) == parts
    assert len(split_parts("好" * length, CHINA_DOMESTIC, SIGNATURE)) == parts


def test_china_counts_every_character_as_one_even_latin_and_emoji() -> None:
    assert count_parts("a" * 70, CHINA_DOMESTIC) == 1
    assert count_parts("a" * 71, CHINA_DOMESTIC) == 2
    assert count_parts("😀" * 70, CHINA_DOMESTIC) == 1


def test_signature_does_not_count_outside_china() -> None:
    assert count_parts("a" * 160, INTERNATIONAL, SIGNATURE) == 1
    assert parts_to("+14155550123", "a" * 160, SIGNATURE) == 1
    assert parts_to("+8613800138000", "a" * 64, SIGNATURE) == 1
    assert parts_to("+8613800138000", "a" * 65, SIGNATURE) == 2


def test_the_longest_text_each_regime_takes() -> None:
    assert fits("好" * 494, CHINA_DOMESTIC, SIGNATURE)
    assert not fits("好" * 495, CHINA_DOMESTIC, SIGNATURE)  # 495 + 6 > 500
    assert fits("a" * 1600, INTERNATIONAL) and not fits("a" * 1601, INTERNATIONAL)
